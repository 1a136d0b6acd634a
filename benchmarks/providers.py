"""Photos per second through the model service against dlib in the worker's own process.

    .venv/bin/python benchmarks/providers.py [--photos 50] [--url http://host:8600] [--json]

The photos are the shared faces' images as Commons would serve them to a detect worker: 500 px
wide JPEG thumbnails, made beforehand in memory. Each provider analyses the same thumbnails one
after the other, as one detect worker does (after one photo to warm up). Without ``--url`` the
reference server (``python -m benchmarks.modelserver``) is started on a free port of this machine
and stopped at the end. Also prints the largest difference between the encodings the two
providers gave (0 with the reference server: the same dlib, bit for bit).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from benchmarks.detection import find_images  # noqa: E402
from core.retry import RetryPolicy  # noqa: E402
from faceengine.detection import DETECTION  # noqa: E402
from faceengine.imaging import decode_image, downscale_to_width  # noqa: E402
from faceengine.wire import Detections  # noqa: E402
from faces.modelclient import ModelServiceClient  # noqa: E402
from faces.providers import DetectorProvider, DlibProvider, HttpProvider  # noqa: E402


@dataclass(frozen=True)
class Run:
    provider: str
    photos: int
    faces: int
    seconds: float

    @property
    def photos_per_second(self) -> float:
        return self.photos / max(self.seconds, 1e-9)


def thumbnails(count: int) -> list[bytes]:
    """The first ``count`` photos of the shared faces as 500 px JPEG thumbnails."""
    made = []
    for path in find_images(Path(settings.FACES_DATA_DIR))[: count + 1]:
        image = downscale_to_width(decode_image(path.read_bytes()), width=DETECTION.thumb_width)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=90)
        made.append(out.getvalue())
    return made


def timed(name: str, provider: DetectorProvider, photos: list[bytes]) -> tuple[Run, list]:
    provider.analyse(photos[0], config=DETECTION)  # warm up: models, connection
    found: list[Detections] = []
    start = time.perf_counter()
    for data in photos[1:]:
        found.append(provider.analyse(data, config=DETECTION))
    seconds = time.perf_counter() - start
    faces = sum(len(result.faces) for result in found)
    return Run(name, len(photos) - 1, faces, seconds), found


def largest_difference(a: list[Detections], b: list[Detections]) -> float:
    worst = 0.0
    for here, there in zip(a, b, strict=True):
        if [f.box for f in here.faces] != [f.box for f in there.faces]:
            return float("inf")
        for x, y in zip(here.faces, there.faces, strict=True):
            worst = max(worst, float(np.abs(x.encoding - y.encoding).max()))
    return worst


@contextmanager
def reference_server() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.modelserver", "--port", "0"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().rsplit(" ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def http_provider(url: str) -> HttpProvider:
    client = ModelServiceClient(
        url=url,
        model_name=settings.WIKIVISAGE_DETECTOR_MODEL,
        timeout=settings.WIKIVISAGE_DETECTOR_TIMEOUT,
        retry=RetryPolicy(max_attempts=1),
        user_agent=settings.WIKIVISAGE_USER_AGENT,
    )
    return HttpProvider(client)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--url", default="", help="a running model service (default: start one)")
    parser.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    options = parser.parse_args()
    photos = thumbnails(max(options.photos, 1))
    local, local_found = timed("dlib in process", DlibProvider(), photos)
    if options.url:
        remote, remote_found = timed("model service", http_provider(options.url), photos)
    else:
        with reference_server() as url:
            remote, remote_found = timed("model service", http_provider(url), photos)
    difference = largest_difference(local_found, remote_found)
    if options.json:
        rows = {run.provider: round(run.photos_per_second, 2) for run in (local, remote)}
        print(
            json.dumps({"photos": local.photos, "photos_per_second": rows, "max_diff": difference})
        )
        return
    for run in (local, remote):
        print(
            f"{run.provider:16} {run.photos} photos  {run.faces} faces  {run.seconds:6.2f} s  "
            f"{run.photos_per_second:5.2f} photos/s"
        )
    print(f"largest encoding difference: {difference:g}")


if __name__ == "__main__":
    main()
