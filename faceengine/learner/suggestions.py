"""What the grid proposes: the open faces likely enough to be the person, one per photo.

A human reviews every proposal; nothing here writes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from faceengine.learner.estimates import Estimate, estimate_quality
from faceengine.learner.evidence import Evidence, standing_portrait
from faceengine.learner.scores import DEFAULT_MIN_PROBABILITY, Scores


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

    The standing portrait (:func:`standing_portrait`: the only face of the person's
    Wikidata image) comes first, at probability 1: a yes for the learner without asking,
    but not on Commons until a person approves it in the grid. The estimates count it as
    a suggestion right for certain.
    """
    chosen = proposed_faces(evidence, scores, min_probability, max_distance)
    portrait = np.flatnonzero(standing_portrait(evidence))
    faces = np.concatenate([portrait, chosen])
    estimate = estimate_quality(evidence, scores, faces, min_probability=min_probability)
    return Suggestions(
        faces=faces,
        score=np.concatenate([scores.score[portrait], scores.score[chosen]]),
        probability=np.concatenate(
            [np.ones(portrait.size, dtype=scores.probability.dtype), scores.probability[chosen]]
        ),
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


def open_within(scores: Scores, max_distance: float | None) -> np.ndarray:
    """Open faces no farther than ``max_distance`` from a yes (all open faces without one)."""
    if max_distance is None:
        return scores.open
    return scores.open & (scores.distance <= max_distance)


def proposed_faces(
    evidence: Evidence, scores: Scores, min_probability: float, max_distance: float | None
) -> np.ndarray:
    """The faces :func:`suggest` proposes, most likely first (without its estimates)."""
    # Only faces above the threshold are sorted: an open face below it never beats one above.
    wanted = open_within(scores, max_distance) & ~scores.contested
    likely = np.flatnonzero(wanted & (scores.probability >= min_probability))
    return best_of_each_image(likely, scores.probability, evidence.image_index)


def best_of_each_image(
    faces: np.ndarray, values: np.ndarray, image_index: np.ndarray
) -> np.ndarray:
    """Of ``faces``, the one with the highest value on each image, highest first."""
    order = faces[np.lexsort((-values[faces], image_index[faces]))]
    first = np.ones(order.size, dtype=bool)
    first[1:] = image_index[order[1:]] != image_index[order[:-1]]
    best = order[first]
    return best[np.argsort(-values[best], kind="stable")]
