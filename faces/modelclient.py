"""The one door to the face model service (the second outside service, after Wikimedia).

It speaks the Open Inference Protocol (KServe V2) over HTTP: ``GET /v2/health/ready``,
``GET /v2/models/<name>`` (the model version) and ``POST /v2/models/<name>/infer`` with the
messages of ``faces.inference``. Like ``commons.client``: one ``requests.Session`` per client,
a timeout and the tool's User-Agent on every request, answers turned into typed values.

Failures are classified as the Commons client classifies its own, so the pipeline and the
tasks treat them alike (STYLE.md rule 6): a service that cannot answer now (refused connection,
timeout, 5xx, 429, unknown model, malformed answer) is :class:`ModelServiceUnavailable`, a
transient error: the image is handed back, pending, and the task retried later. A service that
refuses this input (400, 413) is :class:`ModelServiceRejected`, permanent for that image.
Connection errors and 5xx answers are retried a few times here first, with a short backoff; a
timeout is not (a slow service is not helped by more requests).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from commons.client import PermanentError, RetryPolicy, TransientError
from faces import inference
from faces.detection import DetectionConfig, FaceBox

logger = logging.getLogger(__name__)

REJECTING_STATUSES = frozenset({400, 413, 415, 422})


class ModelServiceUnavailable(TransientError):
    """The model service cannot answer now: down, too slow, failing, or misconfigured."""


class ModelServiceRejected(PermanentError):
    """The model service refused this input: sending it again cannot help."""


class ModelServiceClient:
    """Calls to one model of one model service; see the module's docstring."""

    def __init__(
        self,
        *,
        url: str,
        model_name: str,
        timeout: float,
        retry: RetryPolicy,
        user_agent: str,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url.rstrip("/")
        self.model_name = model_name
        self.timeout = timeout
        self.retry = retry
        self._sleep = sleep
        self._rng = random.Random()
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent

    def close(self) -> None:
        self._session.close()

    def ready(self) -> bool:
        """Whether the service says it is ready (GET /v2/health/ready); never raises."""
        try:
            return self._session.get(self._at("health/ready"), timeout=self.timeout).ok
        except requests.RequestException:
            return False

    def model_version(self) -> str:
        """The version the service's model metadata names (GET /v2/models/<name>)."""
        return self._read(inference.read_version, self._call("GET", self._model_at("")))

    def detect(self, image: bytes, *, config: DetectionConfig) -> inference.Detections:
        body = inference.detect_request(image, config=config)
        return self._read(inference.read_detections, self._call("POST", self._infer_at(), body))

    def encode(self, image: bytes, *, boxes: Sequence[FaceBox]) -> inference.Encodings:
        body = inference.encode_request(image, boxes=boxes)
        answer = self._call("POST", self._infer_at(), body)
        return self._read(lambda data: inference.read_encodings(data, expected=len(boxes)), answer)

    # --- one request, classified ------------------------------------------------------------

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> Any:
        attempt = 0
        while True:
            try:
                return self._once(method, url, body)
            except _Retryable as retryable:
                error = retryable.error
                if self.retry.gives_up(attempt, error):
                    logger.warning("model service: %s (after %d attempts)", error, attempt + 1)
                    raise error from None
                self._sleep(self.retry.delay(attempt, error.retry_after, self._rng))
                attempt += 1

    def _once(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        try:
            response = self._session.request(method, url, json=body, timeout=self.timeout)
        except requests.Timeout as error:
            if isinstance(error, requests.ConnectTimeout):
                raise _Retryable(self._unavailable("down", error)) from None
            raise self._unavailable("timeout", f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as error:
            raise _Retryable(self._unavailable("down", error)) from None
        status = response.status_code
        if status == 200:
            return self._json(response)
        message = _error_text(response)
        if status in REJECTING_STATUSES:
            raise ModelServiceRejected(f"model-service-http-{status}", message)
        unavailable = self._unavailable(f"http-{status}", message)
        if status == 429 or status >= 500:
            raise _Retryable(unavailable)
        raise unavailable

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._unavailable("bad-answer", "the answer is not JSON") from None

    def _read(self, reader: Callable[[Any], Any], answer: Any) -> Any:
        try:
            return reader(answer)
        except inference.ProtocolError as error:
            raise self._unavailable("bad-answer", str(error)) from None

    def _unavailable(self, code: str, detail: object) -> ModelServiceUnavailable:
        return ModelServiceUnavailable(
            f"model-service-{code}", f"the model service at {self.url} cannot answer: {detail}"
        )

    def _at(self, path: str) -> str:
        return f"{self.url}/v2/{path}"

    def _model_at(self, path: str) -> str:
        return self._at(f"models/{self.model_name}{path}")

    def _infer_at(self) -> str:
        return self._model_at("/infer")


class _Retryable(Exception):
    def __init__(self, error: ModelServiceUnavailable) -> None:
        super().__init__(str(error))
        self.error = error


def _error_text(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200]
    error = payload.get("error") if isinstance(payload, dict) else None
    return str(error)[:500] if error else response.text[:200]
