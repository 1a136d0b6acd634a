"""Find faces and compute their 128-D encodings: dlib's HOG detector, face_recognition's models.

Pure computation, no database and no Django, so workers, management commands and scripts share
it. Boxes are fractions of the image, so detecting on a thumbnail gives the boxes of the full
file (DESIGN.md, "Coordinates").

dlib is driven directly with the model files of the face_recognition_models package, as
face_recognition 1.3 does (HOG detector, 5-point landmarks, one jitter, box trimmed to the image
before landmarks). The encoding network runs in numpy (``faceengine.resnet``: the same weights,
about 6x faster than the prebuilt dlib, which has no BLAS), so encodings equal
face_recognition's to about 1e-6. Importing face_recognition itself would load two unused
models (CNN detector, 68-point landmarks, ~100 MB) and set Pillow's LOAD_TRUNCATED_IMAGES for
the whole process, which would make truncated downloads decode silently instead of raising
BadImageError.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faceengine import resnet
from faceengine.imaging import decode_image, downscale_to_width, image_to_array

# Below this height (in pixels of the analysed image) an encoding is not trustworthy. Measured
# on 216 large identity faces shrunk step by step: under 40 px the encoding moves on average
# more than 0.2 (p90 > 0.3) from the same face seen large, half the 0.6 same-person cut-off,
# and below 26 px the nearest identity starts to be wrong.
SMALL_FACE_HEIGHT_PX = 40


@dataclass(frozen=True)
class DetectionConfig:
    """How an image is analysed: the Commons thumbnail width fetched, and HOG upsampling."""

    thumb_width: int
    upsample: int


# Chosen by measurement over every standard width and 0-2 upsamples (issue 4 report): no
# other setting reached the same recall at no more CPU per face. 960 px finds one more of the
# 90 group-photo faces but costs 8-27 % more CPU per face and adds false positives; a second
# upsample is 2-4x slower and finds fewer; no upsample misses most group faces. One setting
# until a second one measures differently (a switch between equal settings does nothing).
DETECTION = DetectionConfig(thumb_width=500, upsample=1)

# The model behind these encodings, as each face records it (Face.encoder): dlib's ResNet
# face descriptor (dlib_face_recognition_resnet_model_v1) on 5-point landmarks. Encodings of
# two models are not comparable; the learner never mixes them (faces/services/scoring.py).
ENCODER = "dlib-resnet-v1"
# dlib's compute_face_descriptor default: the chip shows a quarter of the face's size around it.
CHIP_PADDING = 0.25


@dataclass(frozen=True)
class FaceBox:
    """A face box as fractions (0..1) of the image it was found in."""

    left: float
    top: float
    width: float
    height: float

    @classmethod
    def from_pixels(
        cls, *, left: int, top: int, right: int, bottom: int, image_width: int, image_height: int
    ) -> FaceBox:
        """Clamp a pixel box to the image, then express it as fractions."""
        left, right = max(left, 0), min(right, image_width)
        top, bottom = max(top, 0), min(bottom, image_height)
        return cls(
            left=left / image_width,
            top=top / image_height,
            width=max(right - left, 0) / image_width,
            height=max(bottom - top, 0) / image_height,
        )

    def to_pixels(self, *, image_width: int, image_height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels of an image of the given size, inside it."""
        left = _clamp(round(self.left * image_width), 0, image_width)
        top = _clamp(round(self.top * image_height), 0, image_height)
        right = _clamp(round((self.left + self.width) * image_width), left, image_width)
        bottom = _clamp(round((self.top + self.height) * image_height), top, image_height)
        return left, top, right, bottom


@dataclass(frozen=True)
class DetectedFace:
    """One face found in an image. Small faces are kept and flagged, never dropped."""

    box: FaceBox
    width_px: int
    height_px: int
    score: float
    small: bool
    # Read-only float32 (128,); left out of == because arrays do not compare to one bool.
    encoding: np.ndarray = field(compare=False, repr=False)


@dataclass(frozen=True)
class _Models:
    detector: Any
    shape_predictor: Any
    encoder: resnet.ResNet


@functools.cache
def load_models() -> _Models:
    """Load the models once per process (under 1 s); workers may warm it early.

    Imported lazily so that the web process, which imports this module's types, never pays.
    BLAS gets one thread: a worker process analyses one image at a time and there is one
    process per core (more threads would only fight the other processes for the cores).
    """
    import dlib
    from threadpoolctl import threadpool_limits

    model_files = resnet.model_files()

    threadpool_limits(limits=1, user_api="blas")
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        shape_predictor=dlib.shape_predictor(
            model_files.pose_predictor_five_point_model_location()
        ),
        encoder=resnet.load(model_files.face_recognition_model_location()),
    )


def detect_faces(rgb: np.ndarray, *, upsample: int = 1) -> list[DetectedFace]:
    """Every face dlib's HOG detector finds in an RGB array, with its encoding."""
    _check_rgb(rgb)
    rects, scores, _ = load_models().detector.run(rgb, upsample, 0.0)
    return faces_at(rgb, rects, scores)


def faces_at(rgb: np.ndarray, rects: Sequence[Any], scores: Sequence[float]) -> list[DetectedFace]:
    """The faces in dlib rectangles ``rects`` of an RGB array (a detector's finds, with its
    ``scores``), each encoded as the pipeline encodes a face."""
    _check_rgb(rgb)
    height, width = rgb.shape[:2]
    pixel_boxes = [
        _clamped_pixels(rect.left(), rect.top(), rect.right(), rect.bottom(), width, height)
        for rect in rects
    ]
    encodings = _encode(rgb, pixel_boxes)
    return [
        _detected_face(box, float(score), encoding, width=width, height=height)
        for box, score, encoding in zip(pixel_boxes, scores, encodings, strict=True)
    ]


def encode_box(rgb: np.ndarray, box: FaceBox) -> np.ndarray:
    """The encoding of the face inside `box` (fractions), e.g. a box a person drew by hand."""
    _check_rgb(rgb)
    height, width = rgb.shape[:2]
    pixels = box.to_pixels(image_width=width, image_height=height)
    if pixels[2] <= pixels[0] or pixels[3] <= pixels[1]:
        raise ValueError(f"empty face box {box}")
    return _encode(rgb, [pixels])[0]


def analyse_image(image: Image.Image, *, config: DetectionConfig) -> list[DetectedFace]:
    """Detect on the image as the pipeline sees it: no wider than the config's thumbnail."""
    return detect_faces(thumbnail_array(image, config=config), upsample=config.upsample)


def thumbnail_array(image: Image.Image, *, config: DetectionConfig) -> np.ndarray:
    """The RGB array detection looks at: the image no wider than the config's thumbnail."""
    return image_to_array(downscale_to_width(image, width=config.thumb_width))


def analyse_file(data: bytes, *, config: DetectionConfig) -> list[DetectedFace]:
    """:func:`analyse_image` of downloaded bytes (BadImageError if they are no picture)."""
    return analyse_image(decode_image(data), config=config)


def encode_boxes(data: bytes, boxes: Sequence[FaceBox]) -> list[np.ndarray | None]:
    """:func:`encode_box` of each box of the picture in ``data``; None for a box that holds
    no pixels of it (too thin for this picture's size)."""
    rgb = image_to_array(decode_image(data))
    encodings: list[np.ndarray | None] = []
    for box in boxes:
        try:
            encodings.append(encode_box(rgb, box))
        except ValueError:
            encodings.append(None)
    return encodings


def load_image(source: str | Path | bytes) -> np.ndarray:
    """A file path or image bytes as a safe, upright RGB array; for scripts and tests."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return image_to_array(decode_image(data))


def _encode(rgb: np.ndarray, pixel_boxes: Sequence[tuple[int, int, int, int]]) -> list[np.ndarray]:
    if not pixel_boxes:
        return []
    import dlib

    models = load_models()
    shapes = dlib.full_object_detections()
    for left, top, right, bottom in pixel_boxes:
        shapes.append(models.shape_predictor(rgb, dlib.rectangle(left, top, right, bottom)))
    # The aligned chips dlib's compute_face_descriptor cuts (150 px, padding 0.25), without
    # jitter as face_recognition asks (num_jitters=1). One chip per pass: a face's encoding
    # then never depends on the other faces of its photo, to the last bit.
    chips = dlib.get_face_chips(rgb, shapes, size=resnet.CHIP_SIZE, padding=CHIP_PADDING)
    return [_frozen_encoding(models.encoder.describe(np.asarray(chip)[None])[0]) for chip in chips]


def _frozen_encoding(descriptor: np.ndarray) -> np.ndarray:
    encoding = np.array(descriptor, dtype=np.float32)
    encoding.setflags(write=False)
    return encoding


def _detected_face(
    pixels: tuple[int, int, int, int],
    score: float,
    encoding: np.ndarray,
    *,
    width: int,
    height: int,
) -> DetectedFace:
    left, top, right, bottom = pixels
    box = FaceBox.from_pixels(
        left=left, top=top, right=right, bottom=bottom, image_width=width, image_height=height
    )
    return DetectedFace(
        box=box,
        width_px=right - left,
        height_px=bottom - top,
        score=score,
        small=bottom - top < SMALL_FACE_HEIGHT_PX,
        encoding=encoding,
    )


def _clamped_pixels(
    left: int, top: int, right: int, bottom: int, width: int, height: int
) -> tuple[int, int, int, int]:
    # face_recognition trims the detector's box to the image before landmarks; doing the same
    # keeps encodings identical to it and lets encode_box(stored box) reproduce them.
    return max(left, 0), max(top, 0), min(right, width), min(bottom, height)


def _clamp(value: int, low: int, high: int) -> int:
    return min(max(value, low), high)


def _check_rgb(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB uint8 array, got {rgb.dtype} {rgb.shape}")
