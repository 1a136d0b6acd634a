"""The learner's verdict on every face of a project, stored as model labels.

The numerical method lives in ``faceengine.learner`` (pure numpy); this module reads the
project's faces and answers from the database, runs it, and writes the results back as
``Label(source=MODEL)`` rows: ``score`` is the calibrated probability that the face is the
person, ``verdict`` is yes for a suggestion, ``priority`` orders the review questions.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from faceengine.learner.audit import StatementAudit, audited_scores
from faceengine.learner.distances import usable_encodings
from faceengine.learner.evidence import Evidence, Verdict, evidence_count
from faceengine.learner.questions import review_priority
from faceengine.learner.scores import Scores
from faceengine.learner.suggestions import Suggestions, suggest, suggest_nothing
from faces.learning_summary import LearnerSummary, ScoreHistogram
from faces.models import Face, Label, ProjectImage
from faces.services import learner_memory
from projects.models import GroupPerson, Notification, Project
from projects.notifications import notify

logger = logging.getLogger(__name__)

# P180 statements naming only other people make a face likely somebody else, not surely.
OTHERS_DEPICTED_WEIGHT = 0.3
HISTOGRAM_BINS = 20
# Rows per statement of the learner's writes: each holds its rows' locks while it runs.
WRITE_BATCH = 500
# Rows per UPDATE of labels that exist: it locks only its rows, and each statement commits
# (a flush to disk), so after an answer the few thousand rows that moved take a few.
UPDATE_BATCH = 2000
# Model labels that keep a review priority: the faces asked soonest (see _write_labels).
PRIORITY_KEPT = 500
# A stored score is rewritten when the learner's moves it by more than this.
SCORE_TOLERANCE = 0.01


def projects_awaiting_rescore() -> list[int]:
    """Projects whose queued re-scoring never ran (a broker lost the message)."""
    return list(Project.objects.filter(rescore_pending=True).values_list("pk", flat=True))


@dataclass(frozen=True)
class ProjectFaces:
    """The project's faces in a fixed order, with everything the learner needs."""

    face_ids: np.ndarray
    image_ids: np.ndarray
    evidence: Evidence
    depicted_images: np.ndarray  # the project's photos that depict the person on Commons


def project_rescore(*, project_id: int) -> dict | None:
    """Score every face of the project and store verdicts, scores and review priorities.

    1. Read the current, encoded faces and every answer (human, bootstrap, other projects).
    2. Question the existing statements against the faces people confirmed; a doubted one's
       bootstrap yes stops counting (``faceengine.learner.audit``). Score the faces with
       the learner; suggest at most one face per image, within the
       project's distance threshold, and only once the project has its minimum of answers
       (yes and no answers, and the person's existing depicts statements).
    3. Upsert one model label per face, each statement's audit and the project's learning
       summary.
    """
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return None
    data = project_faces(project)
    if data.face_ids.size == 0:
        return _store_summary(project, _empty_summary(project))
    audited = audited_scores(data.evidence)
    evidence, scores = audited.evidence, audited.scores
    suggestions = suggest(evidence, scores, max_distance=project.distance_threshold)
    if evidence_count(evidence) < project.min_answers:
        suggestions = suggest_nothing(evidence, scores)
    priority = review_priority(evidence, scores, max_distance=project.distance_threshold)
    written = _write_labels(project, data.face_ids, scores, suggestions, priority)
    _store_audit(project, data, audited.audit)
    stored = _store_summary(project, _summary(project, evidence, scores, suggestions))
    learner_memory.remember_written(project.pk, written, stored)
    _tell_if_suggesting(project, data, suggested=suggestions.faces)
    return stored


def _tell_if_suggesting(project: Project, data: ProjectFaces, *, suggested: np.ndarray) -> None:
    """Suggestions appear where the learner's last run had none: the members are told, once
    per number of answers (the event), so a run done twice or a re-scoring that changes
    nothing tells nobody again. ``project`` still holds the summary read before this run.

    The count is ``waiting_suggestions``'s, taken from this run's suggestions (open faces,
    so unanswered) rather than counted again over the labels just written: that count read
    every suggested label, its face and its photo (a third of a second at 100,000 faces).
    Photos that depict the person were read with the faces (see ``_flagged_photos``)."""
    before = LearnerSummary.from_json(project.learning)
    if not suggested.size or (before is not None and before.suggested):
        return
    suggested_images = data.image_ids[suggested]
    waiting = int(np.isin(suggested_images, data.depicted_images, invert=True).sum())
    if waiting:
        notify(
            project=project,
            kind=Notification.Kind.SUGGESTIONS_READY,
            event=f"suggestions:{evidence_count(data.evidence)}",
            count=waiting,
        )


def _store_audit(project: Project, data: ProjectFaces, audit: StatementAudit) -> None:
    """Each statement's audit on its file's link (``ProjectImage.statement_score``): the
    probability for a checked statement, empty for the others; only the rows that moved."""
    wanted: dict[int, float | None] = {}
    for image_id, probability, checked in zip(
        data.image_ids.tolist(), audit.probability.tolist(), audit.checked.tolist(), strict=True
    ):
        if checked:
            wanted[image_id] = round(float(probability), 3)
    links = ProjectImage.objects.filter(project=project).filter(
        Q(depicts_person=True) | Q(statement_score__isnull=False)
    )
    moved = []
    for link in links.only("pk", "image_id", "statement_score"):
        score = wanted.get(link.image_id)
        if link.statement_score != score:
            link.statement_score = score
            moved.append(link)
    ProjectImage.objects.bulk_update(moved, ["statement_score"], batch_size=WRITE_BATCH)


def waiting_suggestions(project: Project) -> int:
    """The learner's suggestions nobody answered, on files that do not depict the person on
    Commons yet: what the suggestion grid shows, edits aside (those are depicts' own)."""
    answered = Label.objects.filter(
        project=project, source=Label.Source.HUMAN, face=OuterRef("face")
    )
    depicted = ProjectImage.objects.filter(
        project=project, image=OuterRef("face__image"), depicts_person=True
    )
    return (
        Label.objects.filter(project=project, source=Label.Source.MODEL, verdict=Label.Verdict.YES)
        .filter(face__superseded_by__isnull=True)
        .exclude(Exists(answered))
        .exclude(Exists(depicted))
        .count()
    )


def project_faces(project: Project) -> ProjectFaces:
    """The project's current, encoded faces (remembered by this process while unchanged,
    see ``learner_memory``) with every answer and hint, read fresh."""
    key = learner_memory.faces_key(project)
    known = learner_memory.recall_faces(project, key) or _faces_read(project, key)
    none = np.zeros(0, np.int64)
    if known.face_ids.size == 0:
        empty = Evidence(
            encodings=np.zeros((0, 128), np.float32),
            image_index=none,
            verdicts=np.zeros(0, np.int8),
        )
        return ProjectFaces(face_ids=none, image_ids=none, evidence=empty, depicted_images=none)
    crowded, depicted = _flagged_photos(project)
    evidence = Evidence(
        encodings=known.encodings,
        image_index=known.image_index,
        verdicts=_verdicts(project, known),
        bootstrap=_mask(known, _bootstrap_yes(project)),
        against=_against(project, known, crowded),
        hint=_hint(project, known),
    )
    return ProjectFaces(
        face_ids=known.face_ids,
        image_ids=known.image_ids,
        evidence=evidence,
        depicted_images=depicted,
    )


def _flagged_photos(project: Project) -> tuple[np.ndarray, np.ndarray]:
    """The project's photos whose P180 statements name only other people (crowded), and
    those that name the person (depicted), in one pass over the project's photos."""
    rows = (
        ProjectImage.objects.filter(project=project)
        .filter(Q(depicts_person=True) | ~Q(depicts_others=[]))
        .values_list("image_id", "depicts_person")
    )
    image_ids, depicts = np.array(list(rows), dtype=np.int64).reshape(-1, 2).T
    return image_ids[depicts == 0], image_ids[depicts == 1]


def _faces_read(project: Project, key: learner_memory.FacesKey) -> learner_memory.Remembered:
    every = list(
        Face.objects.current()
        .of_project(project)
        .order_by("pk")
        .values_list("pk", "image_id", "encoding", "encoder")
    )
    encoded = [row for row in every if row[2] is not None]
    model = project_model(row[3] for row in encoded)
    rows = [row for row in encoded if row[3] == model]
    unencoded = [row[0] for row in every if row[2] is None]
    face_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    image_ids = np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))
    encodings = np.frombuffer(b"".join(bytes(row[2]) for row in rows), dtype=np.float32)
    encodings = encodings.reshape(len(rows), 128)
    usable = _usable(project, face_ids, encodings)
    return learner_memory.remember_faces(
        project,
        key,
        face_ids[usable],
        image_ids[usable],
        encodings[usable],
        unencoded,
        model=model,
        mixed=len(rows) < len(encoded),
    )


def _usable(project: Project, face_ids: np.ndarray, encodings: np.ndarray) -> np.ndarray:
    """The faces whose stored encoding the learner can compute with. A broken row (written
    before the model door refused such values, or by hand) is left out and logged, so that
    one face never stops its project's learner."""
    usable = usable_encodings(encodings)
    for face_id in face_ids[~usable].tolist():
        logger.warning(
            "project %s: face %s left out: its encoding is not finite or out of range",
            project.pk,
            face_id,
        )
    return usable


def project_model(encoders: Iterable[str]) -> str | None:
    """The model the learner uses for a project: the one that encoded most of its faces.

    Encodings of two models are never compared, so faces of any other model are left out
    (with their answers) until the periodic sweep has encoded them again with the configured
    model (``pipeline.images_reencode``); once that model holds most of the project's faces,
    the learner moves to it. None when no face is encoded.
    """
    counts = Counter(encoders)
    if not counts:
        return None
    return max(counts, key=lambda model: (counts[model], model))


def _verdicts(project: Project, known: learner_memory.Remembered) -> np.ndarray:
    verdicts = np.zeros(known.face_ids.size, dtype=np.int8)
    # A statement removed on Commons by someone else is a "no" (recorded as bootstrap no),
    # unless a reviewer answered: the answers are set after, over it.
    removed = Label.objects.filter(
        project=project, source=Label.Source.BOOTSTRAP, verdict=Label.Verdict.NO
    )
    verdicts[known.rows(removed.values_list("face_id", flat=True))] = Verdict.NO
    answers = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    for verdict, code in (
        (Label.Verdict.YES, Verdict.YES),
        (Label.Verdict.NO, Verdict.NO),
        (Label.Verdict.SKIP, Verdict.SKIP),
    ):
        given = answers.filter(verdict=verdict).values_list("face_id", flat=True)
        verdicts[known.rows(given)] = code
    return verdicts


def _bootstrap_yes(project: Project) -> list[int]:
    return list(
        Label.objects.filter(
            project=project, source=Label.Source.BOOTSTRAP, verdict=Label.Verdict.YES
        ).values_list("face_id", flat=True)
    )


def _mask(known: learner_memory.Remembered, face_ids: list[int]) -> np.ndarray:
    mask = np.zeros(known.face_ids.size, dtype=bool)
    mask[known.rows(face_ids)] = True
    return mask


def _against(
    project: Project, known: learner_memory.Remembered, crowded_images: np.ndarray
) -> np.ndarray:
    """Evidence that a face is somebody else: confirmed as another person in another
    project (1.0), or on a file whose P180 statements name other people only (weaker).

    Another project's answers count only when both projects opted in (``share_evidence``):
    they are its contributors' work, shared by choice, not by default. The projects of one
    group of people (``projects.groups``) always count for each other: they were made to
    tell their people apart, and one answer there is written in all of them."""
    weights = np.zeros(known.face_ids.size, dtype=np.float32)
    weights[np.isin(known.image_ids, crowded_images)] = OTHERS_DEPICTED_WEIGHT
    grouped = GroupPerson.objects.filter(project=project).exists()
    if not (project.share_evidence or grouped):
        return weights
    sharing = Q(project__share_evidence=True) if project.share_evidence else Q()
    if grouped:
        sharing |= Q(project__group_person__group__people__project=project)
    elsewhere = (
        Label.objects.filter(source=Label.Source.HUMAN, verdict=Label.Verdict.YES)
        .filter(sharing, face__image__project_links__project=project)
        .exclude(project__qid=project.qid)
        .values_list("face_id", flat=True)
        .distinct()
    )
    weights[known.rows(elsewhere)] = 1.0
    return weights


def _hint(project: Project, known: learner_memory.Remembered) -> int | None:
    """The largest face on the person's Wikidata image (P18), if that file is in the project
    (looked up once while the project's faces stay the same)."""
    if not project.person_image:
        return None
    if known.hint is None or known.hint[0] != project.person_image:
        title = "File:" + project.person_image.removeprefix("File:")
        faces = Face.objects.current().of_project(project).filter(image__title=title)
        best = max(faces, key=lambda face: face.width * face.height, default=None)
        known.hint = (project.person_image, best.pk if best is not None else None)
    rows = known.rows([known.hint[1]] if known.hint[1] is not None else [])
    return int(rows[0]) if rows.size else None


def _write_labels(
    project: Project,
    face_ids: np.ndarray,
    scores: Scores,
    suggestions: Suggestions,
    priority: np.ndarray,
) -> learner_memory.LabelArrays:
    """Store one model label per face, writing only the rows whose values changed.

    An answer moves the calibration, so every score shifts a little; stored as they are,
    100,000 faces would mean 100,000 rows rewritten per answer. So a stored score is
    rewritten only when it is more than SCORE_TOLERANCE off (a grid shows percents; the
    learner's own estimates use the exact values), and only the PRIORITY_KEPT faces asked
    soonest keep a review priority (the classify page reads the first few dozen). What is
    stored is read back unless this process remembers writing it (see ``learner_memory``).
    Returns what is stored now.
    """
    wanted = _label_arrays(face_ids, scores, suggestions, priority)
    stored = learner_memory.recall_written(project)
    if stored is None:
        stored = _stored_labels(project)
    changes = wanted.changed_since(stored, score_tolerance=SCORE_TOLERANCE)
    # Each batch commits on its own, not all in one transaction: MariaDB's upsert holds
    # next-key locks on the model labels it writes, and a reviewer's answer inserts its human
    # label into those gaps; held for the whole run, every answer on the project waited for
    # it (a second under load). A run cut short leaves scores the next run rewrites.
    Label.objects.model_upsert(project.pk, _rows(wanted, changes.new), batch_size=WRITE_BATCH)
    # Rows that exist are updated by key, which locks no gap: fewer, larger statements.
    Label.objects.model_update(project.pk, _rows(wanted, changes.moved), batch_size=UPDATE_BATCH)
    # A face answered while this run was computing is no longer a question.
    answered = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    Label.objects.filter(
        project=project, source=Label.Source.MODEL, face_id__in=answered.values("face_id")
    ).exclude(priority=None).update(priority=None)
    # Faces gone since the last run (superseded boxes) keep no stale model label.
    gone = changes.gone
    for start in range(0, len(gone), WRITE_BATCH):
        Label.objects.filter(
            project=project,
            source=Label.Source.MODEL,
            face_id__in=gone[start : start + WRITE_BATCH],
        ).delete()
    return changes.written


def _rows(
    wanted: learner_memory.LabelArrays, rows: np.ndarray
) -> list[tuple[int, str, float, float | None]]:
    """The labels of the ``rows`` (a mask) as (face id, verdict, score, priority)."""
    yes, no = Label.Verdict.YES.value, Label.Verdict.NO.value
    return [
        (face_id, yes if suggested else no, score, _or_none(rank))
        for face_id, suggested, score, rank in zip(
            wanted.face_ids[rows].tolist(),
            wanted.suggested[rows].tolist(),
            wanted.score[rows].tolist(),
            wanted.rank[rows].tolist(),
            strict=True,
        )
    ]


def _label_arrays(
    face_ids: np.ndarray, scores: Scores, suggestions: Suggestions, priority: np.ndarray
) -> learner_memory.LabelArrays:
    is_suggested = np.zeros(face_ids.size, dtype=bool)
    is_suggested[suggestions.faces] = True
    # A suggestion's score is its own (the portrait's is 1), any other face's the learner's.
    score = scores.probability.astype(np.float64)
    score[suggestions.faces] = suggestions.probability
    rank = np.round(priority, 2)
    finite = np.flatnonzero(np.isfinite(rank))
    if finite.size > PRIORITY_KEPT:
        rank[finite[~_first_highest(rank[finite], PRIORITY_KEPT)]] = np.nan
    return learner_memory.LabelArrays(
        face_ids=face_ids,
        suggested=is_suggested,
        score=np.round(score, 3),
        rank=rank,
    )


def _first_highest(values: np.ndarray, count: int) -> np.ndarray:
    """A mask of the ``count`` highest values, of equal ones the first: a stable descending
    sort's first ``count``, found without sorting (a partition, linear in the faces)."""
    cut = values[np.argpartition(values, values.size - count)[values.size - count]]
    kept = values > cut
    kept[np.flatnonzero(values == cut)[: count - int(kept.sum())]] = True
    return kept


def _stored_labels(project: Project) -> learner_memory.LabelArrays:
    rows = list(
        Label.objects.filter(project=project, source=Label.Source.MODEL).values_list(
            "face_id", "verdict", "score", "priority"
        )
    )
    return learner_memory.LabelArrays(
        face_ids=np.array([row[0] for row in rows], dtype=np.int64),
        suggested=np.array([row[1] == Label.Verdict.YES for row in rows], dtype=bool),
        score=np.array([np.nan if row[2] is None else row[2] for row in rows], dtype=np.float64),
        rank=np.array([np.nan if row[3] is None else row[3] for row in rows], dtype=np.float64),
    )


def _or_none(value: float) -> float | None:
    return None if math.isnan(value) else value


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
        confirmed=int((verdicts == Verdict.YES).sum()),
        suggested=len(suggestions),
        threshold=suggestions.min_probability,
        precision=estimate.precision,
        recall=estimate.recall,
        held_out_precision=estimate.held_out_precision,
        held_out_recall=estimate.held_out_recall,
        precision_interval=estimate.precision_interval,
        recall_interval=estimate.recall_interval,
        expected_right=estimate.expected_right,
        expected_found=estimate.expected_found,
        expected_positives=estimate.expected_positives,
        histogram=ScoreHistogram(
            bins=tuple(bins.round(3).tolist()),
            answered_yes=histogram(verdicts == Verdict.YES),
            answered_no=histogram(verdicts == Verdict.NO),
            unanswered=histogram(scores.open),
        ),
    )


def _empty_summary(project: Project) -> LearnerSummary:
    return LearnerSummary(updated_at=timezone.now())


def _store_summary(project: Project, summary: LearnerSummary) -> dict:
    stored = summary.to_json()
    Project.objects.filter(pk=project.pk).update(learning=stored)
    return stored
