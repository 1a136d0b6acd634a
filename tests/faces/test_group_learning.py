"""Each person's learner in a group of people learns from the others' answers: a face said to
be another person of the group counts against, with no opt-in to sharing (real encodings)."""

from __future__ import annotations

import uuid

import pytest

from faces.models import Label, ProjectImage
from faces.services import answers, scoring
from projects.models import GroupPerson, ProjectGroup
from tests.faces.test_scoring import answer, bush_project, model_labels, reference  # noqa: F401
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


def another_person_s_yes(project, target):
    """A second person's project over the same photos, whose reviewer says the face is them."""
    other = ProjectFactory(owner=project.owner, qid="Q1")
    ProjectImage.objects.bulk_create(
        ProjectImage(project=other, image=link.image, source="category")
        for link in project.project_images.all()
    )
    answers.answer_record(
        project=other, face=target, user=project.owner, verdict="yes", request_id=uuid.uuid4()
    )
    return other


def group_of(*projects) -> ProjectGroup:
    group = ProjectGroup.objects.create(owner=projects[0].owner, name="Two people")
    for position, project in enumerate(projects):
        GroupPerson.objects.create(group=group, project=project, position=position)
    return group


def bush_learned(bush_project):  # noqa: F811
    project, faces = bush_project
    assert not project.share_evidence
    for name in ("george_w_bush/01.jpg", "george_w_bush/02.jpg", "george_w_bush/03.jpg"):
        answer(project, faces[name], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    return project, faces["george_w_bush/04.jpg"]


def test_another_person_s_yes_in_the_group_counts_against(bush_project):  # noqa: F811
    project, target = bush_learned(bush_project)
    before = model_labels(project)[target.pk].score
    other = another_person_s_yes(project, target)
    group_of(project, other)
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project)[target.pk].score < before


def test_outside_a_group_and_without_sharing_it_does_not(bush_project):  # noqa: F811
    project, target = bush_learned(bush_project)
    before = model_labels(project)[target.pk].score
    another_person_s_yes(project, target)
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project)[target.pk].score == pytest.approx(before)
