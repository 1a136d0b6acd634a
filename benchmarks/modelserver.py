"""A reference model service: dlib's face models behind the Open Inference Protocol (KServe V2).

    python -m benchmarks.modelserver --host 0.0.0.0 --port 8600 [--detector hog|cnn]

Detect workers then use it with ``WIKIVISAGE_DETECTOR=http`` and
``WIKIVISAGE_DETECTOR_URL=http://<host>:8600``: one machine holds the models and computes, many
small workers only download thumbnails. It runs the very functions of ``faceengine.detection``, so
its faces equal those of dlib in process, bit for bit, and it names the same model
(``dlib-resnet-v1``): a project keeps its faces when it moves from one to the other. With
``--detector cnn`` it finds faces with dlib's CNN instead of HOG (slower; it finds turned faces
HOG misses), for a site that lists it beside dlib (``WIKIVISAGE_DETECTORS=dlib,http``); its
encodings are the same model's.

No Django: the standard library's threaded HTTP server and ``faceengine.detection``. Requests are
read in threads, but one inference runs at a time per process (dlib's networks are not safe to
share between threads); run one process per core behind a load balancer to use more cores.

Endpoints (all JSON): ``GET /v2/health/live``, ``GET /v2/health/ready``, ``GET /v2``,
``GET /v2/models/<name>`` (metadata, with the model version), ``GET /v2/models/<name>/ready``,
``POST /v2/models/<name>[/versions/<version>]/infer`` (messages: ``faceengine.wire``).
Failures answer ``{"error": "..."}``: 400 for a malformed request or a file that is no
picture, 404 for an unknown model or path, 413 for a body over the limit.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import socket
import threading
from collections.abc import Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from faceengine import resnet, wire
from faceengine.detection import (
    DETECTION,
    ENCODER,
    DetectedFace,
    DetectionConfig,
    analyse_file,
    encode_boxes,
    faces_at,
    load_models,
    thumbnail_array,
)
from faceengine.imaging import BadImageError, decode_image

logger = logging.getLogger(__name__)

# The detectors the service can search a picture with: dlib's HOG (as the workers do) and its
# MMOD CNN (face_recognition_models' mmod_human_face_detector): 10-20x the CPU of HOG on a 500 px
# thumbnail, but it finds turned and tilted faces HOG misses, so it can run on a larger machine
# beside the workers' HOG. Only this tooling loads the CNN: the app's image does not hold it.
DETECTORS = ("hog", "cnn")
# The CNN's upsampling, whatever the request asks (the request's ``upsample`` is HOG's): one
# upsample of a 500 px thumbnail costs the CNN about 4x (near 10 s a photo on one core).
CNN_UPSAMPLE = 0


@functools.cache
def load_cnn_detector() -> Any:
    """dlib's MMOD CNN face detector, loaded once per process."""
    import dlib

    return dlib.cnn_face_detection_model_v1(resnet.model_files().cnn_face_detector_model_location())


def cnn_faces(data: bytes, *, config: DetectionConfig) -> list[DetectedFace]:
    """The faces dlib's CNN finds in the picture, on the thumbnail the pipeline looks at,
    encoded as the pipeline encodes HOG's."""
    rgb = thumbnail_array(decode_image(data), config=config)
    found = load_cnn_detector()(rgb, CNN_UPSAMPLE)
    return faces_at(rgb, [hit.rect for hit in found], [hit.confidence for hit in found])


DEFAULT_MODEL_NAME = "faces"
DEFAULT_PORT = 8600
# A Commons thumbnail at 1920 px is a few MB; base64 adds a third.
MAX_BODY_BYTES = 32 * 1024 * 1024
SERVER_NAME = "wikivisage-modelserver"


class ModelServer:
    """The service on ``host:port`` (0: a free port, read back from ``port``), in a thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model_name: str = DEFAULT_MODEL_NAME,
        detector: str = "hog",
    ) -> None:
        if detector not in DETECTORS:
            raise ValueError(f"a detector is one of {DETECTORS}, not {detector!r}")
        self.host, self.port, self.model_name = host, port, model_name
        self.detector = detector
        self.model_version = ENCODER
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ModelServer:
        load_models()  # before the first request: ready means ready
        if self.detector == "cnn":
            load_cnn_detector()
        handler = type("BoundHandler", (_Handler,), {"server_model": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"modelserver:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def infer(self, body: Any) -> dict[str, Any]:
        """Answer one inference request (ProtocolError, BadImageError if it cannot be)."""
        request = wire.read_request(body, default=DETECTION)
        names = {"model_name": self.model_name, "model_version": self.model_version}
        with self._lock:
            if request.boxes is not None:
                vectors = encode_boxes(request.image, request.boxes)
                return wire.encode_response(vectors, **names)
            if self.detector == "cnn":
                faces = cnn_faces(request.image, config=request.config)
            else:
                faces = analyse_file(request.image, config=request.config)
        return wire.detect_response(faces, **names)

    def metadata(self) -> dict[str, Any]:
        return wire.metadata(model_name=self.model_name, model_version=self.model_version)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER_NAME
    server_model: ModelServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        parts = self._parts()
        model = self.server_model
        if parts in (["v2", "health", "live"], ["v2", "health", "ready"]):
            self._reply(HTTPStatus.OK, {"live": True, "ready": True})
        elif parts == ["v2"]:
            self._reply(HTTPStatus.OK, {"name": SERVER_NAME, "version": "1", "extensions": []})
        elif self._model_path(parts[:3]) and parts[3:] == []:
            self._reply(HTTPStatus.OK, model.metadata())
        elif self._model_path(parts[:3]) and parts[3:] == ["ready"]:
            self._reply(HTTPStatus.OK, {"name": model.model_name, "ready": True})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {self.path}")

    def do_POST(self) -> None:
        parts = self._parts()
        if not self._model_path(parts[:3]) or parts[-1:] != ["infer"]:
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {self.path}")
            return
        version = parts[4] if len(parts) == 6 and parts[3] == "versions" else None
        if len(parts) not in (4, 6) or version not in (None, self.server_model.model_version):
            self._error(HTTPStatus.NOT_FOUND, f"no such model version: {self.path}")
            return
        body = self._body()
        if body is not None:
            self._infer(body)

    def _infer(self, body: Any) -> None:
        try:
            answer = self.server_model.infer(body)
        except (wire.ProtocolError, BadImageError) as error:
            self._error(HTTPStatus.BAD_REQUEST, str(error))
        except Exception:
            logger.exception("inference failed")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "inference failed")
        else:
            self._reply(HTTPStatus.OK, answer)

    def _parts(self) -> list[str]:
        return [part for part in self.path.split("?", 1)[0].split("/") if part]

    def _model_path(self, parts: Sequence[str]) -> bool:
        return list(parts) == ["v2", "models", self.server_model.model_name]

    def _body(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY_BYTES:
            self.close_connection = True
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST
            self._error(status, f"a request is a JSON body of at most {MAX_BODY_BYTES} bytes")
            return None
        try:
            return json.loads(self.rfile.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return None

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._reply(status, {"error": message})

    def _reply(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, allow_nan=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0: any free port")
    parser.add_argument("--model-name", default=DEFAULT_MODEL_NAME)
    parser.add_argument(
        "--detector", choices=DETECTORS, default="hog", help="dlib's HOG (as in process) or CNN"
    )
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    server = ModelServer(
        host=options.host,
        port=options.port,
        model_name=options.model_name,
        detector=options.detector,
    )
    server.start()
    # One line on stdout, for whoever started it on port 0 (tests, the benchmark).
    print(
        f"serving {server.model_name} ({server.model_version}, {server.detector}) on {server.url}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
