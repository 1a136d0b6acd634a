"""Several detectors' faces on one photo, merged: one face per face, the ranked box kept."""

from __future__ import annotations

import numpy as np
import pytest

from faceengine.detection import DetectedFace, FaceBox
from faceengine.merging import MERGE_IOU, iou, merge_faces


def face(left: float, top: float, width: float = 0.2, height: float = 0.2) -> DetectedFace:
    return DetectedFace(
        box=FaceBox(left, top, width, height),
        width_px=100,
        height_px=100,
        score=1.0,
        small=False,
        encoding=np.zeros(128, dtype=np.float32),
    )


def test_iou_of_equal_apart_and_half_overlapping_boxes() -> None:
    box = FaceBox(0.1, 0.1, 0.2, 0.2)
    assert iou(box, box) == pytest.approx(1.0)
    assert iou(box, FaceBox(0.5, 0.5, 0.2, 0.2)) == 0.0
    assert iou(box, FaceBox(0.3, 0.1, 0.2, 0.2)) == pytest.approx(0.0)  # touching edges only
    assert iou(box, FaceBox(0.2, 0.1, 0.2, 0.2)) == pytest.approx(1 / 3)
    assert iou(box, FaceBox(0.2, 0.2, 0.0, 0.0)) == 0.0  # an empty box


def test_overlapping_boxes_of_two_detectors_are_one_face_with_the_first_ranked_box() -> None:
    first, second = face(0.10, 0.10), face(0.12, 0.13, 0.22, 0.21)
    assert iou(first.box, second.box) >= MERGE_IOU

    merged = merge_faces([("dlib", [first]), ("http", [second])])

    assert [(m.face, m.found_by) for m in merged] == [(first, ("dlib", "http"))]
    # Ranked the other way, the other box wins.
    merged = merge_faces([("http", [second]), ("dlib", [first])])
    assert [(m.face, m.found_by) for m in merged] == [(second, ("http", "dlib"))]


def test_separate_boxes_stay_separate_faces_each_found_by_its_detector() -> None:
    left, right, below = face(0.05, 0.1), face(0.6, 0.1), face(0.3, 0.7)

    merged = merge_faces([("dlib", [left]), ("http", [right, below])])

    assert [(m.face, m.found_by) for m in merged] == [
        (left, ("dlib",)),
        (right, ("http",)),
        (below, ("http",)),
    ]


def test_boxes_overlapping_less_than_the_threshold_are_two_faces() -> None:
    first, shifted = face(0.1, 0.1), face(0.2, 0.1)  # IoU 1/3
    assert iou(first.box, shifted.box) < MERGE_IOU
    assert len(merge_faces([("dlib", [first]), ("http", [shifted])])) == 2
    merged = merge_faces([("dlib", [first]), ("http", [shifted])], threshold=0.3)
    assert [m.found_by for m in merged] == [("dlib", "http")]


def test_each_face_pairs_once_with_the_box_that_overlaps_it_most() -> None:
    kept = face(0.10, 0.10)
    near, nearer = face(0.14, 0.10), face(0.11, 0.10)  # both above the threshold

    merged = merge_faces([("dlib", [kept]), ("http", [near, nearer])])

    assert [(m.face, m.found_by) for m in merged] == [
        (kept, ("dlib", "http")),
        (near, ("http",)),  # the other box is a face of its own: one detector saw two
    ]


def test_two_faces_of_one_detector_are_never_merged_with_each_other() -> None:
    one, overlapping = face(0.10, 0.10), face(0.11, 0.10)
    merged = merge_faces([("dlib", [one, overlapping])])
    assert [m.found_by for m in merged] == [("dlib",), ("dlib",)]


def test_three_detectors_record_every_finder_in_rank_order() -> None:
    a, b, c = face(0.10, 0.10), face(0.11, 0.11), face(0.60, 0.60)
    c_again = face(0.61, 0.60)

    merged = merge_faces([("first", [a]), ("second", [b, c]), ("third", [c_again])])

    assert [(m.face, m.found_by) for m in merged] == [
        (a, ("first", "second")),
        (c, ("second", "third")),
    ]


def test_no_detector_or_no_faces_merge_to_nothing() -> None:
    assert merge_faces([]) == []
    assert merge_faces([("dlib", []), ("http", [])]) == []
