"""A skip is the reviewer's own "not now"; a grid approval is a yes like any other."""

from __future__ import annotations

import importlib
import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from faceengine.learner.evidence import Verdict
from faces import selectors
from faces.models import Answer, Face, Label, ReviewLease
from faces.services import answers, leases, refusals, scoring, undo
from tests.factories import AnswerFactory, FaceFactory, LabelFactory
from tests.ui.conftest import answer_body, photos_of, score

pytestmark = pytest.mark.django_db


@pytest.fixture
def faces(project) -> list[Face]:
    return photos_of(project, 3)


def say(project, face, user, verdict, request_id=None) -> answers.AnswerOutcome:
    return answers.answer_record(
        project=project,
        face=face,
        user=user,
        verdict=verdict,
        request_id=request_id or uuid.uuid4(),
    )


def human_labels(project) -> dict[int, tuple[str, int]]:
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    return {
        face: (verdict, user)
        for face, verdict, user in labels.values_list("face_id", "verdict", "user_id")
    }


def learner_verdicts(project) -> list[int]:
    return [int(v) for v in scoring.project_faces(project).evidence.verdicts]


def rescore_requested(project, callbacks) -> bool:
    # The flag, set when the answer commits (the callbacks, run here), not the queue.
    for callback in callbacks:
        callback()
    project.refresh_from_db()
    return project.rescore_pending


# --- a skip is stored as the reviewer's answer, and as nothing else ---------------------


def test_a_skip_is_an_answer_and_sets_no_label(owner, project, faces):
    outcome = say(project, faces[0], owner, "skip")
    assert outcome.created
    assert list(Answer.objects.values_list("face_id", "verdict")) == [(faces[0].pk, "skip")]
    assert human_labels(project) == {}


def test_the_learner_never_hears_of_a_skip(
    owner, project, faces, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        say(project, faces[0], owner, "skip")
    assert learner_verdicts(project) == [Verdict.NONE] * 3
    assert not rescore_requested(project, callbacks)


def test_a_skip_keeps_the_face_in_the_review_order_and_frees_it(owner, member, project, faces):
    score(project, faces, [0.5, 0.3, 0.1])
    assert leases.face_serve(project=project, user=owner) == faces[0]
    say(project, faces[0], owner, "skip")
    model = Label.objects.get(face=faces[0], source=Label.Source.MODEL)
    assert model.priority is not None
    assert not ReviewLease.objects.filter(face=faces[0]).exists()
    assert leases.face_serve(project=project, user=member) == faces[0]


def test_a_skip_sent_twice_is_stored_once(owner, project, faces):
    request_id = uuid.uuid4()
    say(project, faces[0], owner, "skip", request_id)
    again = say(project, faces[0], owner, "skip", request_id)
    assert again.created is False
    assert Answer.objects.count() == 1


# --- who is asked about a skipped face, and when ----------------------------------------


def test_a_skipped_face_is_not_asked_again_of_the_reviewer(owner, project, faces):
    score(project, faces, [0.5, 0.3, 0.1])
    say(project, faces[0], owner, "skip")
    assert leases.face_serve(project=project, user=owner) == faces[1]


def test_a_skipped_face_is_still_asked_of_other_reviewers(owner, member, project, faces):
    score(project, faces, [0.5, 0.3, 0.1])
    say(project, faces[0], owner, "skip")
    assert selectors.next_face(project=project, user=member) == faces[0]


def test_a_skipped_face_is_asked_again_after_the_skip_period(owner, project, faces):
    score(project, faces, [0.5, 0.3, 0.1])
    say(project, faces[0], owner, "skip")
    long_ago = timezone.now() - timedelta(seconds=selectors.SKIP_SECONDS + 1)
    Answer.objects.update(created_at=long_ago)
    assert selectors.next_face(project=project, user=owner) == faces[0]


def test_a_skip_hides_the_face_before_the_learner_runs(owner, project, faces):
    LabelFactory(project=project, face=faces[2], source=Label.Source.BOOTSTRAP, verdict="yes")
    say(project, faces[2], owner, "skip")  # a bootstrap face, asked first
    assert selectors.next_face(project=project, user=owner) == faces[0]
    say(project, faces[0], owner, "skip")  # then faces in the order they were found
    assert selectors.next_face(project=project, user=owner) == faces[1]


def test_a_face_i_hold_is_not_served_again_once_skipped(owner, project, faces):
    held = leases.face_serve(project=project, user=owner)  # leased to me
    AnswerFactory(project=project, face=held, user=owner, verdict="skip")
    assert selectors.next_face(project=project, user=owner) != held


def test_many_skipped_top_faces_still_leave_the_priority_order(owner, project):
    """Skips are common among the top faces: those nearest the threshold are the hard ones."""
    faces = photos_of(project, 40)
    score(project, faces, [0.1 + i / 100 for i in range(40)])  # the last ones come first
    for face in faces[5:]:
        say(project, face, owner, "skip")
    assert selectors.next_face(project=project, user=owner) == faces[4]


# --- a skip never overwrites an answer ----------------------------------------------------


def test_a_skip_on_a_face_someone_answered_is_refused(owner, member, project, faces):
    say(project, faces[0], member, "no")
    with pytest.raises(refusals.AlreadyAnswered) as refused:
        say(project, faces[0], owner, "skip")
    assert "member" in str(refused.value)
    assert human_labels(project) == {faces[0].pk: ("no", member.pk)}
    assert not Answer.objects.filter(user=owner).exists()


def test_a_skip_leaves_my_own_answer_as_it_is(owner, project, faces):
    say(project, faces[0], owner, "yes")
    with pytest.raises(refusals.AnswerStands):
        say(project, faces[0], owner, "skip")
    assert human_labels(project) == {faces[0].pk: ("yes", owner.pk)}
    assert list(Answer.objects.values_list("verdict", flat=True)) == ["yes"]


def test_a_refused_skip_moves_the_page_on(client_of, owner, project, faces):
    say(project, faces[0], owner, "yes")
    response = client_of(owner).post(
        reverse("projects:answer", args=[project.pk]),
        answer_body(faces[0], "skip"),
        content_type="application/json",
    )
    data = response.json()
    assert (response.status_code, data["error"]) == (409, "already_answered")
    assert "You already answered" in data["message"]
    assert data["next"]["face"]["id"] == faces[1].pk


# --- undo --------------------------------------------------------------------------------


def test_undoing_a_skip_makes_the_face_askable_at_once(
    owner, project, faces, django_capture_on_commit_callbacks
):
    score(project, faces, [0.5, 0.3, 0.1])
    with django_capture_on_commit_callbacks() as callbacks:
        say(project, faces[0], owner, "skip")
        outcome = undo.answer_undo(project=project, user=owner)
    assert outcome is not None and outcome.faces == [faces[0]]
    assert selectors.next_face(project=project, user=owner) == faces[0]
    assert not rescore_requested(project, callbacks)


def test_undoing_my_skip_leaves_another_reviewers_answer(owner, member, project, faces):
    say(project, faces[0], owner, "skip")
    say(project, faces[0], member, "yes")
    undo.answer_undo(project=project, user=owner)
    assert human_labels(project) == {faces[0].pk: ("yes", member.pk)}


def test_an_undone_answer_falls_back_past_skips_to_no_answer(owner, member, project, faces):
    """The label follows the latest yes or no still standing; a skip is neither."""
    say(project, faces[0], owner, "skip")
    say(project, faces[0], member, "yes")
    undo.answer_undo(project=project, user=member)
    assert human_labels(project) == {}
    assert selectors.next_face(project=project, user=member) == faces[0]


# --- the migration that takes the old skip labels away ---------------------------------


def remove_skip_labels() -> None:
    migration = importlib.import_module("faces.migrations.0004_skip_labels_removed")
    migration.forwards(apps, None)


def test_old_skip_labels_go_and_their_answers_stay(owner, project, faces):
    AnswerFactory(project=project, face=faces[0], user=owner, verdict="skip")
    LabelFactory(project=project, face=faces[0], user=owner, verdict="skip")
    LabelFactory(project=project, face=faces[1], user=owner, verdict="no")
    remove_skip_labels()
    assert human_labels(project) == {faces[1].pk: ("no", owner.pk)}
    assert Answer.objects.get().verdict == "skip"


def test_an_old_skip_over_an_answer_gives_that_answer_back(owner, project, faces):
    earlier = timezone.now() - timedelta(minutes=5)
    AnswerFactory(project=project, face=faces[0], user=owner, verdict="yes", created_at=earlier)
    AnswerFactory(project=project, face=faces[0], user=owner, verdict="skip")
    LabelFactory(project=project, face=faces[0], user=owner, verdict="skip")
    AnswerFactory(
        project=project, face=faces[1], user=owner, verdict="no", undone_at=timezone.now()
    )
    AnswerFactory(project=project, face=faces[1], user=owner, verdict="skip")
    LabelFactory(project=project, face=faces[1], user=owner, verdict="skip")
    remove_skip_labels()
    assert human_labels(project) == {faces[0].pk: ("yes", owner.pk)}
    assert Label.objects.get(face=faces[0], source=Label.Source.HUMAN).created_at == earlier


# --- approving in the grid is a yes -----------------------------------------------------


def confirm(project, faces, user) -> int:
    return answers.faces_confirm(project=project, faces=faces, user=user)


def test_confirmed_faces_are_yes_for_the_learner(
    owner, project, faces, django_capture_on_commit_callbacks
):
    score(project, faces, [0.9, 0.8, 0.2])
    with django_capture_on_commit_callbacks() as callbacks:
        assert confirm(project, faces[:2], owner) == 2
    assert human_labels(project) == {faces[0].pk: ("yes", owner.pk), faces[1].pk: ("yes", owner.pk)}
    assert learner_verdicts(project)[:2] == [Verdict.YES] * 2
    assert set(Answer.objects.values_list("verdict", flat=True)) == {"yes"}
    assert rescore_requested(project, callbacks)


def test_confirmed_faces_leave_the_review_order(owner, project, faces):
    score(project, faces, [0.5, 0.45, 0.1])
    confirm(project, faces[:1], owner)
    model = Label.objects.get(face=faces[0], source=Label.Source.MODEL)
    assert model.priority is None
    assert selectors.next_face(project=project, user=owner) == faces[1]


def test_the_approver_has_the_last_word_and_undo_gives_it_back(owner, member, project, faces):
    say(project, faces[0], member, "no")
    confirm(project, faces[:1], owner)
    assert human_labels(project) == {faces[0].pk: ("yes", owner.pk)}
    undo.answer_undo(project=project, user=owner)
    assert human_labels(project) == {faces[0].pk: ("no", member.pk)}


def test_confirmations_are_one_step_of_the_history(owner, project, faces):
    confirm(project, faces, owner)
    outcome = undo.answer_undo(project=project, user=owner)
    assert outcome is not None and sorted(outcome.faces, key=lambda f: f.pk) == faces
    assert human_labels(project) == {}


def test_one_face_per_image_is_confirmed(owner, project, faces):
    second = FaceFactory(image=faces[0].image, index=1)
    assert confirm(project, [faces[0], second], owner) == 1
    assert human_labels(project) == {second.pk: ("yes", owner.pk)}


def test_other_faces_of_the_image_keep_their_labels(owner, member, project, faces):
    second = FaceFactory(image=faces[0].image, index=1)
    say(project, faces[0], member, "no")
    confirm(project, [second], owner)
    assert human_labels(project) == {
        faces[0].pk: ("no", member.pk),
        second.pk: ("yes", owner.pk),
    }


def test_a_paused_project_confirms_nothing(owner, project, faces):
    project.pause()
    with pytest.raises(refusals.ProjectNotAcceptingAnswers):
        confirm(project, faces, owner)
    assert not Label.objects.exists()
    assert not Answer.objects.exists()
