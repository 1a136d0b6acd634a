"""Who is the project's person? Scores, calibrated probabilities, review order, suggestions.

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

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum

import numpy as np

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

CORE_DISTANCE = 0.5
"""Looking for a cluster nobody answered about, a face this close to an answered one (or to
a known other) counts as explained already."""

MAX_ENCODING_VALUE = 1000.0
"""The largest magnitude of an encoding's value the learner computes with. dlib's values lie
within ±1 (and any face model's far inside this); squared float32 distances overflow near
1e19. A value beyond, or not finite, is a broken row, not a face (``usable_encodings``)."""

CHUNK_ROWS = 16384
"""Most rows per block of the distance products; bounds memory to rows * references floats."""

CHUNK_FLOATS = 1 << 19
"""Floats per block of distance products (2 MB): a block that stays in the core's cache
makes the sum and the minimum after the product about a quarter faster than 16,384 rows."""

HELD_OUT_ROWS = 1024
"""Rows per block when faces of the query's own image must be masked out."""

DOUBT = 0.05
"""A face within the project's threshold that the suggestions are wrong about with this
probability or more is asked before any other (``in_doubt``): 95 %, as EXPLORE_GAP."""

EXPLORE_GAP = 3.0
"""When every open face is this sure (log-odds from the threshold: p < 5 % or > 95 %),
the next question explores instead."""

DENSITY_SAMPLE = 2000
"""How many faces stand in for the project when looking for its densest cluster."""

MIN_SLOPE = 0.25
"""The calibration never flattens a score below this slope, nor turns it around."""

DEFAULT_MIN_PROBABILITY = 0.5
"""Suggest a face when it is more likely the person than not; a human reviews each one."""

CONTEST_PROBABILITY = 0.15
"""A photo is contested when two of its open faces each have at least this probability and
together are likely to hold the person: a lookalike beside the person, or two looks of
them. Such a photo is never suggested; the reviewer is asked which face it is (keys 1-9)."""


class Verdict(IntEnum):
    """One human answer on a face, as stored in :attr:`Evidence.verdicts`."""

    NONE = 0
    YES = 1
    NO = -1
    SKIP = 2


class Strategy(StrEnum):
    DEFAULT = "default"
    CENTROID = "centroid"


@dataclass(frozen=True)
class Evidence:
    """Everything the learner knows about one project, one row per face.

    ``encodings`` is float32 (faces, 128). ``image_index`` says which image each face is
    on: small non-negative integers such as the image's position in the project's list
    (lookup tables are sized by the largest). ``verdicts`` holds human answers
    (:class:`Verdict`). ``bootstrap`` marks faces that existing depicts statements put
    forward as the person. ``against`` weighs evidence that a face is
    somebody else: 1.0 when it was confirmed as another person in another project, less
    (the service chooses, say 0.3) when its image's P180 statements name other people only.
    ``hint`` is a face on the person's Wikidata image (P18) when that image is in the project.
    """

    encodings: np.ndarray
    image_index: np.ndarray
    verdicts: np.ndarray
    bootstrap: np.ndarray | None = None
    against: np.ndarray | None = None
    hint: int | None = None

    def __post_init__(self) -> None:
        # Coerced once here so every product below runs on float32 without copies.
        object.__setattr__(self, "encodings", as_encodings(self.encodings))
        object.__setattr__(self, "image_index", np.asarray(self.image_index, dtype=np.intp))
        object.__setattr__(self, "verdicts", np.asarray(self.verdicts, dtype=np.int8))
        rows = self.encodings.shape[0]
        if self.image_index.shape != (rows,) or self.verdicts.shape != (rows,):
            raise ValueError("image_index and verdicts need one value per face")

    @property
    def size(self) -> int:
        return int(self.encodings.shape[0])

    @functools.cached_property
    def norms(self) -> np.ndarray:
        """Each encoding's squared length, computed once for every distance product."""
        return np.einsum("ij,ij->i", self.encodings, self.encodings)

    def bootstrap_mask(self) -> np.ndarray:
        if self.bootstrap is None:
            return np.zeros(self.size, dtype=bool)
        return np.asarray(self.bootstrap, dtype=bool)

    def against_weights(self) -> np.ndarray:
        if self.against is None:
            return np.zeros(self.size, dtype=np.float32)
        return np.clip(np.asarray(self.against, dtype=np.float32), 0.0, 1.0)


PRIOR_SPREAD = (0.5**2, 0.0, 1.5**2)
"""The calibration prior's variances (slope, covariance, intercept): see :func:`fit_calibration`."""


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
        return _sigmoid(self.logit(scores))


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


@dataclass(frozen=True)
class Estimate:
    """How good "human yes + suggestions" is at one threshold, judged from the answers.

    ``precision`` is the expected share of the suggestions themselves that are right (the
    mean calibrated probability of the suggested faces; None when nothing is suggested);
    ``recall`` the expected share of the person's faces that are confirmed or suggested
    (see :func:`hidden_positives` for the faces it does not claim). Both rest on the
    calibration, fitted on the human answers; ``*_interval`` (low, high) holds the realised
    figure with 90 % probability, given how uncertain the fit still is and how few faces
    there are (see :func:`estimate_intervals`). ``held_out_*`` predict each
    answered face from all the other answers (leave-one-out) and compare with what the
    human said; they lean pessimistic, because the faces asked about are the hard ones
    and the first yes of each look of the person has nothing to be predicted from.
    None when nothing supports a figure; ``answers`` is how many answers there are.
    """

    precision: float | None
    recall: float | None
    held_out_precision: float | None
    held_out_recall: float | None
    answers: int
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class Suggestions:
    """Open faces predicted as the person (at most one per image), most likely first."""

    faces: np.ndarray
    score: np.ndarray
    probability: np.ndarray
    min_probability: float
    estimate: Estimate

    def __len__(self) -> int:
        return int(self.faces.shape[0])


# Distances ------------------------------------------------------------------------------


def usable_encodings(encodings: np.ndarray) -> np.ndarray:
    """Which rows of (n, 128) encodings are finite and within ``MAX_ENCODING_VALUE``: one
    infinite value would turn every distance to it, and so the whole fit, into NaN."""
    return np.all(np.abs(encodings) <= MAX_ENCODING_VALUE, axis=1)


def as_encodings(values: np.ndarray) -> np.ndarray:
    """Encodings as a C-contiguous float32 (n, 128) array, the form the products expect."""
    array = np.ascontiguousarray(values, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError("encodings must be a 2-D array of shape (faces, 128)")
    return array


def nearest_distance(
    queries: np.ndarray,
    references: np.ndarray,
    *,
    chunk_rows: int | None = None,
    query_norms: np.ndarray | None = None,
) -> np.ndarray:
    """Euclidean distance from each query to its nearest reference (inf when none).

    ``|a-b|² = |a|² + |b|² - 2ab``: one float32 matrix product per block of rows, and
    blocks bound the memory to ``chunk_rows * len(references)`` floats (by default about
    CHUNK_FLOATS, between 1,024 and CHUNK_ROWS rows). ``query_norms``: the queries'
    squared lengths, when the caller has them already.
    """
    result = np.full(queries.shape[0], np.inf, dtype=np.float32)
    if references.shape[0] == 0 or queries.shape[0] == 0:
        return result
    if chunk_rows is None:
        chunk_rows = min(max(CHUNK_FLOATS // references.shape[0], 1024), CHUNK_ROWS)
    references = as_encodings(references)
    scaled = np.ascontiguousarray(-2.0 * references.T)
    reference_norms = np.einsum("ij,ij->i", references, references)
    for start in range(0, queries.shape[0], chunk_rows):
        block = as_encodings(queries[start : start + chunk_rows])
        products = block @ scaled
        products += reference_norms
        norms = (
            query_norms[start : start + chunk_rows]
            if query_norms is not None
            else np.einsum("ij,ij->i", block, block)
        )
        nearest = products.min(axis=1) + norms
        result[start : start + block.shape[0]] = np.sqrt(np.maximum(nearest, 0.0))
    return result


def held_out_distance(
    queries: np.ndarray,
    query_images: np.ndarray,
    references: np.ndarray,
    reference_images: np.ndarray,
) -> np.ndarray:
    """Nearest distance, ignoring references on the query's own image.

    Faces of one image are never the same person as each other, so they carry no evidence
    about each other; leaving out the whole image also makes answered faces leave-one-out.
    """
    result = np.full(queries.shape[0], np.inf, dtype=np.float32)
    if references.shape[0] == 0 or queries.shape[0] == 0:
        return result
    references = as_encodings(references)
    for start in range(0, queries.shape[0], HELD_OUT_ROWS):
        block = as_encodings(queries[start : start + HELD_OUT_ROWS])
        squared = _pairwise_squared(block, references)
        own_image = query_images[start : start + HELD_OUT_ROWS, None] == reference_images
        squared[own_image] = np.inf
        result[start : start + block.shape[0]] = np.sqrt(squared.min(axis=1))
    return result


def _pairwise_squared(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    squared = np.einsum("ij,ij->i", a, a)[:, None] + np.einsum("ij,ij->i", b, b)[None, :]
    squared -= 2.0 * (a @ b.T)
    return np.maximum(squared, 0.0)


def _project_distance(
    evidence: Evidence, rows: np.ndarray | None, members: np.ndarray
) -> np.ndarray:
    """Nearest distance from faces ``rows`` (None: all) to faces ``members``, never
    within one image.

    The bulk goes through the fast product; only rows that share an image with a member
    (few: the answered images) are redone with the masked version.
    """
    encodings, images = evidence.encodings, evidence.image_index
    if rows is None:
        rows = np.arange(evidence.size)
        distance = nearest_distance(encodings, encodings[members], query_norms=evidence.norms)
    else:
        distance = nearest_distance(
            encodings[rows], encodings[members], query_norms=evidence.norms[rows]
        )
    shared = np.flatnonzero(on_images_of(images, members)[rows])
    if shared.size:
        distance[shared] = held_out_distance(
            encodings[rows[shared]], images[rows[shared]], encodings[members], images[members]
        )
    return distance


# Labels ---------------------------------------------------------------------------------


def on_images_of(image_index: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """For every face, whether its image holds one of ``faces`` (indices or a mask).

    A lookup table over image numbers instead of a sort: linear in the number of faces.
    """
    table = np.zeros(int(image_index.max(initial=-1)) + 1, dtype=bool)
    table[image_index[faces]] = True
    return table[image_index]


def standing_statements(evidence: Evidence) -> np.ndarray:
    """Bootstrap faces no human answered: a yes already, never asked (its statement says
    so; the pipeline marks a face only when it knows which face the statement means)."""
    return evidence.bootstrap_mask() & (np.asarray(evidence.verdicts) == Verdict.NONE)


def implied_no(evidence: Evidence) -> np.ndarray:
    """Unanswered faces on an image where another face is a yes (a human's or a statement's).

    One face per person per image: after a yes, the image's other faces are not the person,
    for this project.
    """
    verdicts = np.asarray(evidence.verdicts)
    stated = standing_statements(evidence)
    said_yes = on_images_of(evidence.image_index, (verdicts == Verdict.YES) | stated)
    return (verdicts == Verdict.NONE) & said_yes & ~stated


def open_faces(evidence: Evidence) -> np.ndarray:
    """Faces that may still be asked or suggested: unanswered, not implied no, and not an
    existing statement's face (a yes without asking)."""
    unanswered = np.asarray(evidence.verdicts) == Verdict.NONE
    return unanswered & ~implied_no(evidence) & ~evidence.bootstrap_mask()


def yes_faces(evidence: Evidence) -> np.ndarray:
    """Human yes answers, plus bootstrap faces that no human answer contradicts."""
    return (np.asarray(evidence.verdicts) == Verdict.YES) | standing_statements(evidence)


def other_weights(evidence: Evidence) -> np.ndarray:
    """How surely each face is somebody else: 1 for human no and implied no, else ``against``."""
    verdicts = np.asarray(evidence.verdicts)
    surely_other = (verdicts == Verdict.NO) | implied_no(evidence)
    weights = np.where(surely_other, np.float32(1.0), evidence.against_weights())
    weights[yes_faces(evidence)] = 0.0
    return weights


# Scoring --------------------------------------------------------------------------------


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
    distance = _project_distance(evidence, None, references)
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
        distance = _project_distance(evidence, rows, np.flatnonzero(weights == weight))
        terms = np.maximum(terms, math.log(weight) + SHARPNESS * (threshold - distance))
    return terms


def covering_subset(encodings: np.ndarray, faces: np.ndarray, *, limit: int) -> np.ndarray:
    """At most ``limit`` of ``faces``, spread to cover them all (farthest-point sampling).

    Every yes face costs one pass over the whole project, so a project with thousands of
    existing depicts statements would rescore slowly. Past the limit, the nearest yes is
    measured to these representatives instead: a distance can only grow, so scores only
    err on the side of asking rather than suggesting.
    """
    if faces.size <= limit:
        return faces
    members = as_encodings(encodings[faces])
    chosen = [0]
    distance = np.linalg.norm(members - members[0], axis=1)
    while len(chosen) < limit:
        farthest = int(np.argmax(distance))
        chosen.append(farthest)
        distance = np.minimum(distance, np.linalg.norm(members - members[farthest], axis=1))
    return faces[np.array(chosen)]


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


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)


# Review order ---------------------------------------------------------------------------


def next_question(
    evidence: Evidence,
    scores: Scores,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    max_distance: float | None = None,
    rng: np.random.Generator | None = None,
) -> int | None:
    """The face to ask about next, or None when every face is answered.

    An existing statement's face is never asked: it is a yes already (:func:`open_faces`).

    1. Before any yes: the hint face (P18), then the densest cluster of faces that no
       answer explains yet, since a category's most frequent face is most often its subject.
    2. Default strategy: the best face of a contested photo ("which face is it?"), then
       the face within ``max_distance`` (the project's threshold) the suggestions are most
       likely wrong about (:func:`in_doubt`), then the open face whose probability is
       nearest the suggestion threshold, the answer that moves the boundary most; when no
       open face is uncertain any more, the densest cluster no answer explains (a new look
       of the person, or a crowd the model has not been told about). Centroid strategy: a
       random open face, as the anchor asked.
    """
    plan = _plan(
        evidence, scores, min_probability=min_probability, max_distance=max_distance, rng=rng
    )
    return plan[0]


def _plan(
    evidence: Evidence,
    scores: Scores,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    max_distance: float | None = None,
    doubted: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[int | None, tuple[np.ndarray, np.ndarray] | None]:
    """The next question, and when the learner is exploring, the ranking it chose from
    (sample faces and their density): the faces to ask after that one, if it is skipped.
    ``doubted``: :func:`in_doubt`'s faces when the caller has them already."""
    candidates = scores.open
    if not candidates.any():
        return None, None
    others = other_weights(evidence) > 0
    if not yes_faces(evidence).any():
        ranking = density_ranking(evidence, candidates, explained_by=others)
        if evidence.hint is not None and candidates[evidence.hint]:
            return int(evidence.hint), ranking
        return int(ranking[0][np.argmax(ranking[1])]), ranking
    if scores.strategy == Strategy.CENTROID:
        return int((rng or np.random.default_rng()).choice(np.flatnonzero(candidates))), None
    contested = np.flatnonzero(scores.contested)
    if contested.size:
        return int(contested[np.argmax(scores.probability[contested])]), None
    if doubted is None:
        doubted = in_doubt(
            evidence, scores, min_probability=min_probability, max_distance=max_distance
        )
    if doubted.size:
        return int(doubted[0]), None
    face, gap = _most_uncertain(scores, min_probability)
    if gap <= EXPLORE_GAP:
        return face, None
    ranking = density_ranking(evidence, candidates, explained_by=others | yes_faces(evidence))
    return int(ranking[0][np.argmax(ranking[1])]), ranking


def in_doubt(
    evidence: Evidence,
    scores: Scores,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    max_distance: float | None = None,
) -> np.ndarray:
    """Faces the suggestions may be wrong about, the likeliest mistake first.

    Within ``max_distance`` (the project's threshold; the grid proposes nothing beyond it):
    a suggestion is wrong with probability 1 - p, any other face there is a missed face
    of the person with probability p. Those at DOUBT or more are asked, before any face
    beyond the threshold: a face that could not be sent whatever its answer teaches the
    grid less, and a "no" to the likeliest-wrong suggestion moves the boundary under the
    suggestions next to it. The suggestions are counted as :func:`suggest` would make
    them, even before the project shows any.
    """
    rows = np.flatnonzero(_within(scores, max_distance) & ~scores.contested)
    proposed = np.zeros(evidence.size, dtype=bool)
    proposed[_proposed(evidence, scores, min_probability, max_distance)] = True
    probability = scores.probability[rows]
    mistake = np.where(proposed[rows], 1.0 - probability, probability)
    keep = mistake >= DOUBT
    return rows[keep][np.argsort(-mistake[keep], kind="stable")]


def _within(scores: Scores, max_distance: float | None) -> np.ndarray:
    """Open faces no farther than ``max_distance`` from a yes (all open faces without one)."""
    if max_distance is None:
        return scores.open
    return scores.open & (scores.distance <= max_distance)


def _proposed(
    evidence: Evidence, scores: Scores, min_probability: float, max_distance: float | None
) -> np.ndarray:
    """The faces :func:`suggest` proposes, most likely first (without its estimates)."""
    # Only faces above the threshold are sorted: an open face below it never beats one above.
    wanted = _within(scores, max_distance) & ~scores.contested
    likely = np.flatnonzero(wanted & (scores.probability >= min_probability))
    return best_of_each_image(likely, scores.probability, evidence.image_index)


def _most_uncertain(scores: Scores, min_probability: float) -> tuple[int, float]:
    """The open face nearest the threshold, and its distance from it in log-odds."""
    probability = np.clip(scores.probability, 1e-6, 1 - 1e-6)
    logits = np.log(probability) - np.log1p(-probability)
    boundary = math.log(min_probability / (1 - min_probability))
    gap = np.where(scores.open, np.abs(logits - boundary), np.inf)
    face = int(np.argmin(gap))
    return face, float(gap[face])


def densest_face(evidence: Evidence, candidates: np.ndarray, *, explained_by: np.ndarray) -> int:
    """The candidate face with the most candidate faces within the threshold, not counting
    faces already explained (see :func:`density_ranking`)."""
    sample, density = density_ranking(evidence, candidates, explained_by=explained_by)
    return int(sample[np.argmax(density)])


def density_ranking(
    evidence: Evidence, candidates: np.ndarray, *, explained_by: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate faces and how many unexplained candidate faces lie within the threshold.

    A face is explained when it lies within CORE_DISTANCE of an ``explained_by`` face:
    somebody already answered about that person, so asking again teaches little.
    Large projects are judged on an evenly spread sample of DENSITY_SAMPLE faces.
    """
    pool = np.flatnonzero(candidates)
    sample = pool[np.linspace(0, pool.size - 1, min(pool.size, DENSITY_SAMPLE)).astype(int)]
    known = np.flatnonzero(explained_by)
    novelty = _sigmoid(SHARPNESS * (_project_distance(evidence, sample, known) - CORE_DISTANCE))
    encodings = as_encodings(evidence.encodings[sample])
    close = _pairwise_squared(encodings, encodings) < DEFAULT_THRESHOLD**2
    return sample, (close @ novelty) * novelty


FIRST_QUESTION = 1000.0
CONTESTED_PHOTO = 10.0
IN_DOUBT = 5.0
EXPLORING = 1.0


def review_priority(
    evidence: Evidence, scores: Scores, *, max_distance: float | None = None
) -> np.ndarray:
    """Every open face's place in the review order: higher is asked sooner; NaN for faces
    that are not open to questions. What the database stores and the classify page serves
    from (highest first), so the evaluation and the app ask in the same order.
    ``max_distance`` is the project's distance threshold, as :func:`suggest` takes it.

    1. The face :func:`next_question` chooses.
    2. The faces of contested photos ("which face is it?").
    3. The faces the suggestions may be wrong about (:func:`in_doubt`), likeliest first.
    4. While exploring, the densest clusters no answer explains.
    5. The rest by how close they lie to the suggestion boundary (always below 0).
    """
    priority = np.full(evidence.size, np.nan, dtype=np.float64)
    is_open = scores.open
    probability = np.clip(scores.probability.astype(np.float64), 1e-6, 1 - 1e-6)
    logits = np.log(probability) - np.log1p(-probability)
    boundary = math.log(DEFAULT_MIN_PROBABILITY / (1 - DEFAULT_MIN_PROBABILITY))
    priority[is_open] = -np.abs(logits[is_open] - boundary)
    # One question per contested photo: its likeliest face, asked as "which face is it?".
    asked = best_of_each_image(np.flatnonzero(scores.contested), probability, evidence.image_index)
    priority[asked] = CONTESTED_PHOTO + probability[asked]
    doubted = in_doubt(evidence, scores, max_distance=max_distance)
    priority[doubted] = IN_DOUBT + np.linspace(1.0, 0.0, doubted.size, endpoint=False)
    first, ranking = _plan(evidence, scores, max_distance=max_distance, doubted=doubted)
    if ranking is not None:
        # Exploring: if the first question is skipped, the next densest clusters follow.
        sample, density = ranking
        explore = EXPLORING + density / max(float(density.max()), 1e-9)
        priority[sample] = np.fmax(priority[sample], explore)
    if first is not None:
        priority[first] = FIRST_QUESTION
    return priority


# Suggestions ----------------------------------------------------------------------------


def suggest(
    evidence: Evidence,
    scores: Scores,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    max_distance: float | None = None,
) -> Suggestions:
    """Open faces at or above ``min_probability``, the best face of each image only.

    Never a face of a contested photo (it is asked instead), nor, with ``max_distance`` (the
    project's distance threshold), a face farther than that from every yes.
    """
    chosen = _proposed(evidence, scores, min_probability, max_distance)
    estimate = estimate_quality(evidence, scores, chosen, min_probability=min_probability)
    return Suggestions(
        faces=chosen,
        score=scores.score[chosen],
        probability=scores.probability[chosen],
        min_probability=min_probability,
        estimate=estimate,
    )


def suggest_nothing(evidence: Evidence, scores: Scores) -> Suggestions:
    """No suggestion (the project wants more answers first), with the estimates that go with it."""
    none = np.empty(0, dtype=np.intp)
    return Suggestions(
        faces=none,
        score=scores.score[none],
        probability=scores.probability[none],
        min_probability=DEFAULT_MIN_PROBABILITY,
        estimate=estimate_quality(evidence, scores, none),
    )


def evidence_count(evidence: Evidence) -> int:
    """Yes and no answers, and existing statements no answer contradicts: what a project's
    "answers before suggestions" counts."""
    verdicts = np.asarray(evidence.verdicts)
    answered = (verdicts == Verdict.YES) | (verdicts == Verdict.NO)
    return int(answered.sum() + standing_statements(evidence).sum())


def best_of_each_image(
    faces: np.ndarray, values: np.ndarray, image_index: np.ndarray
) -> np.ndarray:
    """Of ``faces``, the one with the highest value on each image, highest first."""
    order = faces[np.lexsort((-values[faces], image_index[faces]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = image_index[order[1:]] != image_index[order[:-1]]
    best = order[first]
    return best[np.argsort(-values[best], kind="stable")]


def estimate_quality(
    evidence: Evidence,
    scores: Scores,
    suggested: np.ndarray,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
) -> Estimate:
    """Precision and recall of "human yes + suggestions", from the answers and the model."""
    verdicts = np.asarray(evidence.verdicts)
    answered = (verdicts == Verdict.YES) | (verdicts == Verdict.NO)
    said_yes = verdicts[answered] == Verdict.YES
    predicted = scores.calibration.probability(scores.score[answered]) >= min_probability
    hits = int((predicted & said_yes).sum())
    suggested_mass = float(scores.probability[suggested].sum())
    confirmed = int(yes_faces(evidence).sum())
    hidden = hidden_positives(evidence, scores, suggested, min_probability=min_probability)
    claimed = confirmed + suggested_mass
    precision_interval, recall_interval = estimate_intervals(
        evidence, scores, suggested, min_probability=min_probability
    )
    return Estimate(
        precision=_ratio(suggested_mass, suggested.size),
        recall=_ratio(claimed, claimed + float(hidden.sum())),
        held_out_precision=_ratio(hits, int(predicted.sum())),
        held_out_recall=_ratio(hits, int(said_yes.sum())),
        answers=int(answered.sum()),
        precision_interval=precision_interval,
        recall_interval=recall_interval,
    )


RARITY_ITERATIONS = 100
"""Most EM steps when estimating how rare the person is among the open faces."""


def hidden_positives(
    evidence: Evidence,
    scores: Scores,
    suggested: np.ndarray,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
) -> np.ndarray:
    """For every open face the grid would not send, how likely it is the person after all.

    Recall's denominator is "the person's faces", and all but the claimed ones hide among
    the open faces. Summing their calibrated probabilities counts the person many times
    over: the calibration is fitted on the faces asked about (near the boundary, yes about
    as often as no) and its logistic tail gives each of the many faces of other people a
    few percent. Two rules keep the count honest:

    1. A face the learner believes is the person (at or above ``min_probability``) but does
       not send (too far from every yes, or on a contested photo) counts at its calibrated
       probability: that is where the answers inform the calibration.
    2. Below, the probabilities are moved to how rare the person is among the open faces
       (Saerens, Latinne and Decaestecker 2002: an EM on the open faces re-estimates the
       person's share, from the share among the answers the calibration was fitted on).
    Zero for faces that are not open or are suggested.
    """
    rest = _unsent(scores, suggested)
    q = scores.probability[rest].astype(np.float64)
    fitted = _answered_share(evidence)
    result = np.zeros(evidence.size, dtype=np.float64)
    result[rest] = _believed_or_rare(q, fitted, _rarity(q, fitted), min_probability)
    return result


def _unsent(scores: Scores, suggested: np.ndarray) -> np.ndarray:
    rest = scores.open.copy()
    rest[suggested] = False
    return rest


def _believed_or_rare(
    q: np.ndarray, fitted: float, share: float, min_probability: float
) -> np.ndarray:
    return np.where(q >= min_probability, q, _shifted(q, fitted, share))


def _answered_share(evidence: Evidence) -> float:
    """The share of yes among the answers the calibration was fitted on (one pseudo-answer
    each way, so it is never 0 or 1)."""
    verdicts = np.asarray(evidence.verdicts)
    yes = float((verdicts == Verdict.YES).sum())
    answered = float(((verdicts == Verdict.YES) | (verdicts == Verdict.NO)).sum())
    return (yes + 1.0) / (answered + 2.0)


def _rarity(q: np.ndarray, fitted: float) -> float:
    """The person's share among faces whose probabilities ``q`` were fitted at share
    ``fitted``: the EM of Saerens et al. (2002), from the plain mean."""
    share = float(q.mean()) if q.size else 0.0
    for _ in range(RARITY_ITERATIONS if q.size else 0):
        previous, share = share, float(_shifted(q, fitted, share).mean())
        if abs(share - previous) < 1e-9:
            break
    return share


def _shifted(q: np.ndarray, fitted: float, share: float) -> np.ndarray:
    """Probabilities fitted at the person's share ``fitted``, moved to share ``share``."""
    odds = share / fitted * q
    return odds / np.maximum(odds + (1.0 - share) / (1.0 - fitted) * (1.0 - q), 1e-300)


INTERVAL_DRAWS = 100
INTERVAL_LEVEL = 0.9
"""The estimates' intervals: how many calibrations are drawn, and the share they cover."""

REDRAWN_PROBABILITY = 1e-3
"""Faces below this probability keep their point estimate in the intervals' draws: in a
large project they are the crowd far from every yes, and redrawing them would cost most of
a rescoring for figures that stay near zero (the rarity shift takes them lower still)."""


def estimate_intervals(
    evidence: Evidence,
    scores: Scores,
    suggested: np.ndarray,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """90 % intervals of the precision and recall the grid would realise.

    Two uncertainties: the calibration (slope and intercept drawn from the fit's Laplace
    posterior, :attr:`Calibration.spread`), and chance (given the probabilities, how many
    suggestions are right and how many unsent faces are the person, each a sum of
    independent yes/no draws, taken as normal). Drawn with a fixed seed, so one set of
    answers always gives one interval. Only faces of REDRAWN_PROBABILITY or more are redrawn
    (and the person's share among the open faces is kept): the rest stay at their point
    estimate, which keeps the draws linear in the faces near the person.
    """
    rng = np.random.default_rng(0)
    near = np.flatnonzero(scores.open & (scores.probability >= REDRAWN_PROBABILITY))
    sent = np.isin(near, suggested)
    point = hidden_positives(evidence, scores, suggested, min_probability=min_probability)
    far = float(point.sum() - point[near].sum())
    fitted = _answered_share(evidence)
    share = _rarity(scores.probability[_unsent(scores, suggested)].astype(np.float64), fitted)
    right, unsent = [], []
    for drawn in _drawn_probabilities(scores, near, evidence.image_index[near], rng):
        right.append(_chance(drawn[:, sent], rng))
        shifted = _believed_or_rare(drawn[:, ~sent], fitted, share, min_probability)
        unsent.append(_chance(shifted, rng))
    claimed = float(yes_faces(evidence).sum()) + np.concatenate(right)
    whole = claimed + far + np.concatenate(unsent)
    precision = np.concatenate(right) / suggested.size if suggested.size else np.empty(0)
    return _bounds(precision), _bounds(claimed[whole > 0] / whole[whole > 0])


DRAWS_AT_ONCE = 25
"""Calibrations drawn in one block: bounds the draws' memory to 25 rows of the faces near."""


def _drawn_probabilities(
    scores: Scores, faces: np.ndarray, images: np.ndarray, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """The probabilities of ``faces`` (rows: calibrations drawn from the fit's posterior, in
    blocks), shared out per image as :func:`score_faces` shares them."""
    calibration = scores.calibration
    theta = rng.multivariate_normal(
        [calibration.slope, calibration.intercept], _covariance(calibration), INTERVAL_DRAWS
    )
    theta[:, 0] = np.maximum(theta[:, 0], MIN_SLOPE)
    values = scores.score[faces].astype(np.float32)
    # Image numbers made compact once, so each block's sums per image cost the faces near.
    compact = np.unique(images, return_inverse=True)[1].reshape(-1)
    count = int(compact.max(initial=-1)) + 1
    for start in range(0, INTERVAL_DRAWS, DRAWS_AT_ONCE):
        block = theta[start : start + DRAWS_AT_ONCE].astype(np.float32)
        drawn = _sigmoid(block[:, :1] * values + block[:, 1:])
        rows = np.arange(block.shape[0])[:, None] * count + compact
        totals = np.bincount(rows.ravel(), weights=drawn.ravel(), minlength=block.shape[0] * count)
        yield drawn / np.maximum(totals[rows], 1.0)


def _covariance(calibration: Calibration) -> np.ndarray:
    slope, both, intercept = calibration.spread
    return np.array([[slope, both], [both, intercept]])


def _chance(p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each row of probabilities ``p``, how many of its faces are the person, drawn
    (normal approximation of a sum of independent yes/no draws, kept within 0 and the
    number of faces)."""
    mean, variance = p.sum(axis=1), (p * (1.0 - p)).sum(axis=1)
    return np.clip(rng.normal(mean, np.sqrt(variance)), 0.0, p.shape[1])


def _bounds(values: np.ndarray) -> tuple[float, float] | None:
    if not values.size:
        return None
    tail = (1.0 - INTERVAL_LEVEL) / 2
    low, high = np.quantile(np.clip(values, 0.0, 1.0), [tail, 1.0 - tail])
    return float(low), float(high)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
