"""One answer of a group of people fans out: a yes in the chosen person's project and a no in
every other, one step (one transaction, one timestamp) that undo takes back whole.

Runs on MariaDB too: ``DATABASE_URL=mysql://… pytest tests/faces/test_group_answers.py``.
"""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from faceengine.learner.questions import TURN_SLACK
from faces.models import Answer, Face, Label, ProjectImage, ReviewLease
from faces.services import group_answers
from faces.services.refusals import ProjectNotAcceptingAnswers, RequestIdReused
from projects.models import GroupPerson, Project, ProjectGroup
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(owner) -> tuple[ProjectGroup, list[Project]]:
    """Three people over one category; their projects hold the same two photos."""
    group = ProjectGroup.objects.create(owner=owner, name="Fair people")
    projects = [
        ProjectFactory(owner=owner, qid=qid, category="Fair", person_labels={"en": name})
        for qid, name in (("Q1", "Ann"), ("Q2", "Bob"), ("Q3", "Cy"))
    ]
    for position, project in enumerate(projects):
        GroupPerson.objects.create(group=group, project=project, position=position)
    for title in ("File:Fair 1.jpg", "File:Fair 2.jpg"):
        image = ImageFactory(title=title)
        for project in projects:
            ProjectImageFactory(project=project, image=image)
        FaceFactory(image=image, index=0)
        FaceFactory(image=image, index=1)
    return group, projects


def human(project, face) -> str | None:
    label = Label.objects.filter(project=project, face=face, source=Label.Source.HUMAN).first()
    return label.verdict if label else None


def verdicts(projects, face) -> list[str | None]:
    return [human(project, face) for project in projects]


def first_face(projects):
    return (
        projects[0]
        .project_images.order_by("image__title")
        .first()
        .image.faces.order_by("index")
        .first()
    )


def test_the_chosen_person_gets_a_yes_and_every_other_a_no(
    group, owner, queued, django_capture_on_commit_callbacks
):
    _group, projects = group
    face = first_face(projects)
    with django_capture_on_commit_callbacks(execute=True):
        outcome = group_answers.group_answer(
            projects=projects, face=face, user=owner, person=projects[1], request_id=uuid.uuid4()
        )
    assert outcome.created and len(outcome.answers) == 3
    assert verdicts(projects, face) == ["no", "yes", "no"]
    assert len({answer.created_at for answer in outcome.answers}) == 1  # one step
    rescored = {q.args[0] for q in queued if q.task == "faces.learn.project"}
    assert rescored == {project.pk for project in projects}


def test_none_of_these_is_a_no_in_every_project(group, owner):
    _group, projects = group
    face = first_face(projects)
    group_answers.group_answer(
        projects=projects, face=face, user=owner, person=None, request_id=uuid.uuid4()
    )
    assert verdicts(projects, face) == ["no", "no", "no"]


def test_the_same_request_again_is_stored_once(group, owner):
    _group, projects = group
    face = first_face(projects)
    request_id = uuid.uuid4()
    first = group_answers.group_answer(
        projects=projects, face=face, user=owner, person=projects[0], request_id=request_id
    )
    again = group_answers.group_answer(
        projects=projects, face=face, user=owner, person=projects[0], request_id=request_id
    )
    assert not again.created
    assert {a.pk for a in again.answers} == {a.pk for a in first.answers}
    assert Answer.objects.count() == 3
    other = FaceFactory(image=face.image, index=5)
    with pytest.raises(RequestIdReused):
        group_answers.group_answer(
            projects=projects, face=other, user=owner, person=None, request_id=request_id
        )


def test_undo_takes_back_every_label_of_the_last_answer(group, owner):
    _group, projects = group
    face = first_face(projects)
    earlier = FaceFactory(image=face.image, index=7)
    group_answers.group_answer(
        projects=projects, face=earlier, user=owner, person=None, request_id=uuid.uuid4()
    )
    group_answers.group_answer(
        projects=projects, face=face, user=owner, person=projects[2], request_id=uuid.uuid4()
    )
    undone = group_answers.group_undo(projects=projects, user=owner)
    assert {(a.project_id, a.face_id) for a in undone} == {(p.pk, face.pk) for p in projects}
    assert verdicts(projects, face) == [None, None, None]
    assert verdicts(projects, earlier) == ["no", "no", "no"]  # the step before stands
    group_answers.group_undo(projects=projects, user=owner)
    assert verdicts(projects, earlier) == [None, None, None]
    assert group_answers.group_undo(projects=projects, user=owner) == ()


def test_a_paused_project_refuses_the_whole_answer_and_its_undo(group, owner):
    _group, projects = group
    face = first_face(projects)
    group_answers.group_answer(
        projects=projects, face=face, user=owner, person=projects[0], request_id=uuid.uuid4()
    )
    projects[2].pause()
    other = FaceFactory(image=face.image, index=3)
    with pytest.raises(ProjectNotAcceptingAnswers):
        group_answers.group_answer(
            projects=projects, face=other, user=owner, person=projects[0], request_id=uuid.uuid4()
        )
    assert verdicts(projects, other) == [None, None, None]
    with pytest.raises(ProjectNotAcceptingAnswers):
        group_answers.group_undo(projects=projects, user=owner)
    assert verdicts(projects, face) == ["yes", "no", "no"]


def test_a_face_another_reviewer_named_as_another_person_is_refused(group, owner):
    _group, projects = group
    face = first_face(projects)
    LabelFactory(project=projects[1], face=face, verdict="yes", user=UserFactory(username="eve"))
    with pytest.raises(group_answers.AnsweredAsAnother):
        group_answers.group_answer(
            projects=projects, face=face, user=owner, person=projects[0], request_id=uuid.uuid4()
        )
    assert verdicts(projects, face) == [None, "yes", None]


def test_another_reviewer_s_no_is_kept_and_the_rest_is_stored(group, owner):
    _group, projects = group
    face = first_face(projects)
    LabelFactory(project=projects[1], face=face, verdict="no", user=UserFactory(username="eve"))
    outcome = group_answers.group_answer(
        projects=projects, face=face, user=owner, person=projects[0], request_id=uuid.uuid4()
    )
    assert [a.project_id for a in outcome.answers] == [projects[0].pk, projects[2].pk]
    assert verdicts(projects, face) == ["yes", "no", "no"]


def test_a_skip_is_one_step_in_every_project_and_sets_no_label(group, owner):
    _group, projects = group
    face = first_face(projects)
    group_answers.group_face_serve(projects=projects, user=owner)
    outcome = group_answers.group_skip(
        projects=projects, face=face, user=owner, request_id=uuid.uuid4()
    )
    assert [a.verdict for a in outcome.answers] == ["skip"] * 3
    assert verdicts(projects, face) == [None, None, None]
    assert not ReviewLease.objects.filter(face=face).exists()
    served = group_answers.group_face_serve(projects=projects, user=owner)
    assert served is not None and served != face  # skipped: not asked again of this reviewer
    assert len(group_answers.group_undo(projects=projects, user=owner)) == 3


def model_label(project, face, *, score: float, priority: float | None) -> None:
    LabelFactory(
        project=project,
        face=face,
        source=Label.Source.MODEL,
        verdict="no",
        score=score,
        priority=priority,
        user=None,
    )


def test_the_face_most_needed_across_the_people_is_served_and_held_in_every_project(group, owner):
    _group, projects = group
    faces = [
        f
        for p in projects[0].project_images.order_by("image__title")
        for f in p.image.faces.order_by("index")
    ]
    model_label(projects[0], faces[0], score=0.1, priority=0.2)
    model_label(projects[1], faces[1], score=0.2, priority=0.3)
    model_label(projects[2], faces[2], score=0.3, priority=0.9)
    model_label(projects[0], faces[3], score=0.1, priority=0.5)
    served = group_answers.group_face_serve(projects=projects, user=owner)
    assert served == faces[2]
    held = ReviewLease.objects.filter(face=served, user=owner)
    assert sorted(held.values_list("project_id", flat=True)) == [p.pk for p in projects]
    other = UserFactory(username="other")
    # Held for the owner: another reviewer gets the next face, here the first person's 0.5.
    assert group_answers.group_face_serve(projects=projects, user=other) == faces[3]
    # Answered in one person's project only: the group does not ask about it again.
    LabelFactory(project=projects[1], face=faces[0], verdict="no", user=owner)
    seen = {group_answers.group_face_serve(projects=projects, user=UserFactory()) for _ in range(3)}
    assert faces[0] not in seen


def test_the_people_are_offered_likeliest_first_by_their_own_learner(group, owner):
    from faces.group_selectors import candidates

    _group, projects = group
    face = first_face(projects)
    model_label(projects[0], face, score=0.12, priority=None)
    model_label(projects[2], face, score=0.87, priority=None)
    offered = candidates(projects=projects, face=face, language="en")
    assert [(c.key, c.label, c.qid) for c in offered] == [
        (1, "Cy", "Q3"),
        (2, "Ann", "Q1"),
        (3, "Bob", "Q2"),  # not scored yet: last
    ]
    assert [c.probability for c in offered] == ["87\u00a0%", "12\u00a0%", "—"]


def test_the_page_answers_and_moves_on_and_says_why_it_refuses(group, owner, client_of):
    group_row, projects = group
    client = client_of(owner)
    page = client.get(reverse("projects:who", args=[group_row.pk]))
    question = page.context["first"]["question"]
    assert [person["qid"] for person in question["people"]] == ["Q1", "Q2", "Q3"]
    face_id = question["face"]["id"]
    body = {
        "face": face_id,
        "answer": "person",
        "person": projects[1].pk,
        "request_id": str(uuid.uuid4()),
        "exclude": [face_id],
    }
    url = reverse("projects:who-answer", args=[group_row.pk])
    response = client.post(url, body, content_type="application/json").json()
    assert response["stored"] and response["next"]["face"]["id"] != face_id
    assert [a["verdict"] for a in response["answers"]] == ["no", "yes", "no"]
    projects[0].pause()
    body = {**body, "face": response["next"]["face"]["id"], "request_id": str(uuid.uuid4())}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"] == "paused"
    undo = client.post(reverse("projects:who-undo", args=[group_row.pk]))
    assert undo.status_code == 409


def test_the_likeliest_mistake_comes_first_but_nobody_waits_more_than_the_slack(group, owner):
    # Of the people whose learner wants its own question (a review priority of EXPLORING or
    # more: a first question, a photo in doubt), the highest priority comes first, as long
    # as its person was served at most TURN_SLACK more than the least served of them; a
    # person with nothing it needs (0.4) waits for the others.
    _group, projects = group
    image = ImageFactory(title="File:Fair 3.jpg")
    for project in projects:
        ProjectImageFactory(project=project, image=image)
    FaceFactory(image=image, index=0)
    FaceFactory(image=image, index=1)
    faces = [
        f
        for p in projects[0].project_images.order_by("image__title")
        for f in p.image.faces.order_by("index")
    ]
    for face, priority in zip(
        (faces[0], faces[3], faces[4], faces[5]), (6.0, 5.9, 5.8, 5.7), strict=True
    ):
        model_label(projects[0], face, score=0.6, priority=priority)
    model_label(projects[1], faces[1], score=0.9, priority=5.5)
    model_label(projects[2], faces[2], score=0.1, priority=0.4)  # nothing it needs
    served = [
        group_answers.group_face_serve(projects=projects, user=UserFactory())
        for _ in range(TURN_SLACK + 2)
    ]
    assert served == [faces[0], faces[3], faces[4], faces[1]]
    people = GroupPerson.objects.filter(project__in=projects).order_by("position")
    assert list(people.values_list("served", flat=True)) == [TURN_SLACK + 1, 1, 0]
    # A reload of a held face is no one's turn.
    again = group_answers.group_face_serve(projects=projects, user=owner)
    assert group_answers.group_face_serve(projects=projects, user=owner) == again
    assert sum(people.values_list("served", flat=True)) == TURN_SLACK + 3


def test_the_group_asks_only_about_a_current_detected_face_of_every_person_s_photos(group):
    from faces.group_selectors import group_open

    _group, projects = group
    face = first_face(projects)
    assert group_open(projects, face)
    # A box drawn in one person's project is that project's alone.
    drawn = FaceFactory(image=face.image, index=2, project=projects[0])
    assert not group_open(projects, drawn)
    assert group_open(projects[:1], drawn)
    # A photo one person's project no longer holds.
    ProjectImage.objects.filter(project=projects[2], image=face.image).delete()
    assert not group_open(projects, face)
    assert group_open(projects[:2], face)
    # A replaced face, and a face answered in any one project.
    other = face.image.faces.get(index=1)
    assert group_open(projects[:2], other)
    LabelFactory(project=projects[1], face=other, verdict="no", user=projects[1].owner)
    assert not group_open(projects[:2], other)
    Face.objects.filter(pk=face.pk).update(superseded_by=drawn)
    face.refresh_from_db()
    assert not group_open(projects[:2], face)


def test_each_person_is_shown_with_a_confirmed_face_else_their_wikidata_image(
    group, owner, django_assert_num_queries
):
    from faces.group_selectors import person_faces

    _group, projects = group
    faces = [
        f
        for p in projects[0].project_images.order_by("image__title")
        for f in p.image.faces.order_by("index")
    ]
    # Ann: two confirmed faces, the newer shown. Bob: none, but his Wikidata image is in
    # the project: its larger face. Cy: neither.
    for face in (faces[0], faces[2]):
        LabelFactory(project=projects[0], face=face, verdict="yes", source="human", user=owner)
    LabelFactory(project=projects[2], face=faces[1], verdict="no", source="human", user=owner)
    Face.objects.filter(pk=faces[3].pk).update(width=0.5, height=0.5)
    Project.objects.filter(pk=projects[1].pk).update(person_image="Fair 2.jpg")
    projects[1].refresh_from_db()
    with django_assert_num_queries(2):
        shown = person_faces(projects)
    assert set(shown) == {projects[0].pk, projects[1].pk}
    ann, bob = shown[projects[0].pk], shown[projects[1].pk]
    assert (ann["left"], ann["top"]) == (faces[2].left, faces[2].top)
    assert bob["width"] == 0.5 and "thumb" in bob
    assert ann["image_width"] == faces[2].image.width
