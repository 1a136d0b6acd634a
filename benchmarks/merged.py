"""Several detectors at once, measured: faces found and CPU per photo by dlib in process alone,
by the model service alone, and by both merged, as ``WIKIVISAGE_DETECTORS=dlib,http`` runs
them (``faces.providers.analysed``).

Each photo is made into the thumbnail a detect worker downloads (500 px wide JPEG, made
beforehand, not timed). The model service is the reference one (``benchmarks.modelserver``,
by default with dlib's CNN detector), started in this process on a free port, so the CPU
measured for it is its own and its client's together. "Both merged" is the pipeline's merge of
the two answers already timed (``faces.providers.merged``: IoU pairing, and dlib's encodings
of the boxes only the service found); its CPU is the two detections plus that step. Used by
``benchmark_detection --detectors``.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from django.conf import settings

from benchmarks.modelserver import ModelServer
from core.retry import RetryPolicy
from faceengine.detection import DETECTION, FaceBox, load_models
from faceengine.imaging import BadImageError, decode_image, downscale_to_width
from faceengine.merging import MERGE_IOU, iou
from faces.modelclient import ModelServiceClient
from faces.providers import DlibProvider, HttpProvider, merged

T = TypeVar("T")
MODES = ("dlib alone", "model service alone", "both merged")


@dataclass
class ModeTotals:
    """One mode's faces (against the manifest's counts, where it has one) and CPU."""

    faces: int = 0
    matched: int = 0
    extra: int = 0
    cpu_seconds: float = 0.0


@dataclass
class Comparison:
    service_detector: str
    photos: int = 0
    bad_images: int = 0
    expected: int = 0
    modes: dict[str, ModeTotals] = field(default_factory=lambda: {m: ModeTotals() for m in MODES})
    # The IoU of each pair of boxes merged into one face, and of near misses (0.1 to the cut).
    merged_ious: list[float] = field(default_factory=list)
    near_ious: list[float] = field(default_factory=list)

    def count(self, mode: str, faces: int, want: int | None, cpu: float) -> None:
        totals = self.modes[mode]
        totals.faces += faces
        totals.cpu_seconds += cpu
        if want is not None:
            totals.matched += min(faces, want)
            totals.extra += max(faces - want, 0)

    def cpu_ms_per_photo(self, mode: str) -> float:
        return 1000 * self.modes[mode].cpu_seconds / max(self.photos, 1)


def compare_detectors(
    paths: Sequence[Path],
    *,
    expected: dict[Path, int | None],
    service_detector: str = "cnn",
) -> Comparison:
    """Every photo through dlib, the reference model service and the merge (module docstring)."""
    load_models()
    comparison = Comparison(service_detector=service_detector)
    with ModelServer(detector=service_detector) as server:
        service = _http_provider(server.url)
        for path in paths:
            want = expected.get(Path(os.path.abspath(path)))
            _compare_one(comparison, path, want, DlibProvider(), service)
        service.client.close()
    return comparison


def _compare_one(
    comparison: Comparison,
    path: Path,
    want: int | None,
    dlib: DlibProvider,
    service: HttpProvider,
) -> None:
    try:
        thumb = _thumbnail(path)
    except BadImageError:
        comparison.bad_images += 1
        return
    comparison.photos += 1
    comparison.expected += want or 0
    here, dlib_cpu = _cpu(lambda: dlib.analyse(thumb, config=DETECTION))
    there, service_cpu = _cpu(lambda: service.analyse(thumb, config=DETECTION))
    answers = [("dlib", here.faces), ("http", there.faces)]
    found, merge_cpu = _cpu(lambda: merged(dlib, thumb, answers, model=here.model_version))
    comparison.count("dlib alone", len(here.faces), want, dlib_cpu)
    comparison.count("model service alone", len(there.faces), want, service_cpu)
    comparison.count("both merged", len(found.faces), want, dlib_cpu + service_cpu + merge_cpu)
    _overlaps(comparison, [f.box for f in here.faces], [f.box for f in there.faces])


def _overlaps(comparison: Comparison, boxes: Sequence[FaceBox], others: Sequence[FaceBox]) -> None:
    for box in boxes:
        best = max((iou(box, other) for other in others), default=0.0)
        if best >= MERGE_IOU:
            comparison.merged_ious.append(best)
        elif best >= 0.1:
            comparison.near_ious.append(best)


def _cpu(call: Callable[[], T]) -> tuple[T, float]:
    started = time.process_time()
    result = call()
    return result, time.process_time() - started


def _thumbnail(path: Path) -> bytes:
    image = downscale_to_width(decode_image(path.read_bytes()), width=DETECTION.thumb_width)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=90)
    return out.getvalue()


def _http_provider(url: str) -> HttpProvider:
    client = ModelServiceClient(
        url=url,
        model_name="faces",
        timeout=600.0,
        retry=RetryPolicy(max_attempts=1),
        user_agent=settings.WIKIVISAGE_USER_AGENT,
    )
    return HttpProvider(client)
