"""Identical files (one SHA1) are detected once and get the same face boxes; within one
project, an answer on a face counts for the same face in every identical file: it is not
asked again, and each file's face waits in the grid with the same verdict."""

from __future__ import annotations

import uuid

import pytest

from depicts.selectors import SuggestionFilter, suggestions
from depicts.services import approval
from faces.models import Answer, Face, Image, Label
from faces.selectors import next_face
from faces.services import answers, crawl, detect, refusals, undo
from faces.services.scoring import project_rescore
from tests.factories import (
    FaceFactory,
    ImageFactory,
    MembershipFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)
from tests.pipeline.test_pipeline import client

pytestmark = pytest.mark.django_db

SHA1 = "5" * 40


def file_in(project, *, sha1: str = SHA1, title: str | None = None) -> Image:
    image = ImageFactory(sha1=sha1, **({"title": title} if title else {}))
    ProjectImageFactory(project=project, image=image)
    return image


def copy_of(face: Face, image: Image) -> Face:
    """The face as detection copies it into an identical file (``detect._copies``)."""
    return FaceFactory(
        image=image,
        index=face.index,
        left=face.left,
        top=face.top,
        width=face.width,
        height=face.height,
        encoding=face.encoding,
    )


@pytest.fixture
def twins(project):
    """Two files of the project with the same bytes, one face each, plus another photo."""
    original = FaceFactory(image=file_in(project), index=0)
    copy = copy_of(original, file_in(project))
    other = FaceFactory(image=file_in(project, sha1="6" * 40), index=0)
    return original, copy, other


def say(project, user, face: Face, verdict: str = "yes") -> None:
    answers.answer_record(
        project=project, face=face, user=user, verdict=verdict, request_id=uuid.uuid4()
    )


def human(project, face: Face) -> str | None:
    label = Label.objects.filter(project=project, face=face, source=Label.Source.HUMAN).first()
    return label.verdict if label else None


def asked(project, user) -> list[int]:
    served: list[int] = []
    while (face := next_face(project=project, user=user, exclude=served)) is not None:
        served.append(face.pk)
    return served


def test_an_answer_counts_for_the_same_face_in_the_identical_file(twins, project, owner):
    original, copy, other = twins
    say(project, owner, original, "no")
    assert (human(project, original), human(project, copy)) == ("no", "no")
    assert human(project, other) is None
    # One answer: the history holds what the reviewer said, once.
    assert Answer.objects.filter(project=project).count() == 1


def test_the_identical_face_is_not_asked_again(twins, project, owner, member):
    original, _copy, other = twins
    say(project, owner, original)
    assert asked(project, member) == [other.pk]


def test_a_face_with_another_box_in_the_identical_file_is_still_asked(twins, project, owner):
    original, copy, _other = twins
    drawn = FaceFactory(image=copy.image, index=1, left=0.6)
    say(project, owner, original)
    assert human(project, drawn) is None
    assert drawn.pk in asked(project, owner)


def test_undo_takes_the_answer_back_from_both_files(twins, project, owner):
    original, copy, _other = twins
    say(project, owner, original)
    undo.answer_undo(project=project, user=owner)
    assert (human(project, original), human(project, copy)) == (None, None)
    assert copy.pk in asked(project, owner)


def test_another_reviewer_cannot_contradict_through_the_copy(twins, project, owner, member):
    original, copy, _other = twins
    say(project, owner, original, "yes")
    with pytest.raises(refusals.AlreadyAnswered):
        say(project, member, copy, "no")
    assert (human(project, original), human(project, copy)) == ("yes", "yes")


def test_the_grid_rejecting_one_rejects_the_other(twins, project, owner):
    original, copy, _other = twins
    say(project, owner, original, "yes")
    answers.faces_reject(project=project, faces=[copy], user=owner)
    assert (human(project, original), human(project, copy)) == ("no", "no")


def test_each_identical_file_waits_in_the_grid_for_its_own_approval(twins, project, owner):
    original, copy, _other = twins
    say(project, owner, original, "yes")
    project_rescore(project_id=project.pk)
    waiting = {row.face_id for row in suggestions(project=project, filters=SuggestionFilter())}
    assert {original.pk, copy.pk} <= waiting
    edits = approval.edits_approve(project=project, faces=[original, copy], user=owner)
    assert {edit.image_id for edit in edits} == {original.image_id, copy.image_id}


def test_answers_stay_within_their_project(twins, project, owner):
    original, copy, _other = twins
    elsewhere = ProjectFactory(owner=owner)
    ProjectImageFactory(project=elsewhere, image=copy.image)
    ProjectImageFactory(project=elsewhere, image=original.image)
    say(project, owner, original)
    assert (human(elsewhere, original), human(elsewhere, copy)) == (None, None)


def test_a_file_without_sha1_shares_nothing(project, owner):
    original = FaceFactory(image=file_in(project, sha1=""), index=0)
    copy = copy_of(original, file_in(project, sha1=""))
    say(project, owner, original)
    assert human(project, copy) is None


# --- through the pipeline: a copy detected after the answer -----------------------------


@pytest.fixture
def identical_world(make_fake_commons):
    from django.conf import settings

    photo = f"{settings.FACES_DATA_DIR}/barack_obama/01.jpg"
    return make_fake_commons(
        {
            "categories": {"Copies": {"files": ["Portrait.jpg", "Portrait copy.jpg"]}},
            "files": {"Portrait.jpg": {"path": photo}, "Portrait copy.jpg": {"path": photo}},
        }
    )


def test_a_copy_detected_after_the_answer_takes_it(identical_world, owner):
    project = ProjectFactory(owner=owner, category="Copies", crawl_depth=0)
    reviewer = MembershipFactory(project=project, user=UserFactory(username="reviewer")).user
    with client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
        first, second = Image.objects.order_by("pk")
        assert first.sha1 == second.sha1
        detect.image_detect(image_id=first.pk, client=api)
        (face,) = first.faces.all()
        say(project, reviewer, face, "yes")
        outcome = detect.image_detect(image_id=second.pk, client=api)
    assert outcome.reused
    (copy,) = second.faces.all()
    assert human(project, copy) == "yes"
    assert Label.objects.get(project=project, face=copy, source="human").user == reviewer


def test_rejecting_one_withdraws_the_approved_edit_of_the_other(twins, project, owner):
    original, copy, _other = twins
    say(project, owner, original, "yes")
    edits = approval.edits_approve(project=project, faces=[original, copy], user=owner)
    answers.faces_reject(project=project, faces=[original], user=owner)
    approval.edits_reject(project=project, faces=[original], user=owner)
    for edit in edits:
        edit.refresh_from_db()
    assert [edit.state for edit in edits] == ["cancelled", "cancelled"]


def test_two_faces_with_one_box_in_one_file_are_not_twins(project, owner):
    image = file_in(project)
    first, second = FaceFactory(image=image, index=0), FaceFactory(image=image, index=1)
    say(project, owner, first)
    assert human(project, second) is None
