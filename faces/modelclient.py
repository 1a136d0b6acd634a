"""The one door to the face model service (the second outside service, after Wikimedia).

It speaks the Open Inference Protocol (KServe V2) over HTTP: ``GET /v2/health/ready``,
``GET /v2/models/<name>`` (the model version) and ``POST /v2/models/<name>/infer`` with the
messages of ``faceengine.wire``. Like ``commons.client``: one ``requests.Session`` per client,
a timeout and the tool's User-Agent on every request, answers turned into typed values.

Failures are classified as the Commons client classifies its own, so the pipeline and the
tasks treat them alike (STYLE.md rule 6): a service that cannot answer now (refused connection,
timeout, 5xx, 429, unknown model, malformed answer, a redirect) is
:class:`ModelServiceUnavailable`, a transient error: the image is handed back, pending, and the
task retried later. A service that refuses this input (400, 413) is
:class:`ModelServiceRejected`, and an answer refused here (larger than ``MAX_ANSWER_BYTES``, or
values that are not finite) is :class:`AnswerRefused`: both permanent for that image.
Connection errors and 5xx answers are retried a few times here first, with a short backoff; a
timeout is not (a slow service is not helped by more requests).

The service is not trusted: ``timeout`` bounds each request in all, however slowly the answer
comes (``commons.client.read_capped``); the answer is read as it comes, at most
``MAX_ANSWER_BYTES``; a redirect is never followed (the photo is posted to the configured
address only).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from commons.client import Deadline, ResponseTooLarge, read_capped, watched_session
from core.errors import PermanentError, TransientError
from core.retry import RetryPolicy
from faceengine import wire
from faceengine.detection import DetectionConfig, FaceBox

logger = logging.getLogger(__name__)

REJECTING_STATUSES = frozenset({400, 413, 415, 422})
# A detect answer of wire.MAX_BOXES faces is about 3.5 MB of JSON.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
# An error answer is read for its message only.
MAX_ERROR_BYTES = 64 * 1024


class ModelServiceUnavailable(TransientError):
    """The model service cannot answer now: down, too slow, failing, or misconfigured."""


class ModelServiceRejected(PermanentError):
    """The model service refused this input: sending it again cannot help."""


class AnswerRefused(PermanentError):
    """An answer refused at the door: too large, or holding values the pipeline cannot store
    or learn from (``wire.InvalidValue``; ``faces.providers`` checks every provider's).
    Permanent for that image, which is marked as an error with the reason."""


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
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.url = url.rstrip("/")
        self.model_name = model_name
        self.timeout = timeout
        self.retry = retry
        self.max_answer_bytes = max_answer_bytes
        self._sleep = sleep
        self._rng = random.Random()
        self._session = watched_session()
        self._session.headers["User-Agent"] = user_agent
        # Counted as it comes: never a small compressed answer that unpacks into a large one.
        self._session.headers["Accept-Encoding"] = "identity"

    def close(self) -> None:
        self._session.close()

    def ready(self) -> bool:
        """Whether the service says it is ready (GET /v2/health/ready); never raises."""
        url = self._at("health/ready")
        try:
            with (
                Deadline(self.timeout),
                self._session.get(
                    url, timeout=self.timeout, stream=True, allow_redirects=False
                ) as response,
            ):
                return response.status_code == 200  # its body is never read
        except requests.RequestException:
            return False

    def model_version(self) -> str:
        """The version the service's model metadata names (GET /v2/models/<name>)."""
        return self._read(wire.read_version, self._call("GET", self._model_at("")))

    def detect(self, image: bytes, *, config: DetectionConfig) -> wire.Detections:
        body = wire.detect_request(image, config=config)
        return self._read(wire.read_detections, self._call("POST", self._infer_at(), body))

    def encode(self, image: bytes, *, boxes: Sequence[FaceBox]) -> wire.Encodings:
        body = wire.encode_request(image, boxes=boxes)
        answer = self._call("POST", self._infer_at(), body)
        return self._read(lambda data: wire.read_encodings(data, expected=len(boxes)), answer)

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
        with (
            Deadline(self.timeout) as deadline,
            self._send(method, url, body, deadline) as response,
        ):
            status = response.status_code
            if 300 <= status < 400:
                where = response.headers.get("Location", "nowhere")[:200]
                raise self._unavailable("redirect", f"it redirects ({status}) to {where}")
            if status == 200:
                return self._json(self._body(response, deadline, self.max_answer_bytes))
            message = self._error_message(response, deadline)
        if status in REJECTING_STATUSES:
            raise ModelServiceRejected(f"model-service-http-{status}", message)
        unavailable = self._unavailable(f"http-{status}", message)
        if status == 429 or status >= 500:
            raise _Retryable(unavailable)
        raise unavailable

    def _send(
        self, method: str, url: str, body: dict[str, Any] | None, deadline: Deadline
    ) -> requests.Response:
        """The answer's status and headers; its body is read by :meth:`_body`. No redirect is
        followed: the photo is posted to the configured address only."""
        try:
            return self._session.request(
                method, url, json=body, timeout=self.timeout, stream=True, allow_redirects=False
            )
        except requests.RequestException as error:
            if deadline.passed or (
                isinstance(error, requests.Timeout)
                and not isinstance(error, requests.ConnectTimeout)
            ):
                raise self._timeout() from None
            raise _Retryable(self._unavailable("down", error)) from None

    def _body(self, response: requests.Response, deadline: Deadline, limit: int) -> bytes:
        what = f"the answer of {self.url}"
        try:
            return read_capped(response, max_bytes=limit, deadline=deadline, what=what)
        except ResponseTooLarge:
            raise AnswerRefused(
                "model-service-too-large", f"{what} is larger than {limit} bytes"
            ) from None
        except TransientError:  # the deadline passed
            raise self._timeout() from None
        except requests.RequestException as error:
            raise _Retryable(self._unavailable("down", error)) from None

    def _error_message(self, response: requests.Response, deadline: Deadline) -> str:
        try:
            return _error_text(self._body(response, deadline, MAX_ERROR_BYTES))
        except AnswerRefused:
            return f"an error page of more than {MAX_ERROR_BYTES} bytes"

    def _json(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
            raise self._unavailable("bad-answer", "the answer is not JSON") from None

    def _read(self, reader: Callable[[Any], Any], answer: Any) -> Any:
        try:
            return reader(answer)
        except wire.InvalidValue as error:
            raise AnswerRefused("answer-refused", f"the model service's answer: {error}") from None
        except wire.ProtocolError as error:
            raise self._unavailable("bad-answer", str(error)) from None

    def _timeout(self) -> ModelServiceUnavailable:
        return self._unavailable("timeout", f"no whole answer within {self.timeout:g} s")

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


def _error_text(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    return str(error)[:500] if error else body[:200].decode("utf-8", "replace")
