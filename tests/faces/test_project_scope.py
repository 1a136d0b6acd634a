"""What one project does stays in that project: its answers reach another project only when
both opted in, and a box corrected in it never rewrites a face another project answered."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from faceengine.detection import FaceBox
from faces import selectors
from faces.models import Face, Image, Label
from faces.services import answers, drawing, leases, refusals, scoring
from tests.factories import (
    DepictsEditFactory,
    FaceFactory,
    LabelFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
    random_encoding,
)

pytestmark = pytest.mark.django_db

BETTER_BOX = FaceBox(left=0.05, top=0.1, width=0.3, height=0.3)


@pytest.fixture
def shared_face(project) -> Face:
    """A face of a photo held by the owner's project (Q76) and by a stranger's (Q1)."""
    face = FaceFactory(image__state=Image.State.DONE)
    ProjectImageFactory(project=project, image=face.image)
    return face


@pytest.fixture
def strangers_project(shared_face):
    other = ProjectFactory(owner=UserFactory(username="stranger"), qid="Q1")
    ProjectImageFactory(project=other, image=shared_face.image)
    return other


def strangers_yes(other, face: Face) -> None:
    answers.answer_record(
        project=other, face=face, user=other.owner, verdict="yes", request_id=uuid.uuid4()
    )


def score_in(project, face: Face) -> None:
    """The learner's label: the project is asked about the face."""
    LabelFactory(
        project=project, face=face, source=Label.Source.MODEL, verdict="yes", score=0.5, priority=1
    )


def against(project, face: Face) -> float:
    data = scoring.project_faces(project)
    position = data.face_ids.tolist().index(face.pk)
    return float(data.evidence.against[position])


def test_projects_share_no_answers_unless_they_opt_in(project):
    assert project.share_evidence is False


def test_another_projects_yes_is_no_evidence_without_opting_in(
    project, shared_face, strangers_project
):
    strangers_yes(strangers_project, shared_face)
    assert against(project, shared_face) == 0.0


@pytest.mark.parametrize(("ours", "theirs"), [(True, False), (False, True)])
def test_one_project_opting_in_is_not_enough(project, shared_face, strangers_project, ours, theirs):
    type(project).objects.filter(pk=project.pk).update(share_evidence=ours)
    type(project).objects.filter(pk=strangers_project.pk).update(share_evidence=theirs)
    strangers_yes(strangers_project, shared_face)
    project.refresh_from_db()
    assert against(project, shared_face) == 0.0


def test_another_projects_yes_counts_against_when_both_opted_in(
    project, shared_face, strangers_project
):
    type(project).objects.filter(pk__in=[project.pk, strangers_project.pk]).update(
        share_evidence=True
    )
    strangers_yes(strangers_project, shared_face)
    project.refresh_from_db()
    assert against(project, shared_face) == 1.0


def test_a_box_corrected_here_never_changes_a_face_another_project_answered(
    owner, project, shared_face, strangers_project
):
    strangers_yes(strangers_project, shared_face)
    edit = DepictsEditFactory(
        project=strangers_project,
        image=shared_face.image,
        face=shared_face,
        region=shared_face.region_pct,
    )
    with pytest.raises(refusals.FaceUsedElsewhere):
        drawing.face_correct(project=project, face=shared_face, user=owner, box=BETTER_BOX)
    shared_face.refresh_from_db()
    edit.refresh_from_db()
    assert shared_face.superseded_by_id is None
    assert Face.objects.filter(image=shared_face.image).count() == 1
    assert (edit.face_id, edit.region) == (shared_face.pk, "pct:25,20,30,40")
    assert list(
        Label.objects.filter(project=strangers_project, source=Label.Source.HUMAN).values_list(
            "face_id", "verdict"
        )
    ) == [(shared_face.pk, "yes")]


def test_a_face_only_this_project_answered_is_corrected_with_its_answers(
    owner, project, shared_face, strangers_project
):
    """The corrector is a member of every project holding the photo: the box changes for
    each of them (the other has only the learner's score on it, no say)."""
    MembershipFactory(project=strangers_project, user=owner)
    LabelFactory(project=strangers_project, face=shared_face, source=Label.Source.MODEL)
    answers.answer_record(
        project=project, face=shared_face, user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    new = drawing.face_correct(project=project, face=shared_face, user=owner, box=BETTER_BOX)
    shared_face.refresh_from_db()
    assert shared_face.superseded_by == new
    assert Label.objects.get(project=project, source=Label.Source.HUMAN).face == new
    assert list(Face.objects.current().of_project(strangers_project)) == [new]


# --- drawn and corrected faces belong to the project that made them ----------------------


def test_a_non_members_correction_never_changes_the_box_another_project_is_asked_about(
    owner, project, shared_face, strangers_project
):
    """The stranger's project has not answered the face yet: it is still asked about it."""
    score_in(strangers_project, shared_face)
    with pytest.raises(refusals.FaceAskedElsewhere):
        drawing.face_correct(project=project, face=shared_face, user=owner, box=BETTER_BOX)
    shared_face.refresh_from_db()
    assert shared_face.superseded_by_id is None
    stranger = strangers_project.owner
    assert leases.face_serve(project=strangers_project, user=stranger) == shared_face


def test_a_non_members_correction_is_refused_from_the_classify_page(
    client_of, owner, project, shared_face, strangers_project
):
    response = client_of(owner).post(
        reverse("projects:correct", args=[project.pk]),
        {"face": shared_face.pk, "left": 0.05, "top": 0.1, "width": 0.3, "height": 0.3},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]) == (409, "asked_elsewhere")
    assert "Draw the face as a new box" in response.json()["message"]


def test_a_face_drawn_by_a_non_member_is_not_served_in_another_project(
    owner, project, shared_face, strangers_project
):
    stranger = strangers_project.owner
    drawn = drawing.face_draw(
        project=strangers_project, image=shared_face.image, user=stranger, box=BETTER_BOX
    )
    Face.objects.filter(pk=drawn.pk).update(encoding=random_encoding(7))
    score_in(project, shared_face)
    answers.answer_record(
        project=project, face=shared_face, user=owner, verdict="no", request_id=uuid.uuid4()
    )
    assert leases.face_serve(project=project, user=owner) is None
    assert drawn.pk not in scoring.project_faces(project).face_ids.tolist()
    assert drawn.pk in scoring.project_faces(strangers_project).face_ids.tolist()
    question = selectors.question_for(project=project, face=shared_face)
    assert [view.id for view in question.faces] == [shared_face.pk]


def test_a_face_drawn_by_a_non_member_cannot_be_answered_or_approved_by_id(
    owner, project, shared_face, strangers_project
):
    drawn = drawing.face_draw(
        project=strangers_project,
        image=shared_face.image,
        user=strangers_project.owner,
        box=BETTER_BOX,
    )
    with pytest.raises(refusals.FaceNotInProject):
        answers.answer_record(
            project=project, face=drawn, user=owner, verdict="yes", request_id=uuid.uuid4()
        )
    assert selectors.faces_of_project(project=project, face_ids=[drawn.pk]) == []
    assert selectors.face_of_project(project=project, face_id=drawn.pk) is None


def test_a_face_drawn_here_is_corrected_here_and_stays_this_projects(
    owner, project, shared_face, strangers_project
):
    drawn = drawing.face_draw(project=project, image=shared_face.image, user=owner, box=BETTER_BOX)
    new = drawing.face_correct(
        project=project, face=drawn, user=owner, box=FaceBox(0.5, 0.1, 0.3, 0.3)
    )
    assert new.project == project
    assert new not in Face.objects.current().of_project(strangers_project)
    assert new in Face.objects.current().of_project(project)


def test_a_drawn_face_another_project_answered_stays_in_that_project(
    owner, project, shared_face, strangers_project
):
    """Answered there before boxes belonged to their project: that answer still counts."""
    drawn = drawing.face_draw(
        project=strangers_project,
        image=shared_face.image,
        user=strangers_project.owner,
        box=BETTER_BOX,
    )
    LabelFactory(project=project, face=drawn, source=Label.Source.HUMAN, user=owner)
    assert drawn in Face.objects.current().of_project(project)


def test_the_owner_opts_in_from_the_settings_and_the_page_says_what_is_shared(
    client_of, owner, project
):
    client = client_of(owner)
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Answers stay in this project" in page
    data = {
        "state": project.state,
        "description": "",
        "crawl_depth": project.crawl_depth,
        "distance_threshold": project.distance_threshold,
        "min_answers": project.min_answers,
        "write_face_region": "on",
        "writes_enabled": "on",
        "share_evidence": "on",
    }
    client.post(f"/projects/{project.pk}/settings/", data)
    project.refresh_from_db()
    assert project.share_evidence is True
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "Answers are shared" in page


def test_a_drawn_face_another_project_answered_is_read_and_shown_here(
    owner, project, shared_face, strangers_project
):
    drawn = drawing.face_draw(
        project=strangers_project,
        image=shared_face.image,
        user=strangers_project.owner,
        box=BETTER_BOX,
    )
    LabelFactory(project=project, face=drawn, source=Label.Source.HUMAN, user=owner)
    assert selectors.face_of_project(project=project, face_id=drawn.pk) == drawn
    question = selectors.question_for(project=project, face=shared_face)
    assert [view.id for view in question.faces] == [shared_face.pk, drawn.pk]
