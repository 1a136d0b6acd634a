"""Who is this, across projects, by consent: a face none of a group's people matches may be
proposed as a person whose project opted in to sharing its confirmed faces; accepting adds
the person to the group and stores the answer there, never in the sharing project.

Runs on MariaDB too: ``DATABASE_URL=mysql://… pytest tests/faces/test_shared_people.py``.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import numpy as np
import pytest
from django.urls import reverse

from faces import shared_people
from faces.models import Answer, Face, Label, ProjectImage, ReviewLease
from faces.services import group_answers
from projects.models import GroupPerson, Project, ProjectGroup, Sensitivity, Withholding
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

WORLD: dict[str, Any] = {
    "items": {
        "Q7": {"labels": {"en": "Jane Doe"}, "P31": ["Q5"]},
        "Q8": {"labels": {"en": "John Roe"}, "P31": ["Q5"]},
    },
    "categories": {},
    "files": {},
}

QUESTION = np.zeros(128, dtype=np.float32)
QUESTION[0] = 1.0


def at_distance(distance: float, axis: int) -> bytes:
    """An encoding ``distance`` away from the question's face (a step along another axis)."""
    vector = QUESTION.copy()
    vector[axis] = distance
    return Face.pack(vector)


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(copy.deepcopy(WORLD))


@pytest.fixture
def group(owner) -> tuple[ProjectGroup, list[Project], Face]:
    """Ann and Bob over one category; one photo, one face nobody of them answered."""
    group = ProjectGroup.objects.create(owner=owner, name="Fair people")
    projects = [
        ProjectFactory(owner=owner, qid=qid, category="Fair", person_labels={"en": name})
        for qid, name in (("Q1", "Ann"), ("Q2", "Bob"))
    ]
    for position, project in enumerate(projects):
        GroupPerson.objects.create(group=group, project=project, position=position)
    image = ImageFactory(title="File:Fair 1.jpg")
    for project in projects:
        ProjectImageFactory(project=project, image=image)
    face = FaceFactory(image=image, index=0, encoding=Face.pack(QUESTION))
    return group, projects, face


def sharing_project(qid="Q7", *, confirmed=3, distance=0.5, share=True, **fields) -> Project:
    """Another contributor's project whose reviewers confirmed ``confirmed`` faces, the
    nearest ``distance`` from the question's face."""
    project = ProjectFactory(
        owner=UserFactory(username=f"stranger-{qid}-{confirmed}"),
        qid=qid,
        category=f"Elsewhere {qid} {confirmed}",
        person_labels={"en": WORLD["items"].get(qid, {}).get("labels", {}).get("en", qid)},
        share_confirmed_faces=share,
        **fields,
    )
    for n in range(confirmed):
        face = FaceFactory(image=ImageFactory(), index=0, encoding=at_distance(distance, n + 1))
        LabelFactory(project=project, face=face, verdict="yes", user=project.owner)
    return project


def labels_of(project: Project) -> list[tuple]:
    return sorted(
        Label.objects.filter(project=project).values_list("face_id", "source", "verdict", "score")
    )


def test_a_project_that_did_not_opt_in_never_proposes_its_person(group):
    _group, projects, face = group
    sharing_project(share=False)
    assert shared_people.proposals(projects=projects, face=face, language="en") == []


def test_an_opted_in_project_proposes_its_person_with_its_count_and_a_probability(group):
    _group, projects, face = group
    sharing_project(confirmed=3, distance=0.5)
    [proposal] = shared_people.proposals(projects=projects, face=face, language="en")
    assert (proposal.qid, proposal.label, proposal.confirmed) == ("Q7", "Jane Doe", 3)
    assert proposal.probability == pytest.approx(0.924, abs=0.001)  # the learner's scale
    assert proposal.probability_text == "92\u00a0%"


@pytest.mark.parametrize("listed", [Withholding, Sensitivity])
def test_a_withheld_or_sensitive_person_is_never_proposed(group, listed):
    _group, projects, face = group
    sharing_project()
    listed.objects.create(kind="person", value="Q7", reason="asked")
    assert shared_people.proposals(projects=projects, face=face, language="en") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"state": Project.State.ARCHIVED},
        {"state": Project.State.PAUSED},
        {"moderation": Project.Moderation.ARCHIVED},
        {"moderator_writes_stopped": True},
    ],
)
def test_a_project_held_by_its_owner_or_a_moderator_does_not_share(group, fields):
    _group, projects, face = group
    sharing_project(**fields)
    assert shared_people.proposals(projects=projects, face=face, language="en") == []


def test_only_near_faces_of_people_outside_the_group_are_proposed_once_each(group):
    _group, projects, face = group
    sharing_project("Q1", confirmed=2)  # Ann, in the group already
    sharing_project("Q8", confirmed=2, distance=0.7)  # too far: under one half
    sharing_project("Q9", confirmed=2, distance=0.5, distance_threshold=0.45)  # beyond its own
    sharing_project("Q7", confirmed=2, distance=0.3)
    sharing_project("Q7", confirmed=4, distance=0.55)  # the same person, more faces confirmed
    proposed = shared_people.proposals(projects=projects, face=face, language="en")
    assert [(p.qid, p.confirmed) for p in proposed] == [("Q7", 4)]


def test_a_face_confirmed_on_the_same_photo_is_somebody_else(group):
    _group, projects, face = group
    sharing = sharing_project("Q7", confirmed=0)
    beside = FaceFactory(image=face.image, index=1, encoding=at_distance(0.3, 1))
    LabelFactory(project=sharing, face=beside, verdict="yes", user=sharing.owner)
    assert shared_people.proposals(projects=projects, face=face, language="en") == []
    LabelFactory(project=sharing, face=face, verdict="yes", user=sharing.owner)  # this very face
    assert [p.qid for p in shared_people.proposals(projects=projects, face=face)] == ["Q7"]


def test_the_faces_are_read_in_two_queries_whatever_the_number_of_sharing_projects(
    group, django_assert_num_queries
):
    _group, projects, face = group
    face = Face.objects.get(pk=face.pk)  # the encoding read: what is left is the proposal's
    sharing_project("Q7", confirmed=2)
    with django_assert_num_queries(2):
        assert len(shared_people.proposals(projects=projects, face=face, language="en")) == 1
    for qid in ("Q8", "Q9", "Q10", "Q11"):
        sharing_project(qid, confirmed=3)
    with django_assert_num_queries(2):
        assert len(shared_people.proposals(projects=projects, face=face, language="en")) == 3


def who_page_question(client) -> dict:
    group = ProjectGroup.objects.get()
    return client.get(reverse("projects:who", args=[group.pk])).context["first"]["question"]


def test_the_page_shows_the_proposals_to_the_owner_when_nobody_of_the_group_matches(
    group, owner, client_of
):
    _group, projects, face = group
    sharing_project(confirmed=14)
    question = who_page_question(client_of(owner))
    assert question["face"]["id"] == face.pk
    assert [p["text"] for p in question["shared"]] == [
        "Perhaps: Jane Doe (Q7), 92\u00a0%, from 14 confirmed faces in a shared project"
    ]
    reviewer = UserFactory(username="reviewer")
    for project in projects:
        MembershipFactory(project=project, user=reviewer)
    ReviewLease.objects.all().delete()  # the owner's hold on the face
    question = who_page_question(client_of(reviewer))
    assert question["face"]["id"] == face.pk
    assert question["shared"] == []  # only the owner can accept one


def test_a_person_of_the_group_likely_enough_hides_the_proposals(group, owner, client_of):
    _group, projects, face = group
    sharing_project()
    LabelFactory(project=projects[1], face=face, source=Label.Source.MODEL, verdict="no", score=0.6)
    assert who_page_question(client_of(owner))["shared"] == []


def accept(client, group, face, qid="Q7", request_id=None):
    body = {"face": face.pk, "qid": qid, "request_id": str(request_id or uuid.uuid4())}
    url = reverse("projects:who-shared", args=[group.pk])
    return client.post(url, body, content_type="application/json")


def test_accepting_adds_the_person_to_the_group_and_writes_only_there(
    group, owner, client_of, fake, queued, django_capture_on_commit_callbacks
):
    group_row, projects, face = group
    sharing = sharing_project()
    reviewer = UserFactory(username="reviewer")
    MembershipFactory(project=projects[0], user=reviewer)
    before = labels_of(sharing)
    with django_capture_on_commit_callbacks(execute=True):
        response = accept(client_of(owner), group_row, face)
    assert response.status_code == 200, response.content
    data = response.json()
    added = Project.objects.get(pk=data["person"]["project"])
    assert data["person"] == {"project": added.pk, "qid": "Q7", "added": True}
    assert [p.qid for p in group_row.member_projects()] == ["Q1", "Q2", "Q7"]
    assert (added.owner, added.category, added.label_in("en")) == (owner, "Fair", "Jane Doe")
    assert added.role_of(reviewer) == "reviewer"  # the group's reviewers still reach it
    assert ProjectImage.objects.filter(project=added, image=face.image).exists()
    answers = {a["project"]: a["verdict"] for a in data["answers"]}
    assert answers == {added.pk: "yes", projects[0].pk: "no", projects[1].pk: "no"}
    assert Label.objects.get(project=added, face=face, source="human").verdict == "yes"
    # The sharing project is only read.
    assert labels_of(sharing) == before
    assert not Answer.objects.filter(project=sharing).exists()
    assert ("faces.crawl.project", (added.pk,)) in [(q.task, q.args) for q in queued]
    assert all(q.args[0] != sharing.pk for q in queued)


def test_the_same_request_again_adds_the_person_once_and_stores_the_answer_once(
    group, owner, client_of, fake
):
    group_row, _projects, face = group
    sharing_project()
    request_id = uuid.uuid4()
    first = accept(client_of(owner), group_row, face, request_id=request_id).json()
    again = accept(client_of(owner), group_row, face, request_id=request_id)
    assert again.status_code == 200
    assert again.json()["repeat"] is True and again.json()["person"]["added"] is False
    assert again.json()["person"]["project"] == first["person"]["project"]
    assert GroupPerson.objects.filter(group=group_row).count() == 3
    assert Answer.objects.count() == 3


def test_a_person_added_by_another_accept_at_the_same_moment_takes_this_answer(
    group, owner, client_of, fake, monkeypatch
):
    from faces.services import shared_answers
    from projects.group_services import group_person_add

    group_row, _projects, face = group
    sharing_project()
    checked = shared_answers.group_person_check

    def raced(**kwargs):  # the other tab adds the person between the check and the add
        person = checked(**kwargs)
        theirs = group_person_add(group=kwargs["group"], person=person)
        ProjectImage.objects.create(project=theirs, image=face.image, source="category")
        return person

    monkeypatch.setattr(shared_answers, "group_person_check", raced)
    response = accept(client_of(owner), group_row, face)
    assert response.status_code == 200, response.content
    assert response.json()["person"]["added"] is False
    assert [p.qid for p in group_row.member_projects()] == ["Q1", "Q2", "Q7"]
    added = group_row.member_projects()[2]
    assert Label.objects.get(project=added, face=face, source="human").verdict == "yes"


def test_only_the_group_s_owner_may_accept(group, client_of, fake):
    group_row, projects, face = group
    sharing_project()
    reviewer = UserFactory(username="reviewer")
    for project in projects:
        MembershipFactory(project=project, user=reviewer)
    response = accept(client_of(reviewer), group_row, face)
    assert response.status_code == 403 and response.json()["error"] == "not_owner"
    outsider = accept(client_of(UserFactory(username="outsider")), group_row, face)
    assert outsider.status_code == 403
    assert GroupPerson.objects.filter(group=group_row).count() == 2
    assert not Answer.objects.exists()


def test_a_person_nobody_proposes_is_refused(group, owner, client_of, fake):
    group_row, _projects, face = group
    sharing_project(share=False)
    response = accept(client_of(owner), group_row, face)
    assert response.status_code == 409 and response.json()["error"] == "not_proposed"
    assert GroupPerson.objects.filter(group=group_row).count() == 2


def test_undo_takes_the_answer_back_and_the_person_stays(group, owner, client_of, fake):
    group_row, _projects, face = group
    sharing_project()
    accept(client_of(owner), group_row, face)
    projects = group_row.member_projects()
    undone = group_answers.group_undo(projects=projects, user=owner)
    assert len(undone) == 3
    assert not Label.objects.filter(face=face, source="human").exists()
    assert [p.qid for p in group_row.member_projects()] == ["Q1", "Q2", "Q7"]


def test_the_owner_opts_in_on_the_settings_form(client_of, owner, project):
    data = {
        "state": project.state,
        "description": "",
        "crawl_depth": project.crawl_depth,
        "distance_threshold": project.distance_threshold,
        "min_answers": project.min_answers,
        "writes_enabled": "on",
        "share_confirmed_faces": "on",
    }
    client_of(owner).post(f"/projects/{project.pk}/settings/", data)
    project.refresh_from_db()
    assert project.share_confirmed_faces is True
