"""Several detectors' faces on one photo merged into one list, the detectors ranked.

Two boxes of two detectors that overlap enough (intersection over union at least
``MERGE_IOU``) are one face. The face keeps the box (and the encoding, if any) of the detector
ranked first among those that found it, and records every detector that found it, in rank
order. Pure computation on ``FaceBox`` values: no Django, no models, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from faceengine.detection import DetectedFace, FaceBox

# Two detectors' boxes of one face overlap far more than this, two faces' boxes far less.
# dlib's HOG and its CNN frame a face differently (the CNN's box is larger and lower): on the
# 410 shared photos (``benchmark_detection --detectors``) the 336 faces both found have boxes
# of IoU 0.43 to 1 (median 0.73), and no box of one has a box of the other at IoU 0.1 to 0.4.
# 0.5, the usual cut for "the same object" (PASCAL VOC), would have split some of those faces
# in two; neighbours in a group photo touch at most, far below 0.4.
MERGE_IOU = 0.4


@dataclass(frozen=True)
class MergedFace:
    """One face of the photo: its detection by the first-ranked detector that found it."""

    face: DetectedFace
    found_by: tuple[str, ...]


def iou(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes (0 when they do not overlap or one is empty)."""
    width = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    height = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def merge_faces(
    ranked: Sequence[tuple[str, Sequence[DetectedFace]]], *, threshold: float = MERGE_IOU
) -> list[MergedFace]:
    """The faces of every detector, in rank order, one per face.

    1. The first detector's faces, in its order, each found by it.
    2. Each next detector's faces are paired with the faces kept so far, the most
       overlapping pair first, each face at most once on either side, and only pairs of
       IoU at least ``threshold``: a paired face adds the detector to ``found_by``, its box
       stays the one of the detector ranked before.
    3. Its unpaired faces are new faces, after the ones kept, in its order.
    Two faces of one detector are never merged with each other (it saw two faces).
    """
    merged: list[MergedFace] = []
    for name, faces in ranked:
        paired = _pairs([m.face.box for m in merged], [f.box for f in faces], threshold)
        for kept in paired:
            merged[kept] = MergedFace(merged[kept].face, (*merged[kept].found_by, name))
        taken = set(paired.values())
        merged += [MergedFace(f, (name,)) for i, f in enumerate(faces) if i not in taken]
    return merged


def _pairs(kept: Sequence[FaceBox], new: Sequence[FaceBox], threshold: float) -> dict[int, int]:
    """Greedy one-to-one pairing, the highest IoU first: {index in kept: index in new}."""
    overlaps = sorted(
        ((iou(a, b), i, j) for i, a in enumerate(kept) for j, b in enumerate(new)),
        key=lambda pair: (-pair[0], pair[1], pair[2]),
    )
    paired: dict[int, int] = {}
    taken: set[int] = set()
    for overlap, i, j in overlaps:
        if overlap < threshold:
            break
        if i not in paired and j not in taken:
            paired[i] = j
            taken.add(j)
    return paired
