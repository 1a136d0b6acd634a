"""Answering, undoing, drawing: the classify endpoints and the services behind them."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from faceengine.detection import FaceBox
from faces import selectors
from faces.learning_summary import LearnerSummary
from faces.models import Answer, Face, Label, ReviewLease
from faces.services import answers, drawing, leases, refusals, undo
from projects.models import Project
from tests.factories import LabelFactory, UserFactory
from tests.ui.conftest import answer_body, photos_of, score

pytestmark = pytest.mark.django_db


def post(client, project, name, body):
    response = client.post(
        reverse(f"projects:{name}", args=[project.pk]), body, content_type="application/json"
    )
    return response.status_code, response.json()


def human_labels(project):
    return dict(
        Label.objects.filter(project=project, source=Label.Source.HUMAN).values_list(
            "face_id", "verdict"
        )
    )


# --- answers ----------------------------------------------------------------------------


def test_an_answer_sent_twice_is_stored_once(client_of, owner, project, face):
    client, body = client_of(owner), answer_body(face, "yes")
    first = post(client, project, "answer", body)
    again = post(client, project, "answer", body)
    assert first[0] == again[0] == 200
    assert (first[1]["repeat"], again[1]["repeat"]) == (False, True)
    assert Answer.objects.filter(face=face).count() == 1
    assert human_labels(project) == {face.pk: "yes"}


def test_an_answer_carries_the_question_after_next(client_of, owner, project, faces):
    client = client_of(owner)
    status, data = post(
        client, project, "answer", {**answer_body(faces[0]), "exclude": [faces[1].pk]}
    )
    assert status == 200
    assert data["next"]["face"]["id"] == faces[2].pk


def test_a_face_someone_else_answered_is_refused_and_nothing_is_lost(
    client_of, owner, member, project, face
):
    assert post(client_of(member), project, "answer", answer_body(face, "no"))[0] == 200
    status, data = post(client_of(owner), project, "answer", answer_body(face, "yes"))
    assert status == 409
    assert data["error"] == "already_answered"
    assert "member" in data["message"]
    assert human_labels(project) == {face.pk: "no"}
    assert Answer.objects.filter(face=face).count() == 1


def test_a_paused_project_refuses_answers(client_of, owner, project, face):
    project.pause()
    status, data = post(client_of(owner), project, "answer", answer_body(face))
    assert (status, data["error"]) == (409, "paused")
    assert not Answer.objects.exists()


def test_a_retry_of_an_answer_stored_before_a_pause_hears_it_was_stored(owner, project, face):
    request_id = uuid.uuid4()
    answers.answer_record(
        project=project, face=face, user=owner, verdict="yes", request_id=request_id
    )
    project.pause()
    outcome = answers.answer_record(
        project=project, face=face, user=owner, verdict="yes", request_id=request_id
    )
    assert outcome.created is False


def test_a_request_id_cannot_be_reused_for_another_face(owner, project, faces):
    request_id = uuid.uuid4()
    answers.answer_record(
        project=project, face=faces[0], user=owner, verdict="yes", request_id=request_id
    )
    with pytest.raises(refusals.RequestIdReused):
        answers.answer_record(
            project=project, face=faces[1], user=owner, verdict="no", request_id=request_id
        )


def test_an_answer_takes_the_face_out_of_the_review_order(owner, project, faces):
    score(project, faces, [0.5, 0.9, 0.1])
    answers.answer_record(
        project=project, face=faces[0], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    model = Label.objects.get(project=project, face=faces[0], source=Label.Source.MODEL)
    assert model.priority is None
    assert not ReviewLease.objects.filter(face=faces[0]).exists()


def test_a_face_of_another_project_is_404(client_of, owner, project):
    from tests.factories import ProjectFactory

    other = photos_of(ProjectFactory(), 1)[0]
    status, data = post(client_of(owner), project, "answer", answer_body(other))
    assert (status, data["error"]) == (404, "not_found")


def test_a_malformed_answer_is_400(client_of, owner, project, face):
    status, data = post(client_of(owner), project, "answer", {"face": face.pk, "verdict": "maybe"})
    assert (status, data["error"]) == (400, "invalid")
    response = client_of(owner).post(
        reverse("projects:answer", args=[project.pk]), "not json", content_type="application/json"
    )
    assert response.status_code == 400


# --- undo -------------------------------------------------------------------------------


def test_undo_walks_back_many_steps(client_of, owner, project, faces):
    client = client_of(owner)
    for face, verdict in zip(faces, ["yes", "no", "skip"], strict=True):
        assert post(client, project, "answer", answer_body(face, verdict))[0] == 200
    shown = []
    for _ in range(3):
        status, data = post(client, project, "undo", {})
        assert status == 200
        shown.append(data["question"]["face"]["id"])
    assert shown == [faces[2].pk, faces[1].pk, faces[0].pk]
    assert human_labels(project) == {}
    status, data = post(client, project, "undo", {})
    assert (status, data["undone"], data["question"]) == (200, [], None)
    assert Answer.objects.filter(undone_at__isnull=False).count() == 3


def test_undo_takes_back_only_my_own_answers(client_of, owner, member, project, faces):
    post(client_of(member), project, "answer", answer_body(faces[0], "no"))
    post(client_of(owner), project, "answer", answer_body(faces[1], "yes"))
    _status, data = post(client_of(owner), project, "undo", {})
    assert data["undone"] == [faces[1].pk]
    assert human_labels(project) == {faces[0].pk: "no"}


def test_undo_of_a_changed_answer_brings_back_the_one_before(owner, project, face):
    for verdict in ("yes", "no"):
        answers.answer_record(
            project=project, face=face, user=owner, verdict=verdict, request_id=uuid.uuid4()
        )
    assert human_labels(project) == {face.pk: "no"}
    undo.answer_undo(project=project, user=owner)
    assert human_labels(project) == {face.pk: "yes"}


def test_an_undone_face_can_be_answered_again(client_of, owner, project, face):
    client = client_of(owner)
    post(client, project, "answer", answer_body(face, "yes"))
    post(client, project, "undo", {})
    assert post(client, project, "answer", answer_body(face, "no"))[0] == 200
    assert human_labels(project) == {face.pk: "no"}


# --- group photos: 1-9 and 0 ------------------------------------------------------------


def test_picking_face_two_says_yes_to_it_and_no_to_the_others(client_of, owner, project):
    faces = photos_of(project, 1, faces_per_photo=3)
    body = {"image": faces[0].image_id, "face": faces[1].pk, "request_id": str(uuid.uuid4())}
    status, _ = post(client_of(owner), project, "pick", body)
    assert status == 200
    assert human_labels(project) == {faces[0].pk: "no", faces[1].pk: "yes", faces[2].pk: "no"}
    post(client_of(owner), project, "pick", body)  # a double press stores nothing more
    assert Answer.objects.count() == 3


def test_none_of_these_and_its_undo_are_one_step(client_of, owner, project):
    faces = photos_of(project, 1, faces_per_photo=3)
    client = client_of(owner)
    body = {"image": faces[0].image_id, "face": None, "request_id": str(uuid.uuid4())}
    post(client, project, "pick", body)
    assert set(human_labels(project).values()) == {"no"}
    _status, data = post(client, project, "undo", {})
    assert sorted(data["undone"]) == sorted(f.pk for f in faces)
    assert human_labels(project) == {}


def test_a_pick_keeps_what_another_reviewer_said(client_of, owner, member, project):
    faces = photos_of(project, 1, faces_per_photo=2)
    post(client_of(member), project, "answer", answer_body(faces[1], "yes"))
    body = {"image": faces[0].image_id, "face": None, "request_id": str(uuid.uuid4())}
    assert post(client_of(owner), project, "pick", body)[0] == 200
    assert human_labels(project) == {faces[0].pk: "no", faces[1].pk: "yes"}


# --- the next question and leases -------------------------------------------------------


def test_the_learner_decides_the_order(owner, project, faces):
    score(project, faces, [0.95, 0.48, 0.2])  # 0.48 is nearest the threshold
    face = leases.face_serve(project=project, user=owner)
    assert face == faces[1]


def test_before_the_learner_runs_bootstrap_faces_come_first(owner, project, faces):
    LabelFactory(project=project, face=faces[2], source=Label.Source.BOOTSTRAP, verdict="yes")
    assert leases.face_serve(project=project, user=owner) == faces[2]
    assert leases.face_serve(project=project, user=owner, exclude=[faces[2].pk]) == faces[0]


def test_faces_found_after_the_learner_ran_are_still_asked(owner, project, faces):
    score(project, faces[:1], [0.5])
    project.learning = LearnerSummary(updated_at=timezone.now()).to_json()
    project.save()
    first = leases.face_serve(project=project, user=owner)
    second = leases.face_serve(project=project, user=owner, exclude=[first.pk])
    assert [first, second] == [faces[0], faces[1]]


def test_two_reviewers_are_never_served_the_same_face(owner, member, project, faces):
    mine = leases.face_serve(project=project, user=owner)
    theirs = leases.face_serve(project=project, user=member)
    assert mine != theirs


def test_a_reload_serves_the_face_i_was_looking_at(owner, project, faces):
    first = leases.face_serve(project=project, user=owner)
    assert leases.face_serve(project=project, user=owner) == first


def test_a_face_read_as_another_projects_is_still_refused_here(owner, project):
    from tests.factories import ProjectFactory

    other = ProjectFactory(owner=owner)
    theirs = photos_of(other, 1)[0]
    read = selectors.face_of_project(project=other, face_id=theirs.pk)
    assert read is not None
    with pytest.raises(refusals.FaceNotInProject):
        answers.answer_record(
            project=project, face=read, user=owner, verdict="yes", request_id=uuid.uuid4()
        )
    assert not Answer.objects.filter(face=theirs).exists()


def test_a_face_i_hold_comes_first_however_late_in_the_order_and_however_many_shown(owner, project):
    faces = photos_of(project, 6)
    for wanted in faces[-2:]:  # the page's question and its reserve, the last two in order
        others = [f.pk for f in faces if f != wanted]
        assert leases.face_serve(project=project, user=owner, exclude=others) == wanted
    # The page shows the first of them: the other is served again, not the order's first.
    assert leases.face_serve(project=project, user=owner, exclude=[faces[-2].pk]) == faces[-1]
    assert leases.face_serve(project=project, user=owner, exclude=[faces[-1].pk]) == faces[-2]


def test_a_lease_taken_between_read_and_write_is_passed_over(owner, member, project, faces):
    seen_by_member = selectors.next_face(project=project, user=member)
    assert leases.face_serve(project=project, user=owner) == seen_by_member
    assert leases.lease_take(project=project, face=seen_by_member, user=member) is False
    assert leases.face_serve(project=project, user=member) != seen_by_member


def test_an_expired_lease_frees_the_face(owner, member, project, faces):
    first = leases.face_serve(project=project, user=owner, exclude=[f.pk for f in faces[1:]])
    ReviewLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert leases.face_serve(project=project, user=member) == first


def test_nothing_left_says_why(client_of, owner, project, faces):
    Project.objects.filter(pk=project.pk).update(crawled_at=timezone.now())  # crawl finished
    client = client_of(owner)
    for face in faces:
        post(client, project, "answer", answer_body(face))
    data = client.get(reverse("projects:next", args=[project.pk])).json()
    assert data["question"] is None
    assert "Every face" in data["message"]


@pytest.mark.django_db(transaction=True)
def test_reviewers_racing_for_faces_each_get_their_own():
    """Eight reviewers ask at the same moment, each on their own connection."""
    from tests.factories import ProjectFactory

    project = ProjectFactory()
    photos_of(project, 12)
    users = [UserFactory() for _ in range(8)]
    served, errors = [], []
    barrier = threading.Barrier(len(users))

    def ask(user):
        try:
            barrier.wait()
            served.append(leases.face_serve(project=project, user=user).pk)
        except Exception as error:  # the assertion below shows it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(served) == len(set(served)) == 8


# --- drawn and corrected faces ----------------------------------------------------------


def test_a_drawn_face_becomes_the_question_and_is_encoded_by_a_worker(
    client_of, owner, project, face, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        status, data = post(
            client_of(owner),
            project,
            "draw",
            {"image": face.image_id, "left": 0.6, "top": 0.1, "width": 0.2, "height": 0.3},
        )
    assert status == 200
    drawn = Face.objects.get(pk=data["question"]["face"]["id"])
    assert (drawn.origin, drawn.encoding, drawn.created_by) == (Face.Origin.DRAWN, None, owner)
    assert ("faces.detect.encode_face", (drawn.pk,)) in [(q.task, q.args) for q in queued]
    assert data["question"]["face"]["drawn"] is True


def test_a_box_outside_the_image_is_refused(client_of, owner, project, face):
    status, data = post(
        client_of(owner),
        project,
        "draw",
        {"image": face.image_id, "left": 0.999, "top": 0.1, "width": 0.5, "height": 0.3},
    )
    assert (status, data["error"]) == (409, "invalid_box")


def test_a_corrected_box_replaces_the_face_and_keeps_its_answers(owner, project, face):
    answers.answer_record(
        project=project, face=face, user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    new = drawing.face_correct(
        project=project,
        face=face,
        user=owner,
        box=FaceBox(left=0.05, top=0.1, width=0.3, height=0.3),
    )
    face.refresh_from_db()
    assert face.superseded_by == new
    assert human_labels(project) == {new.pk: "yes"}
    undo.answer_undo(project=project, user=owner)
    assert human_labels(project) == {}


def test_a_replaced_face_cannot_be_corrected_again(owner, project, face):
    box = FaceBox(left=0.05, top=0.1, width=0.3, height=0.3)
    drawing.face_correct(project=project, face=face, user=owner, box=box)
    face.refresh_from_db()
    with pytest.raises(refusals.FaceNotInProject):
        drawing.face_correct(project=project, face=face, user=owner, box=box)


def test_question_shows_every_face_of_the_photo_numbered(owner, project):
    faces = photos_of(project, 1, faces_per_photo=3)
    question = selectors.question_for(project=project, face=faces[1]).as_dict()
    assert [f["number"] for f in question["faces"]] == [1, 2, 3]
    assert question["face"]["number"] == 2
    assert "/960px-Photo_" in question["image"]["thumb"]  # sharper than the 500px analysed
    json.dumps(question)


def test_projects_refuse_state_changes_unless_active(owner, project, face):
    project.state = Project.State.COMPLETED
    project.save()
    with pytest.raises(refusals.ProjectNotAcceptingAnswers):
        undo.answer_undo(project=project, user=owner)


def test_a_stale_priority_written_back_by_the_learner_does_not_ask_again(owner, project, faces):
    """The learner may have read the answers before this one and write its priority back."""
    score(project, faces, [0.5, 0.45, 0.1])
    answers.answer_record(
        project=project, face=faces[0], user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    Label.objects.filter(face=faces[0], source=Label.Source.MODEL).update(priority=2.0)
    assert leases.face_serve(project=project, user=owner) == faces[1]


def test_many_stale_priorities_are_passed_over(owner, project):
    faces = photos_of(project, 40)
    score(project, faces, [0.5] * 40)
    for face in faces[:39]:
        LabelFactory(project=project, face=face, source=Label.Source.HUMAN, verdict="no")
    assert leases.face_serve(project=project, user=owner) == faces[39]


@pytest.mark.django_db(transaction=True)
def test_an_answer_is_kept_when_the_learner_cannot_be_queued(
    client_of, owner, project, faces, monkeypatch, django_capture_on_commit_callbacks
):
    """Committed, then the broker refuses the learner's task: the answer stands, and the
    project stays marked for the ``faces.learn.pending`` sweep."""
    from kombu.exceptions import OperationalError

    from core import enqueue

    def broker_down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(enqueue, "send", enqueue.send_to_broker)
    monkeypatch.setattr("celery.current_app.send_task", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        status, data = post(client_of(owner), project, "answer", answer_body(faces[0], "yes"))
    assert (status, data["stored"]) == (200, True)
    assert human_labels(project) == {faces[0].pk: "yes"}
    project.refresh_from_db()
    assert project.rescore_pending is True


# --- ids the database cannot hold --------------------------------------------------------

HUGE = str(2**70)


@pytest.mark.parametrize("exclude", [HUGE, f"1,{HUGE}", "0", "-5"])
def test_an_id_out_of_range_in_exclude_is_a_400_not_a_500(client_of, owner, project, exclude):
    response = client_of(owner).get(
        reverse("projects:next", args=[project.pk]), {"exclude": exclude}
    )
    assert response.status_code == 400, response.content[:300]


@pytest.mark.parametrize("endpoint", ["answer", "pick", "draw", "correct"])
def test_an_id_out_of_range_in_a_posted_answer_is_a_400_not_a_500(
    client_of, owner, project, face, endpoint
):
    body = {
        **answer_body(face, "yes"),
        "image": 2**70,
        "face": 2**70,
        "left": 0.1,
        "top": 0.1,
        "width": 0.2,
        "height": 0.2,
        "exclude": [2**70],
    }
    status, _data = post(client_of(owner), project, endpoint, body)
    assert status == 400
