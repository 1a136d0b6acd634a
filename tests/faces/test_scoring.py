"""The learner wired to the database: real encodings in, model labels and a summary out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from faceengine.learner.questions import FIRST_QUESTION
from faces.learner_figures import learner_summary
from faces.models import Face, Label, ProjectImage
from faces.selectors import question_for
from faces.services import rescoring, scoring
from faces.services.rescoring import RESCORE_DELAY_SECONDS
from tests.factories import (
    FaceFactory,
    ImageFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

REFERENCE = Path(settings.FACES_DATA_DIR) / "reference_encodings.npz"


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    data = np.load(REFERENCE)
    return {
        str(name): data["encoding"][i]
        for i, name in enumerate(data["image_file"])
        if data["face_index"][i] == 0
    }


def add_photo(project, encoding: np.ndarray, title: str) -> Face:
    image = ImageFactory(title=title)
    ProjectImageFactory(project=project, image=image)
    return FaceFactory(image=image, index=0, encoding=Face.pack(encoding))


@pytest.fixture
def bush_project(reference):
    """Ten photos of George W. Bush among thirty of other people."""
    project = ProjectFactory(qid="Q207", min_answers=2)
    faces = {}
    for name, encoding in reference.items():
        person = name.split("/")[0]
        if person == "george_w_bush" or (
            person in {"colin_powell", "tony_blair", "laura_bush", "donald_rumsfeld"}
        ):
            faces[name] = add_photo(project, encoding, f"File:{name}")
    return project, faces


def answer(project, face, verdict):
    LabelFactory(
        project=project, face=face, verdict=verdict, source=Label.Source.HUMAN, user=project.owner
    )


def model_labels(project) -> dict[int, Label]:
    return {
        label.face_id: label
        for label in Label.objects.filter(project=project, source=Label.Source.MODEL)
    }


def test_after_a_few_answers_the_person_is_suggested_and_others_are_not(bush_project):
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, faces["george_w_bush/02.jpg"], Label.Verdict.YES)
    answer(project, faces["colin_powell/01.jpg"], Label.Verdict.NO)
    answer(project, faces["tony_blair/01.jpg"], Label.Verdict.NO)
    summary = scoring.project_rescore(project_id=project.pk)
    labels = model_labels(project)
    suggested = {
        name for name, face in faces.items() if labels[face.pk].verdict == Label.Verdict.YES
    }
    bush = {name for name in faces if name.startswith("george_w_bush")} - {
        "george_w_bush/01.jpg",
        "george_w_bush/02.jpg",
    }
    assert len(suggested & bush) >= len(bush) - 2  # most of him
    assert not {name for name in suggested if not name.startswith("george_w_bush")}
    assert summary["suggested"] == len(suggested) and summary["answers"] == 4
    assert set(summary["histogram"]) == {"bins", "answered_yes", "answered_no", "unanswered"}


def summary_of(project):
    project.refresh_from_db()
    return learner_summary(project)


def suggested(project) -> set[int]:
    return set(
        Label.objects.filter(
            project=project, source=Label.Source.MODEL, verdict=Label.Verdict.YES
        ).values_list("face_id", flat=True)
    )


def test_no_suggestions_before_the_minimum_of_answers(bush_project):
    project, faces = bush_project
    project.min_answers = 3
    project.save()
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    assert not suggested(project)
    assert summary_of(project).precision is None


def test_no_answers_and_existing_statements_count_towards_the_minimum(bush_project):
    # The label says "answers": a no is one, and so is a statement already on Commons.
    project, faces = bush_project
    project.min_answers = 3
    project.save()
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, faces["colin_powell/01.jpg"], Label.Verdict.NO)
    scoring.project_rescore(project_id=project.pk)
    assert not suggested(project)
    LabelFactory(
        project=project,
        face=faces["george_w_bush/02.jpg"],
        verdict=Label.Verdict.YES,
        source=Label.Source.BOOTSTRAP,
    )
    scoring.project_rescore(project_id=project.pk)
    assert suggested(project)
    summary = summary_of(project)
    assert summary.suggested == len(suggested(project))
    assert 0.5 <= summary.precision <= 1.0
    # Each figure is stored with its interval, which holds it.
    low, high = summary.precision_interval
    assert 0.0 <= low <= summary.precision <= high <= 1.0
    low, high = summary.recall_interval
    assert 0.0 <= low <= summary.recall <= high <= 1.0
    # And the sums they are ratios of, which a group pools (faceengine.learner.pooled).
    assert summary.expected_right == pytest.approx(summary.precision * summary.suggested)
    assert summary.expected_found >= summary.expected_right + 1  # the yes, the statement too
    assert summary.expected_found / summary.expected_positives == pytest.approx(summary.recall)


def test_answered_faces_leave_the_review_queue_and_one_question_comes_first(bush_project):
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    labels = model_labels(project)
    assert labels[faces["george_w_bush/01.jpg"].pk].priority is None
    priorities = sorted(label.priority for label in labels.values() if label.priority is not None)
    # One question strictly first; after a yes it carries its own kind's value (a group
    # reads it to know whether this person's learner needs a question), not FIRST_QUESTION.
    assert priorities[-1] > priorities[-2]
    assert priorities[-1] < FIRST_QUESTION


def test_before_any_yes_the_first_question_is_tagged_first(bush_project):
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.NO)
    scoring.project_rescore(project_id=project.pk)
    priorities = [p.priority for p in model_labels(project).values() if p.priority is not None]
    assert max(priorities) == FIRST_QUESTION
    assert priorities.count(FIRST_QUESTION) == 1


def test_an_existing_statement_is_never_asked(bush_project):
    project, faces = bush_project
    bootstrap = faces["george_w_bush/05.jpg"]
    LabelFactory(
        project=project, face=bootstrap, verdict=Label.Verdict.YES, source=Label.Source.BOOTSTRAP
    )
    scoring.project_rescore(project_id=project.pk)
    label = Label.objects.get(project=project, source=Label.Source.MODEL, face=bootstrap)
    assert label.priority is None


def test_a_face_confirmed_as_someone_else_in_another_project_counts_against(bush_project):
    # Both projects opted in to sharing (tests/faces/test_project_scope.py: otherwise not).
    project, faces = bush_project
    project.share_evidence = True
    project.save(update_fields=["share_evidence"])
    for name in ("george_w_bush/01.jpg", "george_w_bush/02.jpg", "george_w_bush/03.jpg"):
        answer(project, faces[name], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    target = faces["george_w_bush/04.jpg"]
    before = model_labels(project)[target.pk].score
    other = ProjectFactory(qid="Q1", share_evidence=True)
    ProjectImage.objects.create(project=other, image=target.image, source="category")
    LabelFactory(
        project=other,
        face=target,
        verdict=Label.Verdict.YES,
        source=Label.Source.HUMAN,
        user=UserFactory(),
    )
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project)[target.pk].score < before


def test_rescoring_twice_gives_the_same_labels(bush_project):
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, faces["george_w_bush/02.jpg"], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    first = {k: (v.verdict, round(v.score, 6)) for k, v in model_labels(project).items()}
    scoring.project_rescore(project_id=project.pk)
    again = {k: (v.verdict, round(v.score, 6)) for k, v in model_labels(project).items()}
    assert first == again and len(first) == len(faces)


def test_a_photo_where_two_faces_could_be_the_person_is_asked_not_suggested(reference):
    project = ProjectFactory(qid="Q207", min_answers=1)
    bush = [v for k, v in reference.items() if k.startswith("george_w_bush")]
    for i, encoding in enumerate(bush[:3]):
        add_photo(project, encoding, f"File:Bush {i}.jpg")
    answer(project, Face.objects.get(image__title="File:Bush 0.jpg"), Label.Verdict.YES)
    group = ImageFactory(title="File:Two of him.jpg")
    ProjectImageFactory(project=project, image=group)
    FaceFactory(image=group, index=0, encoding=Face.pack(bush[3]))
    FaceFactory(image=group, index=1, encoding=Face.pack(bush[4]))
    scoring.project_rescore(project_id=project.pk)
    on_group = Label.objects.filter(project=project, source=Label.Source.MODEL, face__image=group)
    assert not on_group.filter(verdict=Label.Verdict.YES).exists()
    # Asked before every other open face: which of the two is it?
    top = Label.objects.filter(project=project, source=Label.Source.MODEL).order_by("-priority")
    assert top.first().face.image == group
    # ... and the classify page asks it as "which face is it?"
    assert question_for(project=project, face=top.first().face).which
    single = Face.objects.get(image__title="File:Bush 1.jpg")
    assert not question_for(project=project, face=single).which


def test_one_face_per_image_is_suggested(reference):
    project = ProjectFactory(qid="Q207", min_answers=1)
    bush = [v for k, v in reference.items() if k.startswith("george_w_bush")]
    stranger = next(v for k, v in reference.items() if not k.startswith("george_w_bush"))
    for i, encoding in enumerate(bush[:3]):
        add_photo(project, encoding, f"File:Bush {i}.jpg")
    answer(project, Face.objects.get(image__title="File:Bush 0.jpg"), Label.Verdict.YES)
    group = ImageFactory(title="File:With a stranger.jpg")
    ProjectImageFactory(project=project, image=group)
    FaceFactory(image=group, index=0, encoding=Face.pack(stranger))
    FaceFactory(image=group, index=1, encoding=Face.pack(bush[4]))
    scoring.project_rescore(project_id=project.pk)
    suggested = Label.objects.filter(
        project=project, source=Label.Source.MODEL, verdict=Label.Verdict.YES, face__image=group
    )
    assert [label.face.index for label in suggested] == [1]


def test_request_rescore_queues_one_task_per_burst(
    project, django_capture_on_commit_callbacks, queued
):
    with django_capture_on_commit_callbacks(execute=True):
        rescoring.request_rescore(project_id=project.pk)
        rescoring.request_rescore(project_id=project.pk)
    assert [(q.task, q.countdown) for q in queued] == [
        ("faces.learn.project", RESCORE_DELAY_SECONDS)
    ]
    project.refresh_from_db()
    assert project.rescore_pending


def test_a_rescore_asked_in_a_transaction_waits_for_its_commit(
    project, django_capture_on_commit_callbacks
):
    """The flag's UPDATE locks the project's row: never inside the asker's transaction."""
    with django_capture_on_commit_callbacks() as callbacks:
        rescoring.request_rescore(project_id=project.pk)
        project.refresh_from_db()
        assert not project.rescore_pending
    for callback in callbacks:
        callback()
    project.refresh_from_db()
    assert project.rescore_pending


def test_a_refused_rescore_task_is_queued_again_by_the_sweep(
    project, django_capture_on_commit_callbacks, queued
):
    from faces.tasks import learn_pending

    with django_capture_on_commit_callbacks(execute=True):
        rescoring.request_rescore(project_id=project.pk)
    assert len(queued) == 1
    del queued[:]  # the message is lost: no worker ever runs it
    assert scoring.projects_awaiting_rescore() == [project.pk]
    with django_capture_on_commit_callbacks(execute=True):
        learn_pending()
    assert [(q.task, q.args) for q in queued] == [("faces.learn.project", (project.pk,))]


def test_answers_given_during_a_run_leave_the_review_queue(bush_project):
    project, faces = bush_project
    face = faces["george_w_bush/03.jpg"]
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project)[face.pk].priority is not None
    answer(project, face, Label.Verdict.NO)
    scoring.project_rescore(project_id=project.pk)
    assert model_labels(project)[face.pk].priority is None


def test_a_rescoring_rewrites_only_the_labels_that_changed(bush_project):
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    written = dict(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "created_at"
        )
    )
    scoring.project_rescore(project_id=project.pk)
    again = dict(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "created_at"
        )
    )
    assert again == written  # nothing changed, nothing rewritten
    answer(project, faces["george_w_bush/02.jpg"], Label.Verdict.YES)
    scoring.project_rescore(project_id=project.pk)
    after = dict(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "created_at"
        )
    )
    assert after != written and set(after) == set(written)


@pytest.mark.parametrize("bad", [np.inf, np.nan, 1e30])
def test_a_stored_encoding_not_finite_or_out_of_range_is_skipped_and_the_rest_scored(
    bush_project, caplog, bad
):
    # A row written before the door checked encodings (or by hand): one such face must never
    # stop the project's learner.
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, faces["colin_powell/01.jpg"], Label.Verdict.NO)
    broken = np.zeros(128, dtype=np.float32)
    broken[7] = bad
    image = ImageFactory(title="File:Broken.jpg")
    ProjectImageFactory(project=project, image=image)
    bad_face = FaceFactory(image=image, index=0, encoding=broken.tobytes())

    summary = scoring.project_rescore(project_id=project.pk)
    assert scoring.project_rescore(project_id=project.pk) is not None  # and again

    labels = model_labels(project)
    assert bad_face.pk not in labels
    assert set(labels) == {face.pk for face in faces.values()}
    assert all(np.isfinite(label.score) for label in labels.values())
    assert summary is not None
    assert f"face {bad_face.pk}" in caplog.text
    assert bad_face.pk not in scoring.project_faces(project).face_ids.tolist()


def test_a_detected_face_without_an_encoding_is_left_out_and_its_photo_still_counts(
    bush_project,
):
    # A lower-ranked detector's face whose box the encoder could not encode (too thin) is
    # stored without an encoding: the learner leaves it out (never asked nor suggested) and
    # the other face of its photo is scored as any other, with no rival to contest it.
    project, faces = bush_project
    answer(project, faces["george_w_bush/01.jpg"], Label.Verdict.YES)
    answer(project, faces["george_w_bush/02.jpg"], Label.Verdict.YES)
    answer(project, faces["colin_powell/01.jpg"], Label.Verdict.NO)
    beside = faces["george_w_bush/03.jpg"]
    thin = FaceFactory(image=beside.image, index=1, encoding=None, found_by="http")

    scoring.project_rescore(project_id=project.pk)

    labels = model_labels(project)
    assert thin.pk not in labels
    assert labels[beside.pk].verdict == Label.Verdict.YES  # suggested, not contested
    assert thin.pk not in scoring.project_faces(project).face_ids.tolist()
