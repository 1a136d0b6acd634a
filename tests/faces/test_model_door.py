"""The model service is not trusted: every answer is checked at the door before it is stored.

A tiny misbehaving service on 127.0.0.1 (http.server in a thread) answers what a broken or
hostile one would: values past float32, boxes outside the picture, a version longer than its
column, an endless answer, a trickle, a redirect elsewhere. Nothing of it is stored, the image
never stays "processing", and a refused answer marks it as an error with the reason.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from core.errors import PermanentError
from faceengine import wire
from faceengine.detection import DETECTION, ENCODER, DetectedFace, FaceBox
from faces.modelclient import AnswerRefused, ModelServiceUnavailable
from faces.models import Face, Image
from faces.services import detect, reencode
from faces.services import drawn as drawn_service
from tests.faces.test_providers import FACES, OBAMA, crawled, free_port, http_provider  # noqa: F401
from tests.factories import FaceFactory
from tests.pipeline.test_pipeline import client

Behaviour = Callable[[BaseHTTPRequestHandler], None]


class _Misbehaving(BaseHTTPRequestHandler):
    """A model service that answers every request as ``behave`` says, and counts them."""

    behave: Behaviour
    seen: list[str]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append(f"{self.command} {self.path}")
        with contextlib.suppress(OSError):  # the client hung up: what these tests want
            type(self).behave(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[Callable[[Behaviour], tuple[str, list[str]]]]:
    servers: list[ThreadingHTTPServer] = []

    def start(behave: Behaviour) -> tuple[str, list[str]]:
        seen: list[str] = []
        handler = type("Handler", (_Misbehaving,), {"behave": behave, "seen": seen})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def answering(body: Any, *, metadata: Any = None) -> Behaviour:
    """Inference requests get ``body``; metadata requests get ``metadata`` (a sound one)."""
    sound = wire.metadata(model_name="faces", model_version=ENCODER)

    def behave(handler: BaseHTTPRequestHandler) -> None:
        answer = body if handler.command == "POST" else (metadata or sound)
        data = json.dumps(answer).encode()  # NaN and Infinity as Python's json writes them
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    return behave


def one_face(*, faces: int = 1, version: str = ENCODER) -> dict[str, Any]:
    """A well-formed detect answer: ``faces`` sound faces, as the reference server sends."""
    face = DetectedFace(
        box=FaceBox(0.3, 0.2, 0.2, 0.25),
        width_px=100,
        height_px=125,
        score=1.0,
        small=False,
        encoding=np.full(128, 0.05, dtype=np.float32),
    )
    return wire.detect_response([face] * faces, model_name="faces", model_version=version)


def tensor(answer: dict[str, Any], name: str) -> dict[str, Any]:
    return next(output for output in answer["outputs"] if output["name"] == name)


def with_encoding_value(value: float) -> dict[str, Any]:
    answer = one_face()
    tensor(answer, "encodings")["data"][0][5] = value
    return answer


def with_box(*box: float) -> dict[str, Any]:
    answer = one_face()
    tensor(answer, "boxes")["data"][0] = list(box)
    return answer


REFUSED = {
    "finite as a double, infinite as float32": (with_encoding_value(1e39), "not finite"),
    "far beyond any face model's values": (with_encoding_value(1e30), "beyond"),
    "NaN": (with_encoding_value(float("nan")), "not finite"),
    "a box left of the picture": (with_box(-0.1, 0.2, 0.3, 0.3), "not inside"),
    "a box past the right edge": (with_box(0.9, 0.1, 0.9, 0.3), "not inside"),
    "a box of negative width": (with_box(0.5, 0.5, -0.2, 0.3), "not inside"),
    "a box of no height": (with_box(0.5, 0.5, 0.2, 0.0), "not inside"),
    "a version longer than its column": (one_face(version="v" * 65), "model version"),
    "a version of control characters": (one_face(version="dlib\r\n"), "model version"),
    "more faces than any picture holds": (one_face(faces=1001), "1001 faces"),
}


@pytest.fixture
def use(settings) -> Callable[[str], None]:
    def configure(url: str) -> None:
        settings.WIKIVISAGE_DETECTOR, settings.WIKIVISAGE_DETECTOR_URL = "http", url
        settings.WIKIVISAGE_DETECTOR_RETRIES = 0

    return configure


# ---- refused values: the image is an error with the reason, nothing stored -------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("crawled")
@pytest.mark.parametrize("answer, reason", REFUSED.values(), ids=REFUSED.keys())
def test_an_answer_the_pipeline_cannot_store_marks_the_image_as_an_error(
    service, use, answer, reason
) -> None:
    url, seen = service(answering(answer))
    use(url)
    image = Image.objects.get(title="File:Obama 1.jpg")

    with client() as api:
        outcome = detect.image_detect(image_id=image.pk, client=api)

    image.refresh_from_db()
    assert (outcome.state, image.state) == (Image.State.ERROR, Image.State.ERROR)
    assert "answer-refused" in image.error and reason in image.error, image.error
    assert image.claimed_at is not None and image.processed_at is not None
    assert not image.faces.exists()
    assert seen == ["POST /v2/models/faces/infer"]  # refused for good: not asked again


@pytest.mark.django_db
@pytest.mark.usefixtures("crawled")
def test_a_drawn_face_is_left_unencoded_when_its_encoding_is_refused(service, use):
    image = Image.objects.get(title="File:Obama 1.jpg")
    drawn = FaceFactory(image=image, index=5, encoding=None, origin=Face.Origin.DRAWN)
    answer = wire.encode_response(
        [np.zeros(128, np.float32)], model_name="faces", model_version=ENCODER
    )
    tensor(answer, "encodings")["data"][0][0] = 1e39
    url, _ = service(answering(answer))
    use(url)

    with client() as api:
        assert drawn_service.face_encode(face_id=drawn.pk, client=api) is False

    drawn.refresh_from_db()
    assert drawn.encoding is None


@pytest.mark.django_db
def test_the_sweep_leaves_faces_alone_when_the_service_names_a_version_too_long(service, use):
    face = FaceFactory()
    Image.objects.filter(pk=face.image_id).update(state=Image.State.DONE)
    metadata = wire.metadata(model_name="faces", model_version="v" * 65)
    url, _ = service(answering(one_face(), metadata=metadata))
    use(url)

    assert reencode.images_reencode() == []
    assert Image.objects.get(pk=face.image_id).state == Image.State.DONE


@pytest.mark.django_db
def test_the_sweep_leaves_faces_alone_while_the_model_service_is_down(use):
    # A model-service outage is a transient service error, not a Wikimedia one: the sweep
    # catches it as such and asks again next time.
    face = FaceFactory()
    Image.objects.filter(pk=face.image_id).update(state=Image.State.DONE)
    use(f"http://127.0.0.1:{free_port()}")

    assert reencode.images_reencode() == []
    assert Image.objects.get(pk=face.image_id).state == Image.State.DONE


def test_a_refused_answer_is_permanent_and_a_sound_one_passes_unchanged() -> None:
    assert issubclass(AnswerRefused, PermanentError)
    sound = wire.read_detections(one_face())
    assert wire.checked_detections(sound) is sound
    with pytest.raises(wire.InvalidValue, match="not inside"):
        wire.checked_detections(wire.read_detections(with_box(0.9, 0.1, 0.9, 0.3)))


# ---- an answer too large, too slow, or elsewhere ---------------------------------------------


def photo() -> bytes:
    return (FACES / OBAMA).read_bytes()


def endless(handler: BaseHTTPRequestHandler) -> None:
    """200 MiB with no declared length: the answer ends when the connection does."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.end_headers()
    chunk = b" " * (1 << 20)
    for _ in range(200):
        handler.wfile.write(chunk)


def trickle(handler: BaseHTTPRequestHandler) -> None:
    """An answer's body, a byte every 0.1 s: 8 s for 80 bytes, each well within a read's
    timeout."""
    handler.send_response(200)
    handler.send_header("Content-Length", "80")
    handler.end_headers()
    drip(handler, b" " * 80)


def trickled_headers(handler: BaseHTTPRequestHandler) -> None:
    """The status line and headers themselves, a byte every 0.1 s."""
    drip(handler, b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 70 + b"\r\n\r\n")


def drip(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    for byte in data:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        time.sleep(0.1)


def test_an_endless_answer_is_refused_without_being_read_whole(service) -> None:
    url, _ = service(endless)
    tracemalloc.start()
    try:
        with pytest.raises(AnswerRefused) as refused:
            http_provider(url).analyse(photo(), config=DETECTION)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.code == "model-service-too-large"
    assert peak < 48 * 1024 * 1024  # the 16 MiB cap read, never the 200 MiB sent


def test_an_answer_declared_too_large_is_refused_before_it_is_read(service) -> None:
    def declared(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(200 * 1024 * 1024))
        handler.end_headers()

    url, _ = service(declared)
    with pytest.raises(AnswerRefused, match="model-service-too-large"):
        http_provider(url).analyse(photo(), config=DETECTION)


@pytest.mark.parametrize("behave", [trickle, trickled_headers], ids=["body", "headers"])
def test_an_answer_trickled_past_the_timeout_is_a_timeout(service, behave) -> None:
    url, _ = service(behave)
    started = time.monotonic()
    with pytest.raises(ModelServiceUnavailable) as raised:
        http_provider(url, timeout=1.0).analyse(photo(), config=DETECTION)
    assert raised.value.code == "model-service-timeout"
    assert time.monotonic() - started < 2.5  # not the 8 s the trickle takes


def test_a_redirect_is_never_followed_and_the_photo_is_posted_once(service) -> None:
    def to_itself(handler: BaseHTTPRequestHandler) -> None:
        here = f"http://127.0.0.1:{handler.server.server_address[1]}"
        handler.send_response(307)
        handler.send_header("Location", f"{here}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    elsewhere, seen_there = service(to_itself)

    def away(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"{elsewhere}{handler.path}")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    url, seen = service(away)
    with pytest.raises(ModelServiceUnavailable) as raised:
        http_provider(url, retries=2).analyse(photo(), config=DETECTION)
    assert raised.value.code == "model-service-redirect"
    assert elsewhere in str(raised.value)
    assert seen == ["POST /v2/models/faces/infer"]
    assert seen_there == []


def test_an_answer_nested_too_deep_for_json_is_a_bad_answer_not_a_crash(service) -> None:
    def nested(handler: BaseHTTPRequestHandler) -> None:
        data = b"[" * 200_000
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    url, _ = service(nested)
    with pytest.raises(ModelServiceUnavailable) as raised:
        http_provider(url).analyse(photo(), config=DETECTION)
    assert raised.value.code == "model-service-bad-answer"
