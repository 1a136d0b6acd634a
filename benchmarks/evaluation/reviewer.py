"""A truthful reviewer on a labelled manifest, and what the learner makes of their answers.

A scenario takes one identity of the manifest (``benchmarks.evaluation.dataset``) as the
project's person and every other image as the crowd; it starts the way projects start: from
the person's Wikidata image (P18) among their photos, from one photo that already carries a
depicts statement, or from neither. The reviewer answers what the classify page asks: yes,
no, skip when the manifest does not say (faces of group photos), and "which face is it?"
(keys 1-9, 0) on contested photos.

Two drivers share everything here: :func:`simulate` runs the learner in memory, and
``benchmarks.evaluation.in_app`` runs the same reviewer through the app's own services and
database, counting what the suggestion grid shows. They agree by construction (one review
order, one gate, one measure), and a test pins it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import numpy as np

from benchmarks.evaluation.dataset import GROUP_PHOTOS, NOT_A_PERSON, EvaluationError, FaceTable
from faceengine.learner.audit import audited_scores
from faceengine.learner.estimates import Estimate, estimate_quality
from faceengine.learner.evidence import (
    Evidence,
    Verdict,
    evidence_count,
    standing_portrait,
    standing_statements,
    yes_faces,
)
from faceengine.learner.questions import review_priority
from faceengine.learner.scores import Scores
from faceengine.learner.suggestions import (
    Suggestions,
    best_of_each_image,
    suggest,
    suggest_nothing,
)

TARGET_PRECISION = 0.99
TARGET_RECALL = 0.95

PERSON, OTHER, UNKNOWN = 1, 0, -1


class Start(StrEnum):
    PORTRAIT = "portrait"  # the person's Wikidata image (P18) is one of their photos
    STATEMENT = "statement"  # one of their photos already has a depicts statement
    NOTHING = "nothing"  # neither: the learner starts from the densest cluster


@dataclass(frozen=True)
class ProjectSettings:
    """The settings a project is evaluated with: the new-project form's defaults unless set."""

    distance_threshold: float
    min_answers: int

    @classmethod
    def defaults(cls) -> ProjectSettings:
        from projects.models import Project

        fields = Project._meta
        return cls(
            distance_threshold=float(fields.get_field("distance_threshold").default),
            min_answers=int(fields.get_field("min_answers").default),
        )


@dataclass(frozen=True)
class Scenario:
    """One identity as the person; ``truth`` is PERSON, OTHER or UNKNOWN for each face."""

    identity: str
    table: FaceTable
    image_index: np.ndarray
    truth: np.ndarray

    @property
    def encodings(self) -> np.ndarray:
        return self.table.encodings

    @property
    def targets(self) -> int:
        return int((self.truth == PERSON).sum())

    def first_face(self, seed: int) -> int:
        """The person's photo a project starts from (P18 or statement): seeds walk through
        the person's faces in a shuffled order, so each is the start in turn."""
        faces = np.flatnonzero(self.truth == PERSON)
        order = np.random.default_rng(zlib.crc32(self.identity.encode())).permutation(faces)
        return int(order[seed % order.size])

    def faces_on_image_of(self, face: int) -> np.ndarray:
        return np.flatnonzero(self.image_index == self.image_index[face])


def build_scenario(
    rows: list[dict[str, str]], table: FaceTable, identity: str, *, group_photos: str
) -> Scenario:
    """The truth of every face for one identity.

    An image of the person shows the person once (:func:`person_faces`); any other face on
    it is not the person. Group photos are not named face by face, so their faces are
    UNKNOWN unless ``group_photos`` is "no".
    """
    identity_of = {row["file"]: row["identity"] for row in rows}
    files = table.files
    _, image_index = np.unique(files, return_inverse=True)
    person = person_faces(rows, table, image_index)
    owner = np.array([identity_of.get(str(name), "") for name in files])
    truth = np.where((owner == identity) & person, PERSON, OTHER)
    if group_photos == "unknown":
        truth[owner == GROUP_PHOTOS] = UNKNOWN
    return Scenario(identity, table, image_index, truth.astype(np.int8))


class Category(StrEnum):
    WHOLE = "whole"  # every identity's category is the whole manifest
    OWN = "own"  # their photos and the unnamed ones (strangers, group photos, no face)


def category_of(rows: list[dict[str, str]], table: FaceTable, identity: str) -> FaceTable:
    """The faces of a category of ``identity`` as Commons has them: mostly their photos,
    among strangers', with none of the manifest's other named people (each of whom is as
    frequent as the person in the whole manifest, so there nothing says who the person is)."""
    files = {row["file"] for row in rows if row["identity"] in {identity, *NOT_A_PERSON}}
    return table.restricted_to(files)


MIN_PERSON_OVERLAP = 0.3
"""The least intersection over union between a manifest's ``person_box`` and a detected
face for that face to be the person's; below it the detector missed the person."""


def person_faces(
    rows: list[dict[str, str]], table: FaceTable, image_index: np.ndarray
) -> np.ndarray:
    """The face of each image that shows its named person (a mask), never guessed by size.

    Where the manifest gives the person's box (``person_box``, pixels top;right;bottom;left,
    as ``largest_face_box``), the detected face that overlaps it most, if enough. Otherwise
    the face nearest the photo's centre: the manifest's photos are portraits centred on the
    person (as every LFW photo is), while a bystander in front may well be larger.
    """
    boxes = {row["file"]: _person_box(row) for row in rows}
    given = [boxes.get(str(name)) for name in table.files]
    left, top, width, height = table.boxes.T
    off_centre = np.hypot(left + width / 2 - 0.5, top + height / 2 - 0.5)
    overlap = np.array(
        [
            _overlap(box, face) if box is not None else 0.0
            for box, face in zip(given, table.boxes, strict=True)
        ]
    )
    has_box = np.array([box is not None for box in given], dtype=bool)
    closeness = np.where(has_box, overlap, -off_centre)
    person = np.zeros(table.files.size, dtype=bool)
    person[best_of_each_image(np.arange(table.files.size), closeness, image_index)] = True
    return person & ~(has_box & (overlap < MIN_PERSON_OVERLAP))


def _person_box(row: dict[str, str]) -> tuple[float, float, float, float] | None:
    """The row's ``person_box`` as (left, top, width, height) fractions of its image."""
    given = (row.get("person_box") or "").strip()
    if not given:
        return None
    try:
        top, right, bottom, left = (float(value) for value in given.split(";"))
        width, height = float(row["width"]), float(row["height"])
    except (KeyError, ValueError) as error:
        raise EvaluationError(
            f"{row['file']}: person_box needs top;right;bottom;left pixels and the image's "
            f"width and height ({error})"
        ) from error
    return (left / width, top / height, (right - left) / width, (bottom - top) / height)


def _overlap(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (left, top, width, height) boxes."""
    across = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    down = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    shared = across * down
    union = a[2] * a[3] + b[2] * b[3] - shared
    return shared / union if union > 0 else 0.0


# The reviewer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """What the reviewer does about one question: ``verdict`` on the face, or a pick of
    ``chosen`` (a face of the photo, or None for "none of them")."""

    verdict: Verdict | None = None
    pick: bool = False
    chosen: int | None = None


def reviewer_action(scenario: Scenario, face: int, *, which: bool) -> Action:
    """A truthful reviewer who skips what the manifest does not say.

    Asked "which face is it?", they press the person's number (0 when it is none of them);
    on a photo whose faces the manifest does not name, they skip.
    """
    if which:
        photo = scenario.faces_on_image_of(face)
        if (scenario.truth[photo] == UNKNOWN).any():
            return Action(verdict=Verdict.SKIP)
        person = photo[scenario.truth[photo] == PERSON]
        return Action(pick=True, chosen=int(person[0]) if person.size else None)
    truth = scenario.truth[face]
    return Action(verdict={PERSON: Verdict.YES, OTHER: Verdict.NO}.get(truth, Verdict.SKIP))


# Measures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """After ``answers`` answers (yes, no, or a pick of "which face"; ``questions`` counts
    the skips too): human yes, suggestions and standing statements against the truth; the
    suggestions alone, and the learner's estimate of their precision. ``judged`` is the
    learner's estimate over the faces whose truth is known (None when it is known for every
    face): the estimates above cover every face, as the app's do; the truth, those only."""

    answers: int
    questions: int
    precision: float
    recall: float
    suggested: int  # suggestions whose truth is known
    suggested_right: int
    estimated_precision: float | None
    estimated_recall: float | None = None
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None
    judged: Estimate | None = None

    @property
    def suggestion_precision(self) -> float | None:
        """The real share of the judged suggestions that are right (None: none shown)."""
        return self.suggested_right / self.suggested if self.suggested else None

    @property
    def on_target(self) -> bool:
        return self.precision >= TARGET_PRECISION and self.recall >= TARGET_RECALL


def measure(
    scenario: Scenario,
    answers: int,
    questions: int,
    *,
    claimed: np.ndarray,
    suggested: np.ndarray,
    estimated_precision: float | None,
    estimated_recall: float | None = None,
    intervals: tuple[tuple[float, float] | None, tuple[float, float] | None] = (None, None),
) -> Snapshot:
    """``claimed`` marks what Commons would say after the grid is approved (a mask);
    ``suggested`` lists the learner's own proposals. Nothing claimed has precision 1."""
    known = scenario.truth != UNKNOWN
    hits = int((claimed & (scenario.truth == PERSON)).sum())
    wrong = int((claimed & known & (scenario.truth == OTHER)).sum())
    judged = suggested[known[suggested]]
    return Snapshot(
        answers=answers,
        questions=questions,
        precision=hits / (hits + wrong) if hits + wrong else 1.0,
        recall=hits / scenario.targets,
        suggested=int(judged.size),
        suggested_right=int((scenario.truth[judged] == PERSON).sum()),
        estimated_precision=estimated_precision if suggested.size else None,
        estimated_recall=estimated_recall,
        precision_interval=intervals[0] if suggested.size else None,
        recall_interval=intervals[1],
    )


@dataclass
class Run:
    """One scenario, start and seed: the answers until the target (None: never reached
    within the run) and until the first suggestion, and every snapshot on the way."""

    identity: str
    start: Start
    seed: int
    snapshots: list[Snapshot] = field(default_factory=list)
    answers_to_target: int | None = None
    questions_to_target: int | None = None
    first_suggestion: int | None = None

    def record(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
        if self.answers_to_target is None and snapshot.on_target:
            self.answers_to_target = snapshot.answers
            self.questions_to_target = snapshot.questions
        if self.first_suggestion is None and snapshot.suggested:
            self.first_suggestion = snapshot.answers

    def done(self, *, at_least: int, at_most: int) -> bool:
        answers = self.snapshots[-1].answers
        return (
            self.snapshots[-1].questions >= 3 * at_most
            or answers >= at_most
            or (self.answers_to_target is not None and answers >= at_least)
        )


# The in-memory driver --------------------------------------------------------------------


def simulate(
    scenario: Scenario,
    *,
    start: Start,
    seed: int,
    project: ProjectSettings,
    at_least: int,
    at_most: int,
) -> Run:
    """Ask, answer, rescore, as the app does, with the learner in memory.

    Runs until the target is met and ``at_least`` answers are given, or ``at_most`` answers.
    A skip is no answer (the manifest names nobody on it) but counts as a question. A
    skipped face is the reviewer's own: it stays open for the learner, and is never asked
    again in the run (the app hides it from that reviewer for a day).
    """
    size = scenario.truth.size
    verdicts = np.zeros(size, dtype=np.int8)
    skipped = np.zeros(size, dtype=bool)
    first = scenario.first_face(seed)
    hint = first if start == Start.PORTRAIT else None
    bootstrap = np.zeros(size, dtype=bool)
    bootstrap[first] = start == Start.STATEMENT
    run = Run(scenario.identity, start, seed)
    answers = questions = 0
    while True:
        given = Evidence(
            scenario.encodings, scenario.image_index, verdicts, bootstrap=bootstrap, hint=hint
        )
        # As the learn task does: a doubted statement stops counting (faceengine.learner.audit).
        audited = audited_scores(given)
        evidence, scores = audited.evidence, audited.scores
        # What stands on Commons is every statement nobody contradicted, doubted or not.
        stated = standing_statements(given)
        run.record(_snapshot(scenario, evidence, scores, project, (answers, questions), stated))
        if run.done(at_least=at_least, at_most=at_most):
            return run
        priority = review_priority(evidence, scores, max_distance=project.distance_threshold)
        priority[skipped] = np.nan
        if np.isnan(priority).all():
            return run
        face = served_first(priority)
        action = reviewer_action(scenario, face, which=bool(scores.contested[face]))
        _apply(action, scenario, face, verdicts=verdicts, skipped=skipped)
        answers += action.verdict != Verdict.SKIP
        questions += 1


def grid_now(
    evidence: Evidence, scores: Scores, project: ProjectSettings
) -> tuple[np.ndarray, Suggestions]:
    """The grid's suggestions now, as the learn task makes them (none before the project's
    answers before suggestions), and what Commons would say once they are approved (a mask:
    the yes faces and the suggestions)."""
    suggestions = suggest(evidence, scores, max_distance=project.distance_threshold)
    if evidence_count(evidence) < project.min_answers:
        suggestions = suggest_nothing(evidence, scores)
    # The portrait's face is a yes without asking, but reaches Commons as a suggestion.
    claimed = yes_faces(evidence) & ~standing_portrait(evidence)
    claimed[suggestions.faces] = True
    return claimed, suggestions


def _snapshot(
    scenario: Scenario,
    evidence: Evidence,
    scores: Scores,
    project: ProjectSettings,
    counts: tuple[int, int],
    stated: np.ndarray,
) -> Snapshot:
    """What the grid would show now, as the learn task computes it, against the truth."""
    claimed, suggestions = grid_now(evidence, scores, project)
    claimed |= stated
    estimate = suggestions.estimate
    known = scenario.truth != UNKNOWN
    judged = None
    if not known.all():
        judged = estimate_quality(
            evidence,
            scores,
            suggestions.faces,
            min_probability=suggestions.min_probability,
            among=known,
        )
    snapshot = measure(
        scenario,
        *counts,
        claimed=claimed,
        suggested=suggestions.faces,
        estimated_precision=estimate.precision,
        estimated_recall=estimate.recall,
        intervals=(estimate.precision_interval, estimate.recall_interval),
    )
    return replace(snapshot, judged=judged)


def _apply(
    action: Action, scenario: Scenario, face: int, *, verdicts: np.ndarray, skipped: np.ndarray
) -> None:
    """The reviewer's answer into the verdicts (a pick names every face of the photo)."""
    if action.pick:
        verdicts[scenario.faces_on_image_of(face)] = Verdict.NO
        if action.chosen is not None:
            verdicts[action.chosen] = Verdict.YES
    elif action.verdict == Verdict.SKIP:
        skipped[face] = True
    elif action.verdict is not None:
        verdicts[face] = action.verdict


def served_first(priority: np.ndarray) -> int:
    """The face the classify page serves: the highest priority as the database stores it
    (rounded to 0.01, ``faces.services.scoring._label_arrays``), and of equal ones the face
    whose label came last (ordered by priority, then label id, both descending: the learner
    creates a project's labels in the order of its faces)."""
    stored = np.round(priority, 2)
    return int(np.flatnonzero(stored == np.nanmax(stored))[-1])


# Reports ---------------------------------------------------------------------------------


def summarise(runs: Sequence[Run], *, at_most: int) -> dict[str, object]:
    """Answers to the target and to the first suggestion, and how honest the estimates were.

    A run that never reached the target counts ``at_most`` answers (and is counted apart).
    The estimate is judged over every moment a suggestion was shown: the expected number of
    right suggestions (estimate x count) against the real number, pooled, and the mean gap
    per moment.
    """
    to_target = np.array(
        [at_most if r.answers_to_target is None else r.answers_to_target for r in runs],
        dtype=float,
    )
    questions = np.array(
        [at_most if r.questions_to_target is None else r.questions_to_target for r in runs],
        dtype=float,
    )
    first = [r.first_suggestion for r in runs if r.first_suggestion is not None]
    shown = [s for r in runs for s in r.snapshots if s.suggested and s.estimated_precision]
    expected = sum(s.estimated_precision * s.suggested for s in shown if s.estimated_precision)
    right = sum(s.suggested_right for s in shown)
    count = sum(s.suggested for s in shown)
    gaps = [
        abs(s.estimated_precision - s.suggested_right / s.suggested)
        for s in shown
        if s.estimated_precision
    ]
    return {
        "runs": len(runs),
        "answers_to_target": {
            "median": float(np.median(to_target)),
            "mean": round(float(to_target.mean()), 2),
            "max": int(to_target.max()),
            "never": sum(r.answers_to_target is None for r in runs),
        },
        "questions_to_target": {
            "median": float(np.median(questions)),
            "max": int(questions.max()),
        },
        "first_suggestion": {
            "median": float(np.median(first)) if first else None,
            "max": max(first) if first else None,
            "never": len(runs) - len(first),
        },
        "suggestion_precision": {
            "estimated": round(expected / count, 4) if count else None,
            "real": round(right / count, 4) if count else None,
            "mean_gap": round(float(np.mean(gaps)), 4) if gaps else None,
            "moments": len(shown),
        },
    }
