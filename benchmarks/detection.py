"""The detection benchmark: a folder of images through decode, thumbnail, detect and encode,
as a detect worker runs them, with throughput, peak memory and recall against a manifest.

Kept apart from ``faceengine.detection`` (the detector the workers run); used by the
``benchmark_detection`` command and its tests.
"""

from __future__ import annotations

import csv
import os
import resource
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceengine.detection import DETECTION, DetectionConfig, analyse_image, load_models
from faceengine.imaging import BadImageError, decode_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp"})


@dataclass(frozen=True)
class ImageOutcome:
    """What the benchmark got from one file: faces found, or the bad-image reason."""

    path: Path
    faces: int = 0
    small_faces: int = 0
    error: str = ""


@dataclass(frozen=True)
class BenchmarkReport:
    config: DetectionConfig
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
            "thumb_width": self.config.thumb_width,
            "upsample": self.config.upsample,
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


def run_benchmark(paths: Sequence[Path], *, config: DetectionConfig = DETECTION) -> BenchmarkReport:
    """Decode, thumbnail, detect and encode every file as a detect worker would; time it all."""
    load_models()  # A worker loads once; the per-image cost is what scales.
    started, cpu_started = time.perf_counter(), time.process_time()
    outcomes = tuple(_benchmark_one(path, config=config) for path in paths)
    return BenchmarkReport(
        config=config,
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
