"""Face detectors behind one interface: dlib in this process, or a model service over HTTP.

The site lists its providers in rank order (``WIKIVISAGE_DETECTORS``, e.g. ``dlib,http``; or
one, ``WIKIVISAGE_DETECTOR``); :func:`detectors` gives them, :func:`detector` the first:

- ``dlib`` (the default): ``faceengine.detection`` in the worker's own process, as before.
- ``http``: a model service speaking the Open Inference Protocol (``faces.modelclient``), e.g.
  ``python -m benchmarks.modelserver`` on a larger machine that many small workers share.

Every answer names the model that computed its encodings (``model_version``); each face stores
it (``Face.encoder``) and the learner never compares encodings of two models. With several
providers every one detects, their boxes are merged (``faceengine.merging``), and the first
encodes every face, also the faces only the others found: a site's faces are of one model.

The pipeline asks through :func:`analysed`, :func:`encoded` and :func:`current_model`, the one
door every provider's result passes: a result whose values the pipeline could not store or
learn from (``wire.checked_detections``) is refused there (:class:`AnswerRefused`,
permanent for that image), whichever provider gave it.

A provider that fails on a photo: the first one's failure is the photo's, as with one
provider (a transient one hands the photo back, to be tried again later; a permanent one marks
it as an error). Another one's transient failure also hands the photo back, while the caller
waits for all (``wait_for_all``: the detect service stops waiting after a few attempts, so a
provider down for good does not hold up the others' faces); its permanent failure (a refused
answer, a rejected photo) leaves its faces out of that photo only, the others' are kept.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.errors import PermanentError, TransientError
from core.retry import RetryPolicy
from faceengine import wire
from faceengine.detection import (
    ENCODER,
    DetectedFace,
    DetectionConfig,
    FaceBox,
    analyse_file,
    encode_boxes,
)
from faceengine.imaging import BadImageError, decode_image
from faceengine.merging import MergedFace, merge_faces
from faceengine.wire import Detections, Encodings
from faces.modelclient import AnswerRefused, ModelServiceClient, ModelServiceUnavailable

logger = logging.getLogger(__name__)

# Connection errors and 5xx answers of the model service are tried again after about 0.5 s,
# then 1 s...: a restarting service gets a moment; a down one fails the task, which the queue
# retries later (the image waits, pending).
RETRY_BASE_DELAY = 0.5
RETRY_MAX_DELAY = 4.0
T = TypeVar("T")


class DetectorProvider(Protocol):
    """Finds faces and encodes boxes in a downloaded picture (its bytes, as Commons sent them).

    Both calls raise ``BadImageError`` for bytes that are no picture, and the transient or
    permanent errors of ``commons.client`` (``faces.modelclient``'s) when a service fails.
    """

    name: str

    def model_version(self) -> str:
        """The model the provider's encodings come from now (may ask the service)."""
        ...

    def analyse(self, image: bytes, *, config: DetectionConfig) -> Detections:
        """Every face in the picture, boxes as fractions, with encodings."""
        ...

    def encode(self, image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
        """One encoding per box (None where a box holds no pixels of the picture)."""
        ...


class DlibProvider:
    """dlib's HOG detector and ResNet encoder in this process (``faceengine.detection``)."""

    name = "dlib"

    def model_version(self) -> str:
        return ENCODER

    def analyse(self, image: bytes, *, config: DetectionConfig) -> Detections:
        return Detections(faces=analyse_file(image, config=config), model_version=ENCODER)

    def encode(self, image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
        return Encodings(vectors=encode_boxes(image, boxes), model_version=ENCODER)


class HttpProvider:
    """A model service (``faces.modelclient``); the worker only checks the picture decodes.

    Decoding here first (a few ms for a thumbnail) gives a bad file the same recorded error
    with either provider, and never sends the service bytes it would refuse.
    """

    name = "http"

    def __init__(self, client: ModelServiceClient) -> None:
        self.client = client

    def model_version(self) -> str:
        # Asked every time, not remembered: a redeployed service may serve a new model.
        return self.client.model_version()

    def analyse(self, image: bytes, *, config: DetectionConfig) -> Detections:
        decode_image(image)
        return self.client.detect(image, config=config)

    def encode(self, image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
        decode_image(image)
        if not boxes:
            return Encodings(vectors=[], model_version=self.client.model_version())
        return self.client.encode(image, boxes=boxes)


@dataclass(frozen=True)
class Found:
    """The faces every provider found in one photo, merged, each encoded by the first."""

    faces: tuple[MergedFace, ...]
    # One per face, of ``model_version`` (None: a box too thin to encode in this picture).
    encodings: tuple[np.ndarray | None, ...]
    model_version: str
    # The providers whose answer this photo goes without (they failed on it).
    left_out: tuple[str, ...] = ()


def analysed(image: bytes, *, config: DetectionConfig, wait_for_all: bool = True) -> Found:
    """The faces the configured providers find in ``image``, each answer checked at the door.

    1. The first provider detects; its failure is the photo's.
    2. Each other provider detects; its failure is handled as the module's docstring says.
    3. Their faces are merged (``faceengine.merging.merge_faces``), in rank order.
    4. The first provider encodes the boxes it did not find itself, with the model it
       detected with (a model that changed in between: transient, the photo is tried again).
    """
    ranked = detectors()
    first = _detections(ranked[0], image, config)
    answers: list[tuple[str, Sequence[DetectedFace]]] = [(ranked[0].name, first.faces)]
    left_out = []
    for provider in ranked[1:]:
        faces = _other_detections(provider, image, config, wait_for_all=wait_for_all)
        if faces is None:
            left_out.append(provider.name)
        else:
            answers.append((provider.name, faces))
    return merged(ranked[0], image, answers, model=first.model_version, left_out=left_out)


def merged(
    encoder: DetectorProvider,
    image: bytes,
    answers: Sequence[tuple[str, Sequence[DetectedFace]]],
    *,
    model: str,
    left_out: Sequence[str] = (),
) -> Found:
    """Steps 3 and 4 of :func:`analysed`: the providers' faces (checked, in rank order, the
    encoder's first, found with ``model``) merged, the others' boxes encoded by ``encoder``."""
    faces = merge_faces(answers)
    encodings = _encodings(encoder, image, faces, model=model)
    return Found(tuple(faces), encodings, model, tuple(left_out))


def _detections(provider: DetectorProvider, image: bytes, config: DetectionConfig) -> Detections:
    return _checked(lambda: wire.checked_detections(provider.analyse(image, config=config)))


def _other_detections(
    provider: DetectorProvider, image: bytes, config: DetectionConfig, *, wait_for_all: bool
) -> Sequence[DetectedFace] | None:
    """A provider ranked after the first: its faces, or None if the photo goes without."""
    try:
        return _detections(provider, image, config).faces
    except TransientError as error:
        if wait_for_all:
            raise
        logger.warning(
            "detector %s left out of this photo, still failing: %s", provider.name, error
        )
    except (PermanentError, BadImageError) as error:
        logger.warning("detector %s left out of this photo: %s", provider.name, error)
    return None


def _encodings(
    encoder: DetectorProvider, image: bytes, merged: Sequence[MergedFace], *, model: str
) -> tuple[np.ndarray | None, ...]:
    vectors: list[np.ndarray | None] = [face.face.encoding for face in merged]
    others = [i for i, face in enumerate(merged) if face.found_by[0] != encoder.name]
    if not others:
        return tuple(vectors)
    encoded = _encoded_by(encoder, image, [merged[i].face.box for i in others])
    if encoded.model_version != model:
        raise ModelServiceUnavailable(
            "model-service-model-changed",
            f"the model changed from {model} to {encoded.model_version} during the photo",
        )
    for i, vector in zip(others, encoded.vectors, strict=True):
        vectors[i] = vector
    return tuple(vectors)


def encoded(image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
    """The encoder's (first provider's) encodings of ``boxes`` of ``image``, checked at the
    door."""
    return _encoded_by(detector(), image, boxes)


def _encoded_by(provider: DetectorProvider, image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
    return _checked(
        lambda: wire.checked_encodings(provider.encode(image, boxes), expected=len(boxes))
    )


def current_model() -> str:
    """The model the encoder (the first provider) serves now, checked at the door."""
    return _checked(lambda: wire.checked_version(detector().model_version()))


def _checked(result: Callable[[], T]) -> T:
    try:
        return result()
    except wire.InvalidValue as error:
        raise AnswerRefused("answer-refused", f"the detector's answer: {error}") from None


PROVIDERS = ("dlib", "http")


def detectors() -> list[DetectorProvider]:
    """The providers the settings list, in rank order, each made once per process for each
    configuration; the first one encodes every face."""
    names = list(settings.WIKIVISAGE_DETECTORS or [settings.WIKIVISAGE_DETECTOR])
    if not names or len(set(names)) < len(names):
        raise ImproperlyConfigured(f"WIKIVISAGE_DETECTORS lists each provider once, not {names}")
    return [
        _provider(
            name,
            settings.WIKIVISAGE_DETECTOR_URL,
            settings.WIKIVISAGE_DETECTOR_MODEL,
            settings.WIKIVISAGE_DETECTOR_TIMEOUT,
            settings.WIKIVISAGE_DETECTOR_RETRIES,
        )
        for name in names
    ]


def detector() -> DetectorProvider:
    """The encoder: the provider ranked first."""
    return detectors()[0]


@functools.lru_cache(maxsize=4)
def _provider(kind: str, url: str, model: str, timeout: float, retries: int) -> DetectorProvider:
    if kind == "dlib":
        return DlibProvider()
    if kind != "http":
        raise ImproperlyConfigured(
            f"WIKIVISAGE_DETECTOR(S) names providers of {PROVIDERS}, not {kind!r}"
        )
    if not url:
        raise ImproperlyConfigured("WIKIVISAGE_DETECTOR=http needs WIKIVISAGE_DETECTOR_URL")
    retry = RetryPolicy(
        max_attempts=1 + max(retries, 0), base_delay=RETRY_BASE_DELAY, max_delay=RETRY_MAX_DELAY
    )
    client = ModelServiceClient(
        url=url,
        model_name=model,
        timeout=timeout,
        retry=retry,
        user_agent=settings.WIKIVISAGE_USER_AGENT,
    )
    return HttpProvider(client)
