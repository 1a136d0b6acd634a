"""Find faces and compute their 128-D encodings: dlib's HOG detector, face_recognition's models.

Pure computation, no database and no Django, so workers, management commands and scripts share
it. Boxes are fractions of the image, so detecting on a thumbnail gives the boxes of the full
file (DESIGN.md, "Coordinates").

dlib is driven directly with the model files of the face_recognition_models package, exactly as
face_recognition 1.3 does (HOG detector, 5-point landmarks, one jitter, box trimmed to the image
before landmarks), so encodings equal face_recognition's to the last bit. Importing
face_recognition itself would load two unused models (CNN detector, 68-point landmarks,
~100 MB) and set Pillow's LOAD_TRUNCATED_IMAGES for the whole process, which would make
truncated downloads decode silently instead of raising BadImageError.
"""

from __future__ import annotations

import csv
import functools
import os
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from faces.imaging import BadImageError, decode_image, downscale_to_width, image_to_array

# Below this height (in pixels of the analysed image) an encoding is not trustworthy. Measured
# on 216 large identity faces shrunk step by step: under 40 px the encoding moves on average
# more than 0.2 (p90 > 0.3) from the same face seen large, half the 0.6 same-person cut-off,
# and below 26 px the nearest identity starts to be wrong.
SMALL_FACE_HEIGHT_PX = 40
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp"})


@dataclass(frozen=True)
class DetectionConfig:
    """How an image is analysed: the Commons thumbnail width fetched, and HOG upsampling."""

    thumb_width: int
    upsample: int


CONFIGS: dict[str, DetectionConfig] = {
    # Chosen by measurement over every standard width and 0-2 upsamples (issue 4 report): no
    # other setting reached the anchor's recall at no more CPU per face. 960 px finds one more
    # of the 90 group-photo faces but costs 8-27 % more CPU per face and adds false positives;
    # a second upsample is 2-4x slower and finds fewer; no upsample misses most group faces.
    "default": DetectionConfig(thumb_width=500, upsample=1),
    # The anchor tool's setting, kept as the yardstick.
    "wikivisage": DetectionConfig(thumb_width=500, upsample=1),
}


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
    encoder: Any


@functools.cache
def load_models() -> _Models:
    """Load dlib's models once per process (1-2 s; RSS ~85 MB after); workers may warm it early.

    Imported lazily so that the web process, which imports this module's types, never pays.
    """
    import dlib
    import face_recognition_models as model_files

    return _Models(
        detector=dlib.get_frontal_face_detector(),
        shape_predictor=dlib.shape_predictor(
            model_files.pose_predictor_five_point_model_location()
        ),
        encoder=dlib.face_recognition_model_v1(model_files.face_recognition_model_location()),
    )


def detect_faces(rgb: np.ndarray, *, upsample: int = 1) -> list[DetectedFace]:
    """Every face dlib's HOG detector finds in an RGB array, with its encoding."""
    _check_rgb(rgb)
    height, width = rgb.shape[:2]
    rects, scores, _ = load_models().detector.run(rgb, upsample, 0.0)
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
    thumbnail = downscale_to_width(image, width=config.thumb_width)
    return detect_faces(image_to_array(thumbnail), upsample=config.upsample)


def load_image(source: str | Path | bytes) -> np.ndarray:
    """A file path or image bytes as a safe, upright RGB array; for scripts and tests."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return image_to_array(decode_image(data))


@dataclass(frozen=True)
class ImageOutcome:
    """What the benchmark got from one file: faces found, or the bad-image reason."""

    path: Path
    faces: int = 0
    small_faces: int = 0
    error: str = ""


@dataclass(frozen=True)
class BenchmarkReport:
    config_name: str
    outcomes: tuple[ImageOutcome, ...]
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float

    @property
    def images(self) -> int:
        return len(self.outcomes)

    @property
    def faces(self) -> int:
        return sum(outcome.faces for outcome in self.outcomes)

    @property
    def errors(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.error)

    def summary(self) -> dict[str, Any]:
        """The figures `benchmark_detection --json` prints, under its documented keys."""
        seconds = max(self.seconds, 1e-9)
        return {
            "config": self.config_name,
            "images": self.images,
            "faces": self.faces,
            "seconds": round(self.seconds, 3),
            "images_per_second": round(self.images / seconds, 3),
            "faces_per_second": round(self.faces / seconds, 3),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
        }


@dataclass(frozen=True)
class FolderRecall:
    """Faces found against the manifest's expected_faces for the images of one folder."""

    folder: str
    images: int
    expected: int
    found: int
    # Per image min(found, expected): a count-based recall, extra faces do not make up for misses.
    matched: int
    extra: int
    uncounted_images: int

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0


def find_images(root: Path) -> list[Path]:
    """Image files under `root`, recursively, in a stable order."""
    return sorted(
        path for path in root.rglob("*") if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
    )


def run_benchmark(paths: Sequence[Path], *, config_name: str) -> BenchmarkReport:
    """Decode, thumbnail, detect and encode every file as a detect worker would; time it all."""
    config = CONFIGS[config_name]
    load_models()  # A worker loads once; the per-image cost is what scales.
    started, cpu_started = time.perf_counter(), time.process_time()
    outcomes = tuple(_benchmark_one(path, config=config) for path in paths)
    return BenchmarkReport(
        config_name=config_name,
        outcomes=outcomes,
        seconds=time.perf_counter() - started,
        cpu_seconds=time.process_time() - cpu_started,
        peak_rss_mb=peak_rss_mb(),
    )


def peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_expected_faces(manifest: Path) -> dict[Path, int | None]:
    """expected_faces by absolute image path; None where the manifest gives no count."""
    base = _path_key(manifest).parent
    with manifest.open(newline="", encoding="utf-8") as handle:
        return {
            _path_key(base / row["file"]): int(row["expected_faces"])
            if row["expected_faces"]
            else None
            for row in csv.DictReader(handle)
        }


def recall_by_folder(
    outcomes: Iterable[ImageOutcome], *, expected: dict[Path, int | None], root: Path
) -> list[FolderRecall]:
    """Group outcomes by their folder under `root` and compare with the manifest."""
    groups: dict[str, list[ImageOutcome]] = {}
    for outcome in outcomes:
        folder = outcome.path.parent.relative_to(root).as_posix()
        groups.setdefault(root.name if folder == "." else folder, []).append(outcome)
    return [
        _folder_recall(folder, group, expected=expected) for folder, group in sorted(groups.items())
    ]


def _folder_recall(
    folder: str, outcomes: list[ImageOutcome], *, expected: dict[Path, int | None]
) -> FolderRecall:
    counted: list[tuple[int, int]] = []
    for outcome in outcomes:
        want = expected.get(_path_key(outcome.path))
        if want is not None:
            counted.append((outcome.faces, want))
    return FolderRecall(
        folder=folder,
        images=len(outcomes),
        expected=sum(want for _, want in counted),
        found=sum(got for got, _ in counted),
        matched=sum(min(got, want) for got, want in counted),
        extra=sum(max(got - want, 0) for got, want in counted),
        uncounted_images=len(outcomes) - len(counted),
    )


def _path_key(path: Path) -> Path:
    # Absolute and normalised but with symlinks kept: a benchmark folder may link its images
    # from the shared data, and the manifest names the links, not their targets.
    return Path(os.path.abspath(path))


def _benchmark_one(path: Path, *, config: DetectionConfig) -> ImageOutcome:
    try:
        faces = analyse_image(decode_image(path.read_bytes()), config=config)
    except BadImageError as error:
        return ImageOutcome(path=path, error=error.reason_code)
    return ImageOutcome(
        path=path, faces=len(faces), small_faces=sum(1 for face in faces if face.small)
    )


def _encode(rgb: np.ndarray, pixel_boxes: Sequence[tuple[int, int, int, int]]) -> list[np.ndarray]:
    if not pixel_boxes:
        return []
    import dlib

    models = load_models()
    shapes = dlib.full_object_detections()
    for left, top, right, bottom in pixel_boxes:
        shapes.append(models.shape_predictor(rgb, dlib.rectangle(left, top, right, bottom)))
    # num_jitters=1 is face_recognition's setting: no jitter, deterministic. (A batch is not
    # faster than one call per face on CPU; measured 1.41 s against 1.44 s for 24 faces.)
    descriptors = models.encoder.compute_face_descriptor(rgb, shapes, 1)
    return [_frozen_encoding(descriptor) for descriptor in descriptors]


def _frozen_encoding(descriptor: Iterable[float]) -> np.ndarray:
    encoding = np.asarray(list(descriptor), dtype=np.float32)
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
