"""The learner's verdict on every face of a project, stored as model labels.

The numerical method lives in ``faces.learning`` (pure numpy); this module reads the
project's faces and answers from the database, runs it, and writes the results back as
``Label(source=MODEL)`` rows: ``score`` is the calibrated probability that the face is the
person, ``verdict`` is yes for a suggestion, ``priority`` orders the review questions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from faces import learning
from faces.learning_summary import LearnerSummary, ScoreHistogram
from faces.models import Face, Label, ProjectImage
from projects.models import Project
from projects.services import request_rescore as request_rescore  # the services' own door

# P180 statements naming only other people make a face likely somebody else, not surely.
OTHERS_DEPICTED_WEIGHT = 0.3
HISTOGRAM_BINS = 20
WRITE_BATCH = 2000


def projects_awaiting_rescore() -> list[int]:
    """Projects whose queued re-scoring never ran (a broker lost the message)."""
    return list(Project.objects.filter(rescore_pending=True).values_list("pk", flat=True))


@dataclass(frozen=True)
class ProjectFaces:
    """The project's faces in a fixed order, with everything the learner needs."""

    face_ids: np.ndarray
    evidence: learning.Evidence


def project_rescore(*, project_id: int) -> dict | None:
    """Score every face of the project and store verdicts, scores and review priorities.

    1. Read the current, encoded faces and every answer (human, bootstrap, other projects).
    2. Score them with the learner; suggest at most one face per image, within the
       project's distance threshold, and only once the project has its minimum of answers
       (yes and no answers, and the person's existing depicts statements).
    3. Upsert one model label per face and the project's learning summary.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    data = project_faces(project)
    if data.face_ids.size == 0:
        return _store_summary(project, _empty_summary(project))
    evidence = data.evidence
    scores = learning.score_faces(evidence)
    suggestions = learning.suggest(evidence, scores, max_distance=project.distance_threshold)
    if learning.evidence_count(evidence) < project.min_answers:
        suggestions = learning.suggest_nothing(evidence, scores)
    priority = learning.review_priority(evidence, scores)
    _write_labels(project, data.face_ids, scores, suggestions.faces, priority)
    summary = _summary(project, evidence, scores, suggestions)
    return _store_summary(project, summary)


def project_faces(project: Project) -> ProjectFaces:
    rows = list(
        Face.objects.current()
        .of_project(project)
        .filter(encoding__isnull=False)
        .order_by("pk")
        .values_list("pk", "image_id", "encoding")
    )
    if not rows:
        empty = learning.Evidence(
            encodings=np.zeros((0, 128), np.float32),
            image_index=np.zeros(0, np.int64),
            verdicts=np.zeros(0, np.int8),
        )
        return ProjectFaces(face_ids=np.zeros(0, np.int64), evidence=empty)
    face_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    _, image_index = np.unique(
        np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)),
        return_inverse=True,
    )
    encodings = np.frombuffer(b"".join(bytes(row[2]) for row in rows), dtype=np.float32)
    position = {int(face_id): i for i, face_id in enumerate(face_ids)}
    evidence = learning.Evidence(
        encodings=encodings.reshape(len(rows), 128),
        image_index=image_index,
        verdicts=_verdicts(project, position),
        bootstrap=_mask(position, _bootstrap_yes(project)),
        against=_against(project, position),
        hint=_hint(project, position),
    )
    return ProjectFaces(face_ids=face_ids, evidence=evidence)


def _verdicts(project: Project, position: dict[int, int]) -> np.ndarray:
    verdicts = np.zeros(len(position), dtype=np.int8)
    codes: dict[str, learning.Verdict] = {
        Label.Verdict.YES: learning.Verdict.YES,
        Label.Verdict.NO: learning.Verdict.NO,
        Label.Verdict.SKIP: learning.Verdict.SKIP,
    }
    answers = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    for face_id, verdict in answers.values_list("face_id", "verdict"):
        if face_id in position:
            verdicts[position[face_id]] = codes[verdict]
    # A statement removed on Commons by someone else is a "no" (recorded as bootstrap no).
    removed = Label.objects.filter(
        project=project, source=Label.Source.BOOTSTRAP, verdict=Label.Verdict.NO
    )
    for face_id in removed.values_list("face_id", flat=True):
        if face_id in position and verdicts[position[face_id]] == learning.Verdict.NONE:
            verdicts[position[face_id]] = learning.Verdict.NO
    return verdicts


def _bootstrap_yes(project: Project) -> list[int]:
    return list(
        Label.objects.filter(
            project=project, source=Label.Source.BOOTSTRAP, verdict=Label.Verdict.YES
        ).values_list("face_id", flat=True)
    )


def _mask(position: dict[int, int], face_ids: list[int]) -> np.ndarray:
    mask = np.zeros(len(position), dtype=bool)
    mask[[position[f] for f in face_ids if f in position]] = True
    return mask


def _against(project: Project, position: dict[int, int]) -> np.ndarray:
    """Evidence that a face is somebody else: confirmed as another person in another
    project (1.0), or on a file whose P180 statements name other people only (weaker)."""
    weights = np.zeros(len(position), dtype=np.float32)
    crowded_images = set(
        ProjectImage.objects.filter(project=project, depicts_person=False)
        .exclude(depicts_others=[])
        .values_list("image_id", flat=True)
    )
    if crowded_images:
        crowded = Face.objects.filter(image_id__in=crowded_images).values_list("pk", flat=True)
        for face_id in crowded:
            if face_id in position:
                weights[position[face_id]] = OTHERS_DEPICTED_WEIGHT
    elsewhere = (
        Label.objects.filter(source=Label.Source.HUMAN, verdict=Label.Verdict.YES)
        .filter(face__image__project_links__project=project)
        .exclude(project__qid=project.qid)
        .values_list("face_id", flat=True)
    )
    for face_id in elsewhere:
        if face_id in position:
            weights[position[face_id]] = 1.0
    return weights


def _hint(project: Project, position: dict[int, int]) -> int | None:
    """The largest face on the person's Wikidata image (P18), if that file is in the project."""
    if not project.person_image:
        return None
    title = "File:" + project.person_image.removeprefix("File:")
    faces = Face.objects.current().of_project(project).filter(image__title=title)
    best = max(faces, key=lambda face: face.width * face.height, default=None)
    return position.get(best.pk) if best is not None else None


def _write_labels(
    project: Project,
    face_ids: np.ndarray,
    scores: learning.Scores,
    suggested: np.ndarray,
    priority: np.ndarray,
) -> None:
    """Store one model label per face, writing only the rows whose values changed.

    Most answers move few faces' scores noticeably, and rewriting every row of a large
    project (100,000 faces: ~7 s on MariaDB) is what a re-scoring would otherwise cost.
    Scores are kept to 4 decimals and priorities to 3, which is all a page shows or sorts by.
    """
    wanted = _label_values(face_ids, scores, suggested, priority)
    stored = {
        face_id: (verdict, score, rank)
        for face_id, verdict, score, rank in Label.objects.filter(
            project=project, source=Label.Source.MODEL
        ).values_list("face_id", "verdict", "score", "priority")
    }
    now = timezone.now()
    changed = [
        Label(
            project=project,
            face_id=face_id,
            source=Label.Source.MODEL,
            verdict=verdict,
            score=score,
            priority=rank,
            created_at=now,
        )
        for face_id, (verdict, score, rank) in wanted.items()
        if stored.get(face_id) != (verdict, score, rank)
    ]
    gone = [face_id for face_id in stored if face_id not in wanted]
    with transaction.atomic():
        Label.objects.upsert(changed, batch_size=WRITE_BATCH)
        # A face answered while this run was computing is no longer a question.
        answered = Label.objects.filter(project=project, source=Label.Source.HUMAN)
        Label.objects.filter(
            project=project, source=Label.Source.MODEL, face_id__in=answered.values("face_id")
        ).exclude(priority=None).update(priority=None)
        # Faces gone since the last run (superseded boxes) keep no stale model label.
        for start in range(0, len(gone), WRITE_BATCH):
            Label.objects.filter(
                project=project,
                source=Label.Source.MODEL,
                face_id__in=gone[start : start + WRITE_BATCH],
            ).delete()


def _label_values(
    face_ids: np.ndarray, scores: learning.Scores, suggested: np.ndarray, priority: np.ndarray
) -> dict[int, tuple[str, float, float | None]]:
    is_suggested = np.zeros(face_ids.size, dtype=bool)
    is_suggested[suggested] = True
    probability = np.round(scores.probability.astype(np.float64), 4).tolist()
    ranks = np.round(priority, 3).tolist()
    return {
        int(face_id): (
            Label.Verdict.YES if is_suggested[i] else Label.Verdict.NO,
            probability[i],
            None if math.isnan(ranks[i]) else ranks[i],
        )
        for i, face_id in enumerate(face_ids.tolist())
    }


def _summary(project, evidence, scores, suggestions) -> LearnerSummary:
    estimate = suggestions.estimate
    verdicts = evidence.verdicts
    probability = scores.probability
    bins = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)

    def histogram(mask: np.ndarray) -> tuple[int, ...]:
        return tuple(np.histogram(probability[mask], bins=bins)[0].astype(int).tolist())

    return LearnerSummary(
        updated_at=timezone.now(),
        faces=int(evidence.size),
        answers=estimate.answers,
        confirmed=int((verdicts == learning.Verdict.YES).sum()),
        suggested=len(suggestions),
        threshold=suggestions.min_probability,
        precision=estimate.precision,
        recall=estimate.recall,
        held_out_precision=estimate.held_out_precision,
        held_out_recall=estimate.held_out_recall,
        histogram=ScoreHistogram(
            bins=tuple(bins.round(3).tolist()),
            answered_yes=histogram(verdicts == learning.Verdict.YES),
            answered_no=histogram(verdicts == learning.Verdict.NO),
            unanswered=histogram(scores.open),
        ),
    )


def _empty_summary(project: Project) -> LearnerSummary:
    return LearnerSummary(updated_at=timezone.now())


def _store_summary(project: Project, summary: LearnerSummary) -> dict:
    stored = summary.to_json()
    Project.objects.filter(pk=project.pk).update(learning=stored)
    return stored
