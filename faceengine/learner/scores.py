"""Who is the project's person? Each face's score and its calibrated probability.

Pure numpy over arrays that the services read from the database, one row per face: no
Django here, so the ``learn`` task, ``evaluate_learning`` and the benchmark run the same code.

The default strategy in short: dlib puts two photos of one person closer than about 0.6
and photos of two people further apart. A face scores high when it is close to a face that
is the person (a human yes, an existing depicts statement) and low when it is at least as
close to a face that is somebody else (a human no, the other faces of an image with a yes,
a face confirmed as another person elsewhere). Every answered face is then scored as if it
had not been answered (leave-one-out); a logistic fit of those scores against the answers
turns scores into probabilities and gives honest precision and recall estimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from faceengine.learner.distances import covering_subset, nearest_distance
from faceengine.learner.evidence import (
    Evidence,
    Verdict,
    open_faces,
    other_weights,
    project_distance,
    yes_faces,
)

DEFAULT_THRESHOLD = 0.6
"""dlib's documented same-person distance: the centre of the score scale.

A project's ``distance_threshold`` is not a scoring input: scores always sit on dlib's own
scale, so the calibration's prior (slope 1, intercept 0) means the same in every project and
the probabilities stay honest. The project's threshold only caps suggestions: a face farther
than it from every yes is never proposed."""


SHARPNESS = 25.0
"""Log-odds per unit of distance. dlib's same-person distances centre near 0.4 and other
people's near 0.85, so a face 0.2 inside the threshold gets odds of about 150 to 1."""


SCORE_LIMIT = 10.0
"""Scores are clipped to ±10 log-odds, so one far-away answer cannot dominate a fit."""


AGAINST_PENALTY = 8.0
"""Log-odds taken off a face with full evidence (weight 1) that it is somebody else."""


CANDIDATE_FLOOR = -3.0
"""A face whose yes-term is below this (nearest yes beyond threshold + 0.12) is out of
reach: never suggested whatever the no answers say, so its no-evidence is skipped."""


MAX_YES_REFERENCES = 256
"""Yes faces compared with every face in one rescoring; more are covered by representatives."""


MIN_SLOPE = 0.25
"""The calibration never flattens a score below this slope, nor turns it around."""


DEFAULT_MIN_PROBABILITY = 0.5
"""Suggest a face when it is more likely the person than not; a human reviews each one."""


CONTEST_PROBABILITY = 0.15
"""A photo is contested when two of its open faces each have at least this probability and
together are likely to hold the person: a lookalike beside the person, or two looks of
them. Such a photo is never suggested; the reviewer is asked which face it is (keys 1-9)."""


PRIOR_SPREAD = (0.5**2, 0.0, 1.5**2)
"""The calibration prior's variances (slope, covariance, intercept): see :func:`fit_calibration`."""


class Strategy(StrEnum):
    DEFAULT = "default"
    CENTROID = "centroid"


@dataclass(frozen=True)
class Calibration:
    """``probability = sigmoid(slope * score + intercept)``, fitted on the human answers.

    ``spread`` is how uncertain the fit still is: the variances of slope and intercept and
    their covariance (the inverse of the penalised loss's curvature at the fit), which the
    estimates' intervals draw from."""

    slope: float = 1.0
    intercept: float = 0.0
    answers: int = 0
    spread: tuple[float, float, float] = PRIOR_SPREAD

    def logit(self, scores: np.ndarray) -> np.ndarray:
        return (np.float32(self.slope) * scores + np.float32(self.intercept)).astype(np.float32)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        return sigmoid(self.logit(scores))


@dataclass(frozen=True)
class Scores:
    """The learner's view of every face after one rescoring.

    ``score`` is in log-odds units (answered faces are scored leave-one-out);
    ``probability`` is calibrated and shared out so an image's faces sum to at most 1;
    ``open`` marks the faces that may still be asked or suggested; ``distance`` is each
    face's distance to the nearest yes on another image (inf when none); ``contested``
    marks the open faces of photos where two faces compete (see CONTEST_PROBABILITY).
    """

    strategy: Strategy
    score: np.ndarray
    probability: np.ndarray
    open: np.ndarray
    calibration: Calibration
    distance: np.ndarray
    contested: np.ndarray


def score_faces(
    evidence: Evidence,
    *,
    strategy: Strategy = Strategy.DEFAULT,
    threshold: float = DEFAULT_THRESHOLD,
) -> Scores:
    """Score every face of the project from its answers, with the chosen strategy.

    ``threshold`` is the centroid rule's match distance; the default strategy scores on
    dlib's scale whatever it is (the project's threshold caps suggestions in :func:`suggest`).
    """
    if strategy == Strategy.CENTROID:
        score = centroid_scores(evidence, threshold=threshold)
        distance = np.full(evidence.size, np.inf, dtype=np.float32)
        calibration = Calibration()
    else:
        score, distance = _margin(evidence)
        calibration = fit_calibration(score, evidence.verdicts)
    is_open = open_faces(evidence)
    probability = calibration.probability(score)
    probability[is_open] = share_per_image(probability[is_open], evidence.image_index[is_open])
    contested = contested_faces(probability, is_open, evidence.image_index)
    return Scores(strategy, score, probability, is_open, calibration, distance, contested)


def contested_faces(
    probability: np.ndarray, is_open: np.ndarray, image_index: np.ndarray
) -> np.ndarray:
    """Open faces of photos where a second face is a serious rival of the best one.

    The learner can be sure that the person is on a photo yet wrong about which face it is
    (a lookalike of the same age, a relative): asking "which face?" settles both at once.
    """
    rivals = is_open & (probability >= CONTEST_PROBABILITY)
    counts = np.bincount(image_index[rivals], minlength=int(image_index.max(initial=-1)) + 1)
    mass = np.bincount(image_index[is_open], weights=probability[is_open], minlength=counts.size)
    contested_image = (counts >= 2) & (mass >= DEFAULT_MIN_PROBABILITY)
    return is_open & contested_image[image_index]


def is_contested(probabilities: Sequence[float]) -> bool:
    """The rule of :func:`contested_faces` for one photo, given its open faces' (shared)
    probabilities: what the classify page reads back from the stored model scores."""
    rivals = sum(p >= CONTEST_PROBABILITY for p in probabilities)
    return rivals >= 2 and sum(probabilities) >= DEFAULT_MIN_PROBABILITY


def margin_scores(evidence: Evidence) -> np.ndarray:
    """The default scorer's scores: see :func:`_margin`."""
    return _margin(evidence)[0]


def _margin(
    evidence: Evidence, *, threshold: float = DEFAULT_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """The default scorer: near a yes and farther from every known other, in log-odds.

    1. ``yes = SHARPNESS * (threshold - distance to the nearest yes)``.
    2. ``no = max over others of log(weight) + SHARPNESS * (threshold - distance)``:
       how likely the face is one of the people already known not to be the person.
    3. ``score = yes - softplus(no) - AGAINST_PENALTY * own evidence against``.
    A face between a yes and a no therefore scores by the margin between the two, so each
    no answer moves the boundary. Distances never cross one image (see held_out_distance).
    Step 2 runs only for faces within reach of a yes (the rest score below CANDIDATE_FLOOR
    whatever it says), which keeps a rescoring linear in the faces near the person.
    Returns the scores and each face's distance to its nearest yes.
    """
    yes_rows = np.flatnonzero(yes_faces(evidence))
    references = covering_subset(evidence.encodings, yes_rows, limit=MAX_YES_REFERENCES)
    distance = project_distance(evidence, None, references)
    yes = SHARPNESS * (threshold - distance)
    within_reach = yes > CANDIDATE_FLOOR
    no = np.full(evidence.size, -np.inf, dtype=np.float32)
    no[within_reach] = _other_terms(evidence, within_reach, threshold=threshold)
    score = yes - np.logaddexp(np.float32(0.0), no) - AGAINST_PENALTY * evidence.against_weights()
    return np.clip(score, -SCORE_LIMIT, SCORE_LIMIT).astype(np.float32), distance


def _other_terms(evidence: Evidence, within_reach: np.ndarray, *, threshold: float) -> np.ndarray:
    """Log-odds that each face within reach is one of the known others.

    Every human no is used. The other faces of a yes image, and evidence from other
    projects and from P180 statements, grow with the project, so only those of their
    faces that are themselves within reach of a yes serve as neighbours. Nothing that
    matters is lost for a face whose nearest yes is within half the reach: any other face
    closer to it than that yes is then within reach too (triangle inequality). Farther
    out the face is near the boundary anyway, where it is asked rather than suggested.
    """
    rows = np.flatnonzero(within_reach)
    weights = other_weights(evidence)
    weights[(np.asarray(evidence.verdicts) != Verdict.NO) & ~within_reach] = 0.0
    terms = np.full(rows.size, -np.inf, dtype=np.float32)
    for weight in np.unique(weights[weights > 0]):
        distance = project_distance(evidence, rows, np.flatnonzero(weights == weight))
        terms = np.maximum(terms, math.log(weight) + SHARPNESS * (threshold - distance))
    return terms


def centroid_scores(evidence: Evidence, *, threshold: float = DEFAULT_THRESHOLD) -> np.ndarray:
    """The anchor's rule, kept for comparison: distance to the mean of the yes faces.

    A face matches when it is within ``threshold`` of the centroid (score above zero).
    No answers and evidence against are ignored, as the anchor ignored them.
    """
    yes = yes_faces(evidence)
    if not yes.any():
        return np.full(evidence.size, -SCORE_LIMIT, dtype=np.float32)
    centroid = evidence.encodings[yes].astype(np.float32).mean(axis=0, keepdims=True)
    distance = nearest_distance(evidence.encodings, centroid)
    return np.clip(SHARPNESS * (threshold - distance), -SCORE_LIMIT, SCORE_LIMIT)


def share_per_image(probability: np.ndarray, image_index: np.ndarray) -> np.ndarray:
    """Scale each image's probabilities down so they sum to at most 1 (one person, one face)."""
    totals = np.bincount(image_index, weights=probability)
    return (probability / np.maximum(totals[image_index], 1.0)).astype(np.float32)


def fit_calibration(
    scores: np.ndarray, verdicts: np.ndarray, *, iterations: int = 50
) -> Calibration:
    """Fit ``sigmoid(slope * score + intercept)`` to the human yes/no answers.

    1. Answered faces are scored leave-one-out (their own image is never evidence), so
       the fit sees the model as it performs on faces it has not been told about.
    2. Scores at the clip limit are left out: the first yes of a new look of the person
       scores -10 only because nothing like it was answered yet, and such points would
       otherwise drag the slope towards zero or below.
    3. A Gaussian prior (slope 1 ± 0.5, intercept 0 ± 1.5) keeps the first few answers from
       swinging the fit; with none, the score is used as it is. The slope stays at least
       MIN_SLOPE: a score is never read backwards.
    """
    verdicts = np.asarray(verdicts)
    answered = (verdicts == Verdict.YES) | (verdicts == Verdict.NO)
    informative = answered & (np.abs(scores) < SCORE_LIMIT)
    x = scores[informative].astype(np.float64)
    y = (verdicts[informative] == Verdict.YES).astype(np.float64)
    prior = np.array([1.0, 0.0])
    precision = np.array([1 / PRIOR_SPREAD[0], 1 / PRIOR_SPREAD[2]])
    theta = prior.copy()
    for _ in range(iterations):
        theta, step = _newton_step(theta, x, y, prior, precision)
        theta[0] = max(theta[0], MIN_SLOPE)
        if step < 1e-6:
            break
    return Calibration(
        slope=float(theta[0]),
        intercept=float(theta[1]),
        answers=int(x.size),
        spread=_spread(theta, x, precision),
    )


def _spread(theta: np.ndarray, x: np.ndarray, precision: np.ndarray) -> tuple[float, float, float]:
    """The fit's covariance (Laplace): the inverse curvature of the penalised loss."""
    p = 1.0 / (1.0 + np.exp(-(theta[0] * x + theta[1])))
    w = p * (1.0 - p)
    hessian = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]])
    covariance = np.linalg.inv(hessian + np.diag(precision))
    return float(covariance[0, 0]), float(covariance[0, 1]), float(covariance[1, 1])


def _newton_step(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, prior: np.ndarray, precision: np.ndarray
) -> tuple[np.ndarray, float]:
    """One damped Newton step on the penalised logistic loss (steps capped at 1 per
    parameter: an undamped step can overshoot when the answers are nearly separable)."""
    p = 1.0 / (1.0 + np.exp(-(theta[0] * x + theta[1])))
    gradient = np.array([((p - y) * x).sum(), (p - y).sum()]) + precision * (theta - prior)
    w = p * (1.0 - p)
    hessian = np.array([[(w * x * x).sum(), (w * x).sum()], [(w * x).sum(), w.sum()]])
    step = np.linalg.solve(hessian + np.diag(precision), gradient)
    step /= max(1.0, float(np.abs(step).max()))
    return theta - step, float(np.abs(step).max())


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)


def distance_probability(distance: np.ndarray) -> np.ndarray:
    """The probability that a face at ``distance`` from the nearest face confirmed as a
    person is that person, on the learner's own scale: the default score's yes-term
    (``SHARPNESS * (DEFAULT_THRESHOLD - distance)``, clipped to ±SCORE_LIMIT) read through the
    calibration's prior (slope 1, intercept 0), as the statement audit reads a score.

    Not a project's fitted calibration: that one is fitted on margin scores that count its
    own no answers too, and a bare distance to another project's yes faces is not such a
    score. Dlib's same-person distance (0.6) reads as one half; 0.5 as 0.92; 0.4 as 0.99.
    """
    yes = SHARPNESS * (DEFAULT_THRESHOLD - np.asarray(distance, dtype=np.float32))
    return Calibration().probability(np.clip(yes, -SCORE_LIMIT, SCORE_LIMIT))
