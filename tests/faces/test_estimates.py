"""The learner's estimates against the truth, on synthetic projects whose truth is known.

A project holds one person (faces scattered about one point, as dlib places one person's
photos: about 0.4 apart) among many other people (each a few faces about another point,
0.7 to 1.1 away), one face per photo. A truthful reviewer has answered a few faces. The
estimated precision of the suggestions and recall of "yes + suggestions" must match what
those faces really are, whatever the truth is: a constant cannot pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from benchmarks.evaluation import dataset, reviewer
from benchmarks.rescore import make_evidence, make_project
from faceengine.learner.estimates import (
    REDRAWN_PROBABILITY,
    Estimate,
    estimate_intervals,
    estimate_quality,
    hidden_positives,
)
from faceengine.learner.evidence import Evidence, Verdict, yes_faces
from faceengine.learner.scores import DEFAULT_MIN_PROBABILITY, score_faces
from faceengine.learner.suggestions import proposed_faces, suggest, suggest_nothing

DIMENSIONS = 128
PERSON_SPREAD = 0.3 / np.sqrt(DIMENSIONS)  # 0.3 from the centre, about 0.42 apart
OTHERS = 120  # other people, 4 faces each: the person is rare, as in a category


@dataclass(frozen=True)
class Project:
    evidence: Evidence
    truth: np.ndarray  # True: the person's face


def synthetic(seed: int, *, person: int = 20, answered: int = 8, nearest: float = 0.5) -> Project:
    """``person`` faces of the person among 4 * OTHERS others; the first 3 faces of the
    person and ``answered`` - 3 faces drawn at random answered truthfully. The other people
    stand ``nearest`` to 1.1 away from the person (lookalikes when ``nearest`` is small)."""
    rng = np.random.default_rng(seed)
    directions = rng.normal(size=(OTHERS, DIMENSIONS))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    centres = directions * rng.uniform(nearest, 1.1, (OTHERS, 1))
    encodings = np.concatenate([np.zeros((person, DIMENSIONS)), np.repeat(centres, 4, axis=0)])
    encodings += rng.normal(0.0, PERSON_SPREAD, encodings.shape)
    truth = np.arange(encodings.shape[0]) < person
    verdicts = np.full(truth.size, Verdict.NONE, dtype=np.int8)
    drawn = rng.choice(np.arange(3, truth.size), answered - 3, replace=False)
    asked = np.concatenate([[0, 1, 2], drawn])
    verdicts[asked] = np.where(truth[asked], Verdict.YES, Verdict.NO)
    evidence = Evidence(encodings.astype(np.float32), np.arange(truth.size), verdicts)
    return Project(evidence, truth)


@dataclass(frozen=True)
class Outcome:
    estimate: Estimate
    precision: float
    recall: float


def play(
    project: Project, *, max_distance: float | None = None, min_probability: float = 0.5
) -> Outcome:
    """The learner's estimates, and the true precision of its suggestions and the true
    recall of "yes + suggestions"."""
    evidence = project.evidence
    scores = score_faces(evidence)
    suggestions = suggest(
        evidence, scores, max_distance=max_distance, min_probability=min_probability
    )
    claimed = yes_faces(evidence)
    claimed[suggestions.faces] = True
    right = project.truth[suggestions.faces]
    return Outcome(
        estimate=suggestions.estimate,
        precision=float(right.mean()) if right.size else float("nan"),
        recall=float((claimed & project.truth).sum() / project.truth.sum()),
    )


def session(project: Project, *, seed: int, threshold: float) -> list[reviewer.Snapshot]:
    """A truthful reviewer answers what the learner asks, 12 times, from the person's
    portrait (``benchmarks.evaluation.reviewer.simulate``, pinned to the app's path): every
    moment from the first card on."""
    size = project.truth.size
    table = dataset.FaceTable(
        files=np.array([f"{face}.jpg" for face in range(size)]),
        boxes=np.tile([0.4, 0.4, 0.2, 0.2], (size, 1)),
        encodings=project.evidence.encodings,
    )
    truth = np.where(project.truth, reviewer.PERSON, reviewer.OTHER).astype(np.int8)
    scenario = reviewer.Scenario("synthetic", table, np.arange(size), truth)
    settings = reviewer.ProjectSettings(distance_threshold=threshold, min_answers=3)
    run = reviewer.simulate(
        scenario,
        start=reviewer.Start.PORTRAIT,
        seed=seed,
        project=settings,
        at_least=12,
        at_most=12,
    )
    assert run.first_suggestion is not None
    return [s for s in run.snapshots if s.answers >= run.first_suggestion]


@pytest.mark.parametrize("threshold", [0.4, 0.6])
def test_the_estimates_follow_the_truth_answer_by_answer(threshold):
    moments = [
        m for seed in range(3) for m in session(synthetic(seed), seed=seed, threshold=threshold)
    ]
    recall = np.array([[m.estimated_recall, m.recall] for m in moments])
    shown = [m for m in moments if m.suggestion_precision is not None]
    precision = np.array([[m.estimated_precision, m.suggestion_precision] for m in shown])
    assert np.abs(recall[:, 0] - recall[:, 1]).mean() < 0.03
    assert np.abs(recall[:, 0] - recall[:, 1]).max() < 0.1
    assert np.abs(precision[:, 0] - precision[:, 1]).mean() < 0.05
    covered = [
        m.recall_interval[0] - 0.01 <= m.recall <= m.recall_interval[1] + 0.01 for m in moments
    ]
    assert np.mean(covered) >= 0.9


def test_the_true_recall_moves_from_moment_to_moment():
    # What makes the test above fail for a constant (worst gap under 0.1): at threshold
    # 0.4 the grid sends a growing share of the person's faces, by seed and by answer.
    recall = [
        m.recall for seed in range(3) for m in session(synthetic(seed), seed=seed, threshold=0.4)
    ]
    assert max(recall) - min(recall) > 0.3


def test_estimated_recall_follows_the_truth_when_the_grid_sends_all_or_half():
    # A tight distance cap leaves many of the person's faces unsent (true recall low); a
    # wide one sends them all (true recall high). A constant estimate cannot match both.
    tight = [play(synthetic(seed), max_distance=0.4) for seed in range(3)]
    wide = [play(synthetic(seed)) for seed in range(3)]
    assert np.mean([o.recall for o in wide]) - np.mean([o.recall for o in tight]) > 0.3
    for outcome in tight + wide:
        assert outcome.estimate.recall == pytest.approx(outcome.recall, abs=0.1)


def test_estimated_recall_is_not_dragged_down_by_the_many_faces_of_other_people():
    # 480 faces of others each keep a little probability; summed as they are they would
    # look like missing faces of the person (the old estimate read about half here).
    for seed in range(3):
        outcome = play(synthetic(seed))
        assert outcome.recall == 1.0
        assert outcome.estimate.recall > 0.9


def test_estimated_precision_follows_the_truth_as_the_grid_takes_doubtful_faces():
    # The lower the probability a suggestion needs, the more of them are other people: the
    # truth falls from about 1 to about 0.3, and the estimate (and its interval) with it.
    outcomes = [
        play(synthetic(seed, answered=20), min_probability=needed)
        for seed in range(4)
        for needed in (0.5, 0.2, 0.05)
    ]
    truths = [o.precision for o in outcomes]
    assert max(truths) - min(truths) > 0.5
    for outcome in outcomes:
        assert outcome.estimate.precision == pytest.approx(outcome.precision, abs=0.12)
        low, high = outcome.estimate.precision_interval
        assert low <= outcome.precision <= high


def test_the_truth_lies_within_the_intervals():
    outcomes = [play(synthetic(seed), max_distance=cap) for seed in range(4) for cap in (0.4, None)]
    for outcome in outcomes:
        estimate = outcome.estimate
        assert estimate.precision_interval is not None and estimate.recall_interval is not None
        low, high = estimate.precision_interval
        assert low <= outcome.precision <= high
        low, high = estimate.recall_interval
        assert low - 0.02 <= outcome.recall <= high + 0.02


def test_an_interval_holds_its_estimate_and_narrows_with_answers():
    few = play(synthetic(5, answered=3), max_distance=0.4).estimate
    many = play(synthetic(5, answered=60), max_distance=0.4).estimate
    for estimate in (few, many):
        for figure in ("precision", "recall"):
            low, high = getattr(estimate, f"{figure}_interval")
            assert 0.0 <= low <= getattr(estimate, figure) <= high <= 1.0

    def width(interval: tuple[float, float] | None) -> float:
        assert interval is not None
        return interval[1] - interval[0]

    assert width(many.recall_interval) < width(few.recall_interval)


def test_one_set_of_answers_always_gives_one_interval():
    project = synthetic(1)
    first, again = play(project).estimate, play(project).estimate
    assert first.precision_interval == again.precision_interval
    assert first.recall_interval == again.recall_interval


def test_nothing_suggested_has_no_precision_interval():
    evidence = synthetic(2).evidence
    estimate = suggest_nothing(evidence, score_faces(evidence)).estimate
    assert estimate.precision is None and estimate.precision_interval is None
    assert estimate.recall_interval is not None


def test_a_large_project_draws_its_intervals_on_a_sample_of_its_photos():
    # 60,000 dlib-shaped faces hold some 19,000 of 1e-3 or more; drawn on the photos of about
    # 5,000 of them, the intervals are those of the full draw (scaled to the full counts).
    project = make_project(60_000, person_share=0.1, seed=1)
    evidence = make_evidence(project, yes=10, no=20, confirmed=120, named_others=600, seed=1)
    scores = score_faces(evidence)
    chosen = proposed_faces(evidence, scores, DEFAULT_MIN_PROBABILITY, None)
    near = int((scores.open & (scores.probability >= REDRAWN_PROBABILITY)).sum())
    assert near > 3 * 5_000 and chosen.size
    sampled = estimate_intervals(evidence, scores, chosen, redrawn_faces=5_000)
    full = estimate_intervals(evidence, scores, chosen, redrawn_faces=near)
    for part, whole in zip(sampled, full, strict=True):
        assert part is not None and whole is not None
        assert part == pytest.approx(whole, abs=0.015)


def test_the_estimates_over_some_faces_count_those_faces_only():
    # A benchmark knows the truth of some faces only (group photos nobody named): the
    # estimate it compares must sum over those faces, with the whole project's calibration.
    project = synthetic(3, answered=10)
    evidence = project.evidence
    scores = score_faces(evidence)
    proposed = proposed_faces(evidence, scores, DEFAULT_MIN_PROBABILITY, None)
    chosen = proposed[: proposed.size // 2]  # a grid that sends half: the rest is missed
    assert chosen.size >= 4
    among = np.ones(evidence.size, dtype=bool)
    hidden = hidden_positives(evidence, scores, chosen)
    among[chosen[::2]] = False  # every other suggestion's truth unknown,
    among[np.flatnonzero(yes_faces(evidence))[0]] = False  # a yes's photo,
    among[np.argsort(hidden)[-3:]] = False  # and the likeliest faces the grid leaves
    kept = chosen[among[chosen]]
    whole = estimate_quality(evidence, scores, chosen)
    part = estimate_quality(evidence, scores, chosen, among=among)
    assert part.precision == pytest.approx(float(scores.probability[kept].mean()), abs=1e-6)
    assert part.precision != pytest.approx(whole.precision, abs=1e-4)
    claimed = float((yes_faces(evidence) & among).sum() + scores.probability[kept].sum())
    assert part.recall == pytest.approx(claimed / (claimed + hidden[among].sum()), abs=1e-6)
    assert part.recall != pytest.approx(whole.recall, abs=1e-3)
    assert part.precision_interval is not None and part.recall_interval is not None
    assert part.precision_interval[0] <= part.precision <= part.precision_interval[1]
    # All faces: the app's own estimate, unchanged.
    everyone = estimate_quality(evidence, scores, chosen, among=np.ones(evidence.size, bool))
    assert everyone == whole


def test_an_estimate_holds_the_sums_its_figures_are_ratios_of():
    # What several people's estimates pool (faceengine.learner.pooled): each person's sums.
    project = synthetic(4, answered=10)
    evidence = project.evidence
    scores = score_faces(evidence)
    chosen = proposed_faces(evidence, scores, DEFAULT_MIN_PROBABILITY, None)
    estimate = estimate_quality(evidence, scores, chosen)
    assert estimate.suggested == chosen.size > 0
    right = float(scores.probability[chosen].sum())
    assert estimate.expected_right == pytest.approx(right)
    found = float(yes_faces(evidence).sum()) + right
    assert estimate.expected_found == pytest.approx(found)
    hidden = float(hidden_positives(evidence, scores, chosen).sum())
    assert estimate.expected_positives == pytest.approx(found + hidden)
    assert estimate.precision == pytest.approx(estimate.expected_right / estimate.suggested)
    assert estimate.recall == pytest.approx(estimate.expected_found / (found + hidden))
