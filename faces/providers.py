"""Face detectors behind one interface: dlib in this process, or a model service over HTTP.

The pipeline asks :func:`detector` for the configured provider (``WIKIVISAGE_DETECTOR``):

- ``dlib`` (the default): ``faceengine.detection`` in the worker's own process, as before.
- ``http``: a model service speaking the Open Inference Protocol (``faces.modelclient``), e.g.
  ``python -m benchmarks.modelserver`` on a larger machine that many small workers share.

Every answer names the model that computed its encodings (``model_version``); each face stores
it (``Face.encoder``) and the learner never compares encodings of two models.

The pipeline asks through :func:`analysed`, :func:`encoded` and :func:`current_model`, the one
door every provider's result passes: a result whose values the pipeline could not store or
learn from (``wire.checked_detections``) is refused there (:class:`AnswerRefused`,
permanent for that image), whichever provider gave it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.retry import RetryPolicy
from faceengine import wire
from faceengine.detection import ENCODER, DetectionConfig, FaceBox, analyse_file, encode_boxes
from faceengine.imaging import decode_image
from faceengine.wire import Detections, Encodings
from faces.modelclient import AnswerRefused, ModelServiceClient

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


def analysed(image: bytes, *, config: DetectionConfig) -> Detections:
    """The faces the configured provider finds in ``image``, checked at the door."""
    return _checked(lambda: wire.checked_detections(detector().analyse(image, config=config)))


def encoded(image: bytes, boxes: Sequence[FaceBox]) -> Encodings:
    """The configured provider's encodings of ``boxes`` of ``image``, checked at the door."""
    return _checked(
        lambda: wire.checked_encodings(detector().encode(image, boxes), expected=len(boxes))
    )


def current_model() -> str:
    """The model the configured provider serves now, checked at the door."""
    return _checked(lambda: wire.checked_version(detector().model_version()))


def _checked(result: Callable[[], T]) -> T:
    try:
        return result()
    except wire.InvalidValue as error:
        raise AnswerRefused("answer-refused", f"the detector's answer: {error}") from None


PROVIDERS = ("dlib", "http")


def detector() -> DetectorProvider:
    """The provider the settings name, made once per process for each configuration."""
    return _provider(
        settings.WIKIVISAGE_DETECTOR,
        settings.WIKIVISAGE_DETECTOR_URL,
        settings.WIKIVISAGE_DETECTOR_MODEL,
        settings.WIKIVISAGE_DETECTOR_TIMEOUT,
        settings.WIKIVISAGE_DETECTOR_RETRIES,
    )


@functools.lru_cache(maxsize=4)
def _provider(kind: str, url: str, model: str, timeout: float, retries: int) -> DetectorProvider:
    if kind == "dlib":
        return DlibProvider()
    if kind != "http":
        raise ImproperlyConfigured(f"WIKIVISAGE_DETECTOR is one of {PROVIDERS}, not {kind!r}")
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
