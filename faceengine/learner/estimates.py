"""How good the grid's proposals are, judged from the answers: precision, recall and
their 90 % intervals.

The calibration (:mod:`faceengine.learner.scores`) turns scores into probabilities; the
estimates sum them over the faces the grid sends and the faces it leaves, with the corrections
that keep a large project's count honest (:func:`hidden_positives`), and draw calibrations
from the fit's posterior for the intervals (:func:`estimate_intervals`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from faceengine.learner.evidence import Evidence, Verdict, standing_portrait, yes_faces
from faceengine.learner.scores import (
    DEFAULT_MIN_PROBABILITY,
    MIN_SLOPE,
    Calibration,
    Scores,
    sigmoid,
)


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

    The figures' sums, which several people's estimates pool into one
    (:mod:`faceengine.learner.pooled`): ``suggested`` faces sent, ``expected_right`` of them
    expected to be the person (precision's numerator), ``expected_found`` the confirmed
    faces plus ``expected_right`` (recall's numerator) and ``expected_positives`` all the
    person's faces expected (recall's denominator: ``expected_found`` and those hidden).
    """

    precision: float | None
    recall: float | None
    held_out_precision: float | None
    held_out_recall: float | None
    answers: int
    precision_interval: tuple[float, float] | None = None
    recall_interval: tuple[float, float] | None = None
    suggested: int = 0
    expected_right: float = 0.0
    expected_found: float = 0.0
    expected_positives: float = 0.0


def estimate_quality(
    evidence: Evidence,
    scores: Scores,
    suggested: np.ndarray,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    among: np.ndarray | None = None,
) -> Estimate:
    """Precision and recall of "human yes + suggestions", from the answers and the model.

    ``among`` (a mask of the faces) counts only those faces in both figures, the model and
    its calibration still being the whole project's: what a benchmark sets against a truth
    that it knows for some faces only (the faces of group photos nobody named).

    The standing portrait among ``suggested`` (the grid proposes it, but it is Wikidata's
    image, no guess) is a suggestion right for certain, and a yes for the recall."""
    certain = _certain(evidence, suggested, among)
    proposed, suggested = suggested, _guesses(evidence, suggested)
    counted = np.ones(evidence.size, dtype=bool) if among is None else among
    verdicts = np.asarray(evidence.verdicts)
    answered = (verdicts == Verdict.YES) | (verdicts == Verdict.NO)
    said_yes = verdicts[answered] == Verdict.YES
    predicted = scores.calibration.probability(scores.score[answered]) >= min_probability
    hits = int((predicted & said_yes).sum())
    sent = suggested[counted[suggested]]
    suggested_mass = float(scores.probability[sent].sum())
    confirmed = int((yes_faces(evidence) & counted).sum())
    hidden, share = _hidden_and_share(evidence, scores, suggested, min_probability)
    claimed = confirmed + suggested_mass
    positives = claimed + float(hidden[counted].sum())
    precision_interval, recall_interval = estimate_intervals(
        evidence,
        scores,
        proposed,
        min_probability=min_probability,
        hidden=hidden,
        share=share,
        among=among,
    )
    return Estimate(
        precision=_ratio(suggested_mass + certain, sent.size + certain),
        recall=_ratio(claimed, positives),
        held_out_precision=_ratio(hits, int(predicted.sum())),
        held_out_recall=_ratio(hits, int(said_yes.sum())),
        answers=int(answered.sum()),
        precision_interval=precision_interval,
        recall_interval=recall_interval,
        suggested=int(sent.size) + certain,
        expected_right=suggested_mass + certain,
        expected_found=claimed,
        expected_positives=positives,
    )


RARITY_ITERATIONS = 100
"""Most EM steps when estimating how rare the person is among the open faces."""


def _guesses(evidence: Evidence, suggested: np.ndarray) -> np.ndarray:
    """The suggested faces the learner guessed: all but the standing portrait, which the
    grid proposes as Wikidata's image and which the estimates count as a yes."""
    portrait = standing_portrait(evidence)
    return suggested[~portrait[suggested]] if portrait.any() else suggested


def _certain(evidence: Evidence, suggested: np.ndarray, among: np.ndarray | None) -> int:
    """How many of the suggested faces (counted ``among``) are the standing portrait."""
    portrait = standing_portrait(evidence)[suggested]
    return int((portrait & among[suggested]).sum() if among is not None else portrait.sum())


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
    return _hidden_and_share(evidence, scores, suggested, min_probability)[0]


def _hidden_and_share(
    evidence: Evidence, scores: Scores, suggested: np.ndarray, min_probability: float
) -> tuple[np.ndarray, float]:
    """:func:`hidden_positives`, and the person's share among the unsent open faces that
    its rule 2 estimates (the intervals need it too: its EM runs once)."""
    rest = _unsent(scores, suggested)
    q = scores.probability[rest].astype(np.float64)
    fitted = _answered_share(evidence)
    share = _rarity(q, fitted)
    result = np.zeros(evidence.size, dtype=np.float64)
    result[rest] = _believed_or_rare(q, fitted, share, min_probability)
    return result, share


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

REDRAWN_FACES = 20_000
"""Most faces redrawn for the intervals. Beyond it, the draws run on the faces of a sample of
the photos (each photo kept with the same chance, fixed seed), and the sums over the sent
and the unsent faces are scaled up to their full counts (ratio estimates, whose own error is
small beside the calibration's): the draws' cost stays flat as a project grows, where a
million faces hold some 300,000 of 1e-3 or more."""


def estimate_intervals(
    evidence: Evidence,
    scores: Scores,
    suggested: np.ndarray,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    hidden: np.ndarray | None = None,
    share: float | None = None,
    redrawn_faces: int = REDRAWN_FACES,
    among: np.ndarray | None = None,
) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
    """90 % intervals of the precision and recall the grid would realise.

    Two uncertainties: the calibration (slope and intercept drawn from the fit's Laplace
    posterior, :attr:`Calibration.spread`), and chance (given the probabilities, how many
    suggestions are right and how many unsent faces are the person, each a sum of
    independent yes/no draws, taken as normal). Drawn with a fixed seed, so one set of
    answers always gives one interval. Only faces of REDRAWN_PROBABILITY or more are redrawn
    (and the person's share among the open faces is kept): the rest stay at their point
    estimate. Of those, at most about ``redrawn_faces`` are drawn (whole photos, see
    REDRAWN_FACES). ``hidden`` is :func:`hidden_positives` when the caller has it already,
    and ``share`` the person's share among the unsent open faces it was drawn with;
    ``among`` as in :func:`estimate_quality`.
    """
    rng = np.random.default_rng(0)
    certain = _certain(evidence, suggested, among)
    suggested = _guesses(evidence, suggested)
    counted = np.ones(evidence.size, dtype=bool) if among is None else among
    redrawn = scores.open & (scores.probability >= REDRAWN_PROBABILITY) & counted
    if hidden is None or share is None:
        hidden, share = _hidden_and_share(evidence, scores, suggested, min_probability)
    far = float(hidden[~redrawn & counted].sum())
    everyone = np.flatnonzero(redrawn)
    near = _sampled_by_image(everyone, evidence.image_index, redrawn_faces)
    sent = np.isin(near, suggested)
    # What each drawn face stands for: the sent and the unsent faces near, each in full.
    all_sent = int(np.isin(everyone, suggested).sum())
    sent_weight = all_sent / max(int(sent.sum()), 1)
    unsent_weight = (everyone.size - all_sent) / max(int((~sent).sum()), 1)
    fitted = _answered_share(evidence)
    right, unsent = [], []
    for drawn in _drawn_probabilities(scores, near, evidence.image_index[near], rng):
        right.append(_chance(drawn[:, sent], rng, sent_weight))
        shifted = _believed_or_rare(drawn[:, ~sent], fitted, share, min_probability)
        unsent.append(_chance(shifted, rng, unsent_weight))
    claimed = float((yes_faces(evidence) & counted).sum()) + np.concatenate(right)
    whole = claimed + far + np.concatenate(unsent)
    sent_here = int(counted[suggested].sum()) + certain
    precision = (np.concatenate(right) + certain) / sent_here if sent_here else np.empty(0)
    return _bounds(precision), _bounds(claimed[whole > 0] / whole[whole > 0])


def _sampled_by_image(faces: np.ndarray, images: np.ndarray, most: int) -> np.ndarray:
    """``faces`` if there are at most ``most``; else the faces of a sample of their photos,
    each photo kept with the same chance (a seed of its own, so the calibrations drawn
    after are those of the full draw)."""
    if faces.size <= most:
        return faces
    photos, compact = np.unique(images[faces], return_inverse=True)
    kept = np.random.default_rng(1).random(photos.size) < most / faces.size
    return faces[kept[compact.reshape(-1)]]


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
        drawn = sigmoid(block[:, :1] * values + block[:, 1:])
        rows = np.arange(block.shape[0])[:, None] * count + compact
        totals = np.bincount(rows.ravel(), weights=drawn.ravel(), minlength=block.shape[0] * count)
        yield drawn / np.maximum(totals[rows], 1.0)


def _covariance(calibration: Calibration) -> np.ndarray:
    slope, both, intercept = calibration.spread
    return np.array([[slope, both], [both, intercept]])


def _chance(p: np.ndarray, rng: np.random.Generator, weight: float = 1.0) -> np.ndarray:
    """For each row of probabilities ``p``, how many of its faces are the person, drawn
    (normal approximation of a sum of independent yes/no draws, kept within 0 and the
    number of faces); each face standing for ``weight`` faces when ``p`` is a sample."""
    mean, variance = p.sum(axis=1) * weight, (p * (1.0 - p)).sum(axis=1) * weight
    return np.clip(rng.normal(mean, np.sqrt(variance)), 0.0, p.shape[1] * weight)


def _bounds(values: np.ndarray) -> tuple[float, float] | None:
    if not values.size:
        return None
    tail = (1.0 - INTERVAL_LEVEL) / 2
    low, high = np.quantile(np.clip(values, 0.0, 1.0), [tail, 1.0 - tail])
    return float(low), float(high)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None
