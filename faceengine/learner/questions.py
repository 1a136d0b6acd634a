"""Which face to ask about next, and the review order the classify page serves from.

The answer that teaches the learner most comes first: a contested photo ("which face is it?"),
then the faces the suggestions may be wrong about, then the face nearest the suggestion
boundary; when every face is sure, the densest cluster no answer explains yet.
"""

from __future__ import annotations

import math

import numpy as np

from faceengine.learner.distances import as_encodings, pairwise_squared
from faceengine.learner.evidence import Evidence, other_weights, project_distance, yes_faces
from faceengine.learner.scores import (
    DEFAULT_MIN_PROBABILITY,
    DEFAULT_THRESHOLD,
    SHARPNESS,
    Scores,
    Strategy,
    sigmoid,
)
from faceengine.learner.suggestions import best_of_each_image, open_within, proposed_faces

CORE_DISTANCE = 0.5
"""Looking for a cluster nobody answered about, a face this close to an answered one (or to
a known other) counts as explained already."""


DOUBT = 0.05
"""A face within the project's threshold that the suggestions are wrong about with this
probability or more is asked before any other (``in_doubt``): 95 %, as EXPLORE_GAP."""


EXPLORE_GAP = 3.0
"""When every open face is this sure (log-odds from the threshold: p < 5 % or > 95 %),
the next question explores instead."""


DENSITY_SAMPLE = 2000
"""How many faces stand in for the project when looking for its densest cluster."""


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
    return doubts(evidence, scores, min_probability=min_probability, max_distance=max_distance)[0]


def doubts(
    evidence: Evidence,
    scores: Scores,
    *,
    min_probability: float = DEFAULT_MIN_PROBABILITY,
    max_distance: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`in_doubt`'s faces, likeliest mistake first, and the chance of each mistake."""
    rows = np.flatnonzero(open_within(scores, max_distance) & ~scores.contested)
    proposed = np.zeros(evidence.size, dtype=bool)
    proposed[proposed_faces(evidence, scores, min_probability, max_distance)] = True
    probability = scores.probability[rows].astype(np.float64)
    mistake = np.where(proposed[rows], 1.0 - probability, probability)
    keep = np.flatnonzero(mistake >= DOUBT)
    order = keep[np.argsort(-mistake[keep], kind="stable")]
    return rows[order], mistake[order]


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
    novelty = sigmoid(SHARPNESS * (project_distance(evidence, sample, known) - CORE_DISTANCE))
    encodings = as_encodings(evidence.encodings[sample])
    close = pairwise_squared(encodings, encodings) < DEFAULT_THRESHOLD**2
    return sample, (close @ novelty) * novelty


FIRST_QUESTION = 1000.0
PRIORITY_RESOLUTION = 0.01
"""Review priorities are stored and compared to two decimals (the classify page's order)."""
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

    1. The face :func:`next_question` chooses: FIRST_QUESTION before any yes, else the
       value of its own kind below, raised over any tie (:func:`_first_priority`).
    2. The faces of contested photos ("which face is it?").
    3. The faces the suggestions may be wrong about (:func:`in_doubt`): IN_DOUBT plus the
       chance of the mistake, likeliest first.
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
    # A doubted face's place says how likely the grid's mistake on it is (IN_DOUBT + 0.05
    # to 1): a group of people asks the person whose grid is likeliest wrong first.
    doubted, mistake = doubts(evidence, scores, max_distance=max_distance)
    priority[doubted] = IN_DOUBT + mistake
    first, ranking = _plan(evidence, scores, max_distance=max_distance, doubted=doubted)
    if ranking is not None:
        # Exploring: if the first question is skipped, the next densest clusters follow.
        sample, density = ranking
        explore = EXPLORING + density / max(float(density.max()), 1e-9)
        priority[sample] = np.fmax(priority[sample], explore)
    if first is not None:
        priority[first] = _first_priority(evidence, scores, priority, first)
    return priority


def _first_priority(evidence: Evidence, scores: Scores, priority: np.ndarray, first: int) -> float:
    """The place of :func:`next_question`'s face: FIRST_QUESTION before any yes (the hint,
    or the densest cluster: nothing else ranks it first) and for the centroid strategy's
    random face; otherwise its own kind's value (contested photo, in doubt, exploring, or
    the boundary's nearest face), which ranks first already, raised over any tie at the
    stored resolution.

    A group of people reads this value to know whether a person's learner needs its
    question (``EXPLORING`` or more): tagging every person's next face FIRST_QUESTION made
    every person look in need at every turn, and the turns went round regardless."""
    if not yes_faces(evidence).any() or scores.strategy == Strategy.CENTROID:
        return FIRST_QUESTION
    others = np.delete(priority, first)
    top = float(np.nanmax(others)) if np.isfinite(others).any() else -math.inf
    own = float(priority[first])
    # Compared as the app stores them (to PRIORITY_RESOLUTION): strictly first there too.
    if round(own, 2) > round(top, 2):
        return own
    return round(top, 2) + PRIORITY_RESOLUTION


TURN_SLACK = 2
"""In a group of people, how many questions more than the least served needing person a
person may have had and still be asked first."""


def group_turn(best: np.ndarray, served: np.ndarray) -> int:
    """Whose question a group of people asks next, given each person's highest review
    priority (as stored: to PRIORITY_RESOLUTION; -inf for none) and how many questions each
    was served.

    Of the people whose learner needs its question (EXPLORING or more: a first question, a
    contested photo, a suggestion in doubt, a cluster to explore), those served at most
    TURN_SLACK more than the least served of them; of those, the highest priority (the
    likeliest mistake of a grid, see :func:`review_priority`), then the least served, then
    the first. When nobody needs one, the highest priority.

    Against plain turns (the least served first), ``benchmarks/people.py`` (portraits):
    groups of 6 people, 10 groups x 3 seeds, median 4 -> 3.5 answers together (alone 12),
    worst ratio 0.87 -> 0.80; of 8 people, 5 -> 3.5 (alone 16), worst 0.94 -> 0.82; of 4,
    2 -> 2 (alone 8), worst 0.50 -> 0.38. Without the slack (the likeliest mistake always
    first, in memory) the medians fell as much but the worst rose (15 answers for 6 people,
    18 for 8): a person whose every answer showed another doubt kept the turn.
    """
    best = np.round(np.asarray(best, dtype=np.float64), 2)
    served = np.asarray(served, dtype=np.int64)
    needing = np.flatnonzero(best >= EXPLORING)
    if not needing.size:
        return int(np.argmax(best))
    fair = needing[served[needing] <= served[needing].min() + TURN_SLACK]
    order = np.lexsort((fair, served[fair], -best[fair]))
    return int(fair[order[0]])
