"""The labelled manifest and the faces of its images: what the truthful reviewer knows.

A manifest is a CSV with columns ``file`` and ``identity`` (paths relative to the CSV); its
faces are detected once by the pipeline's own detection and cached beside it, or read from a
precomputed npz (``reference_encodings.npz``).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

NOT_A_PERSON = frozenset({"unknown", "multi", "none"})
GROUP_PHOTOS = "multi"
CACHE_VERSION = "2"


class EvaluationError(Exception):
    """A manifest or option the evaluation cannot work with; ``str()`` says why."""


@dataclass(frozen=True)
class FaceTable:
    """Every face found in the manifest's images: its file, box and encoding.

    ``boxes`` are (left, top, width, height) as fractions of the image, as the app stores them.
    """

    files: np.ndarray
    boxes: np.ndarray
    encodings: np.ndarray

    @property
    def areas(self) -> np.ndarray:
        return self.boxes[:, 2] * self.boxes[:, 3]

    def restricted_to(self, files: set[str]) -> FaceTable:
        keep = np.array([str(name) in files for name in self.files], dtype=bool)
        return FaceTable(self.files[keep], self.boxes[keep], self.encodings[keep])


def read_manifest(manifest: Path) -> list[dict[str, str]]:
    if not manifest.is_file():
        raise EvaluationError(f"no manifest at {manifest}")
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = [dict(row) for row in csv.DictReader(handle)]
    if not rows or not {"file", "identity"} <= set(rows[0]):
        raise EvaluationError(f"{manifest} lists no images (columns file and identity)")
    return rows


def targets(rows: list[dict[str, str]], given: str, min_images: int) -> list[str]:
    """The identities taken as the person in turn: named ones, or 'all' with enough images."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["identity"] not in NOT_A_PERSON:
            counts[row["identity"]] = counts.get(row["identity"], 0) + 1
    if given == "all":
        chosen = sorted(name for name, count in counts.items() if count >= min_images)
    else:
        chosen = [name.strip() for name in given.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in counts]
    if unknown or not chosen:
        raise EvaluationError(f"no images of {', '.join(unknown) or given} in the manifest")
    return chosen


def detect_manifest(manifest: Path, rows: list[dict[str, str]]) -> FaceTable:
    """Run the pipeline's detection (thumbnail, HOG, encodings) on every image of the manifest."""
    from faceengine.detection import DETECTION, analyse_image
    from faceengine.imaging import BadImageError, decode_image

    base = manifest.resolve().parent
    files: list[str] = []
    boxes: list[tuple[float, float, float, float]] = []
    encodings: list[np.ndarray] = []
    for row in rows:
        try:
            image = decode_image((base / row["file"]).read_bytes())
        except (OSError, BadImageError) as error:
            raise EvaluationError(f"cannot read {row['file']}: {error}") from error
        for face in analyse_image(image, config=DETECTION):
            files.append(row["file"])
            boxes.append((face.box.left, face.box.top, face.box.width, face.box.height))
            encodings.append(face.encoding)
    return FaceTable(
        files=np.array(files, dtype=str),
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        encodings=np.array(encodings, dtype=np.float32).reshape(-1, 128),
    )


def load_precomputed(path: Path, rows: Sequence[dict[str, str]] = ()) -> FaceTable:
    """Faces from an npz laid out as reference_encodings.npz (box_trbl in pixels).

    Pixel boxes become fractions of the image size the manifest gives (columns width and
    height), or of the faces' own extent when it gives none.
    """
    sizes = {
        row["file"]: (float(row["width"]), float(row["height"]))
        for row in rows
        if row.get("width", "").isdigit() and row.get("height", "").isdigit()
    }
    with np.load(path) as data:
        files = np.asarray(data["image_file"]).astype(str)
        top, right, bottom, left = np.asarray(data["box_trbl"], dtype=np.float64).T
        encodings = np.asarray(data["encoding"], dtype=np.float32)
    extent = np.array([sizes.get(str(name), (0.0, 0.0)) for name in files]).reshape(-1, 2)
    width = np.where(extent[:, 0] > 0, extent[:, 0], np.maximum(right, 1.0))
    height = np.where(extent[:, 1] > 0, extent[:, 1], np.maximum(bottom, 1.0))
    boxes = np.stack(
        [left / width, top / height, (right - left) / width, (bottom - top) / height], axis=1
    )
    return FaceTable(files=files, boxes=np.clip(boxes, 0.0, 1.0), encodings=encodings)


def faces_of(
    manifest: Path, rows: list[dict[str, str]], *, notice: Callable[[str], None] = print
) -> FaceTable:
    """The manifest's faces from the cache, or detected now (``notice`` says so) and cached."""
    cache = cache_path(manifest)
    table = read_cache(cache, manifest)
    if table is None:
        notice(f"detecting faces in {len(rows)} images (cached in {cache})")
        table = detect_manifest(manifest, rows)
        write_cache(cache, manifest, table)
    return table


def cache_path(manifest: Path) -> Path:
    """Beside the CSV when its folder is writable, else under WIKIVISAGE_DATA_DIR."""
    folder = manifest.resolve().parent
    if _writable(folder):
        return folder / f"{manifest.stem}.encodings.npz"
    key = hashlib.sha256(str(manifest.resolve()).encode()).hexdigest()[:16]
    return Path(settings.WIKIVISAGE_DATA_DIR) / "evaluate_learning" / f"{key}.encodings.npz"


def _writable(folder: Path) -> bool:
    """Writable, and not marked read-only: root may write anywhere, but a folder whose
    write bits are all off (the shared data) is meant to stay untouched."""
    return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)


def _cache_key(manifest: Path) -> str:
    """What the cached faces depend on: the CSV (path and mtime) and the detection setup."""
    from faceengine.detection import DETECTION

    resolved = manifest.resolve()
    return (
        f"v{CACHE_VERSION}|{resolved}|{resolved.stat().st_mtime_ns}|"
        f"{DETECTION.thumb_width}|{DETECTION.upsample}"
    )


def read_cache(cache: Path, manifest: Path) -> FaceTable | None:
    if not cache.is_file():
        return None
    with np.load(cache) as data:
        if "key" not in data.files or str(data["key"]) != _cache_key(manifest):
            return None
        return FaceTable(
            files=data["files"].astype(str),
            boxes=data["boxes"].astype(np.float64),
            encodings=data["encodings"].astype(np.float32),
        )


def write_cache(cache: Path, manifest: Path, table: FaceTable) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name, then renamed, so a crash never leaves half a cache.
    partial = cache.with_name(cache.name + ".partial.npz")
    np.savez(
        partial,
        key=np.array(_cache_key(manifest)),
        files=table.files,
        boxes=table.boxes,
        encodings=table.encodings,
    )
    partial.replace(cache)
