"""The grid's batch "which of these are not the person?": the learner's suggestions most
likely wrong, answered together, each face as one answer of the classify page's service."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit
from faces.models import Answer, Label
from faces.services import answers
from tests.ui.conftest import photos_of, score

pytestmark = pytest.mark.django_db


def doubts(client, project) -> list:
    response = client.get(reverse("projects:suggestions", args=[project.pk]))
    return [card["face"] for card in response.context["doubts"]]


def save(client, project, faces, *, not_person=(), request_ids=None, follow=False):
    request_ids = request_ids or [uuid.uuid4() for _ in faces]
    return client.post(
        reverse("projects:suggestions-doubts", args=[project.pk]),
        {
            "face": [face.pk for face in faces],
            "request_id": [str(request_id) for request_id in request_ids],
            "not_person": [face.pk for face in not_person],
        },
        follow=follow,
    )


def human_verdicts(project) -> dict[int, str]:
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    return dict(labels.values_list("face_id", "verdict"))


def test_the_batch_shows_the_six_suggestions_most_likely_wrong_least_likely_first(
    client_of, owner, project
):
    faces = photos_of(project, 10)
    score(project, faces, [0.99, 0.97, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.55, 0.3])
    answers.answer_record(
        project=project, face=faces[8], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    client = client_of(owner)
    # Not the sure ones (97 % and more), not an answered one, not a face that is no suggestion.
    assert doubts(client, project) == [faces[7], faces[6], faces[5], faces[4], faces[3], faces[2]]
    body = client.get(reverse("projects:suggestions", args=[project.pk])).content.decode()
    assert "Which of these are not the person?" in body and 'id="doubts-form"' in body


def test_saving_the_batch_is_one_answer_per_face_through_the_answer_service(
    client_of, owner, project, monkeypatch
):
    faces = photos_of(project, 3)
    score(project, faces, [0.8, 0.7, 0.6])
    calls = []
    record = answers.answer_record

    def spy(**kwargs):
        calls.append((kwargs["face"].pk, kwargs["verdict"]))
        return record(**kwargs)

    monkeypatch.setattr(answers, "answer_record", spy)
    client = client_of(owner)
    request_ids = [uuid.uuid4() for _ in faces]
    response = save(client, project, faces, not_person=[faces[1]], request_ids=request_ids)
    assert response.status_code == 302
    expected = {faces[0].pk: "yes", faces[1].pk: "no", faces[2].pk: "yes"}
    assert dict(calls) == expected and len(calls) == 3
    assert human_verdicts(project) == expected
    assert set(Answer.objects.values_list("request_id", flat=True)) == set(request_ids)
    assert not DepictsEdit.objects.exists()  # an answer, not an approval: nothing to send
    # The same batch sent twice (a double press of Enter) stores nothing twice.
    save(client, project, faces, not_person=[faces[1]], request_ids=request_ids)
    assert Answer.objects.count() == 3
    assert doubts(client, project) == []


def test_a_face_another_reviewer_answered_meanwhile_keeps_that_answer(
    client_of, owner, member, project
):
    faces = photos_of(project, 2)
    score(project, faces, [0.8, 0.7])
    answers.answer_record(
        project=project, face=faces[0], user=member, verdict="no", request_id=uuid.uuid4()
    )
    response = save(client_of(owner), project, faces, follow=True)
    assert human_verdicts(project) == {faces[0].pk: "no", faces[1].pk: "yes"}
    body = response.content.decode()
    assert "1 answer saved." in body and "member" in body


@pytest.mark.parametrize("broken", ["ticked_elsewhere", "missing_request_id"])
def test_a_batch_that_does_not_add_up_stores_nothing(client_of, owner, project, broken):
    faces = photos_of(project, 3)
    score(project, faces, [0.8, 0.7, 0.6])
    client = client_of(owner)
    if broken == "ticked_elsewhere":
        response = save(client, project, faces[:2], not_person=[faces[2]], follow=True)
    else:
        response = save(client, project, faces, request_ids=[uuid.uuid4()], follow=True)
    assert not Answer.objects.exists()
    assert "could not be read" in response.content.decode()


def test_a_paused_project_shows_no_batch_and_stores_none(client_of, owner, project):
    faces = photos_of(project, 2)
    score(project, faces, [0.8, 0.7])
    project.pause()
    client = client_of(owner)
    assert doubts(client, project) == []
    save(client, project, faces)
    assert not Answer.objects.exists()
