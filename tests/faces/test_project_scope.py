"""What one project does stays in that project: its answers reach another project only when
both opted in, and a box corrected in it never rewrites a face another project answered."""

from __future__ import annotations

import uuid

import pytest

from faces.detection import FaceBox
from faces.models import Face, Label
from faces.services import review, scoring
from tests.factories import (
    DepictsEditFactory,
    FaceFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

BETTER_BOX = FaceBox(left=0.05, top=0.1, width=0.3, height=0.3)


@pytest.fixture
def shared_face(project) -> Face:
    """A face of a photo held by the owner's project (Q76) and by a stranger's (Q1)."""
    face = FaceFactory()
    ProjectImageFactory(project=project, image=face.image)
    return face


@pytest.fixture
def strangers_project(shared_face):
    other = ProjectFactory(owner=UserFactory(username="stranger"), qid="Q1")
    ProjectImageFactory(project=other, image=shared_face.image)
    return other


def strangers_yes(other, face: Face) -> None:
    review.answer_record(
        project=other, face=face, user=other.owner, verdict="yes", request_id=uuid.uuid4()
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
    with pytest.raises(review.FaceUsedElsewhere):
        review.face_correct(project=project, face=shared_face, user=owner, box=BETTER_BOX)
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
    LabelFactory(project=strangers_project, face=shared_face, source=Label.Source.MODEL)
    review.answer_record(
        project=project, face=shared_face, user=owner, verdict="yes", request_id=uuid.uuid4()
    )
    new = review.face_correct(project=project, face=shared_face, user=owner, box=BETTER_BOX)
    shared_face.refresh_from_db()
    assert shared_face.superseded_by == new
    assert Label.objects.get(project=project, source=Label.Source.HUMAN).face == new


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
