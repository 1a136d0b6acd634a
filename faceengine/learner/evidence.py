"""What the learner knows about a project, one row per face, and what the answers imply.

The services read a project's faces, answers and statements from the database into an
:class:`Evidence`; the functions here say which faces are a yes, which are somebody else, and
which are still open to a question or a suggestion.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from faceengine.learner.distances import as_encodings, held_out_distance, nearest_distance


class Verdict(IntEnum):
    """One human answer on a face, as stored in :attr:`Evidence.verdicts`."""

    NONE = 0
    YES = 1
    NO = -1
    SKIP = 2


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


def standing_portrait(evidence: Evidence) -> np.ndarray:
    """The face of the person's Wikidata image (P18) when that image holds no other face
    and no human answered it: Wikidata says the image shows the person, so its only face
    is a yes without asking, as an existing statement's face is. Unlike a statement it
    is not on Commons yet: the grid proposes it, and it is sent only once approved."""
    mask = np.zeros(evidence.size, dtype=bool)
    hint = evidence.hint
    if hint is None or evidence.verdicts[hint] != Verdict.NONE:
        return mask
    alone = int(np.count_nonzero(evidence.image_index == evidence.image_index[hint])) == 1
    mask[hint] = alone and not evidence.bootstrap_mask()[hint]
    return mask


def standing_yes(evidence: Evidence) -> np.ndarray:
    """The yes faces no human gave: standing statements and the standing portrait."""
    return standing_statements(evidence) | standing_portrait(evidence)


def implied_no(evidence: Evidence) -> np.ndarray:
    """Unanswered faces on an image where another face is a yes (a human's, a statement's
    or the portrait's).

    One face per person per image: after a yes, the image's other faces are not the person,
    for this project.
    """
    verdicts = np.asarray(evidence.verdicts)
    stated = standing_yes(evidence)
    said_yes = on_images_of(evidence.image_index, (verdicts == Verdict.YES) | stated)
    return (verdicts == Verdict.NONE) & said_yes & ~stated


def open_faces(evidence: Evidence) -> np.ndarray:
    """Faces that may still be asked or suggested: unanswered, not implied no, and not an
    existing statement's face or the standing portrait (a yes without asking)."""
    unanswered = np.asarray(evidence.verdicts) == Verdict.NONE
    stated = evidence.bootstrap_mask() | standing_portrait(evidence)
    return unanswered & ~implied_no(evidence) & ~stated


def yes_faces(evidence: Evidence) -> np.ndarray:
    """Human yes answers, plus the faces that stand as a yes without asking (bootstrap
    faces and the portrait's) that no human answer contradicts."""
    return (np.asarray(evidence.verdicts) == Verdict.YES) | standing_yes(evidence)


def other_weights(evidence: Evidence) -> np.ndarray:
    """How surely each face is somebody else: 1 for human no and implied no, else ``against``."""
    verdicts = np.asarray(evidence.verdicts)
    surely_other = (verdicts == Verdict.NO) | implied_no(evidence)
    weights = np.where(surely_other, np.float32(1.0), evidence.against_weights())
    weights[yes_faces(evidence)] = 0.0
    return weights


def evidence_count(evidence: Evidence) -> int:
    """Yes and no answers, and the yes faces standing without an answer (existing
    statements, the portrait): what a project's "answers before suggestions" counts."""
    verdicts = np.asarray(evidence.verdicts)
    answered = (verdicts == Verdict.YES) | (verdicts == Verdict.NO)
    return int(answered.sum() + standing_yes(evidence).sum())


def project_distance(
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
