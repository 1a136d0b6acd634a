"""Seconds per face encoding: dlib's own ResNet (dlib-bin) against faceengine.resnet, on one core.

    .venv/bin/python benchmarks/encoder.py [--images DIR] [--faces 100] [--json]

The faces are those dlib's HOG detector finds in the photos of a folder (by default the shared
faces), cut into aligned 150 px chips as the pipeline cuts them. Each network encodes every
chip, one at a time as a detect worker does, after one chip to warm up, with one BLAS thread
(``faceengine.detection.load_models`` sets it, as in a worker). Also prints the largest
difference between the two encodings of a face.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.detection import find_images
from faceengine import resnet
from faceengine.detection import CHIP_PADDING, load_image, load_models

# As settings.FACES_DATA_DIR, without setting Django up for it.
DEFAULT_IMAGES = Path(
    os.environ.get("FACES_DATA_DIR", Path(__file__).resolve().parents[2] / "shared/data/faces")
)


def chips(folder: Path, limit: int) -> list[np.ndarray]:
    """Aligned chips of the first ``limit`` faces found in the folder's photos."""
    import dlib

    models = load_models()
    found: list[np.ndarray] = []
    for path in find_images(folder):
        rgb = load_image(path)
        shapes = dlib.full_object_detections()
        for rect in models.detector(rgb, 1):
            shapes.append(models.shape_predictor(rgb, rect))
        if len(shapes):
            found += [
                np.asarray(chip) for chip in dlib.get_face_chips(rgb, shapes, 150, CHIP_PADDING)
            ]
        if len(found) >= limit:
            break
    return found[:limit]


def seconds_per_chip(encode: Callable[[np.ndarray], np.ndarray], faces: list[np.ndarray]) -> float:
    encode(faces[0])
    start = time.perf_counter()
    for chip in faces:
        encode(chip)
    return (time.perf_counter() - start) / len(faces)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--faces", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import dlib
    import face_recognition_models

    faces = chips(args.images, args.faces)
    if not faces:
        sys.exit(f"no faces found in {args.images}")
    theirs = dlib.face_recognition_model_v1(
        face_recognition_models.face_recognition_model_location()
    )
    ours = resnet.load()

    def dlib_encode(chip: np.ndarray) -> np.ndarray:
        return np.asarray(theirs.compute_face_descriptor(chip), dtype=np.float32)

    def numpy_encode(chip: np.ndarray) -> np.ndarray:
        return ours.describe(chip[None])[0]

    result = {
        "faces": len(faces),
        "dlib_seconds": round(seconds_per_chip(dlib_encode, faces), 4),
        "numpy_seconds": round(seconds_per_chip(numpy_encode, faces), 4),
        "largest_difference": float(
            max(np.abs(dlib_encode(chip) - numpy_encode(chip)).max() for chip in faces)
        ),
    }
    print(
        f"{result['faces']} faces: dlib-bin {1000 * result['dlib_seconds']:.1f} ms a face, "
        f"faceengine.resnet {1000 * result['numpy_seconds']:.1f} ms a face "
        f"({result['dlib_seconds'] / result['numpy_seconds']:.1f}x); "
        f"largest difference {result['largest_difference']:.1e}"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
