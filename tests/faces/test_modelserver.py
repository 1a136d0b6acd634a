"""The reference model service (``python -m benchmarks.modelserver``) and its protocol messages.

The server runs as a real process on a free port, as an operator would start it; requests go
to it over loopback with requests, as any Open Inference Protocol client would send them.
"""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from django.conf import settings

from faceengine import wire
from faceengine.detection import DETECTION, ENCODER, DetectedFace, FaceBox, analyse_file

FACES = Path(settings.FACES_DATA_DIR)
OBAMA = FACES / "barack_obama/01.jpg"


class ServerProcess:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url


def start_model_server() -> ServerProcess:
    """``python -m benchmarks.modelserver --port 0``, once it says where it listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.modelserver", "--port", "0"],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if "serving" not in line:
        process.kill()
        raise RuntimeError(f"the model server did not start: {line!r}")
    return ServerProcess(process, line.rsplit(" ", 1)[1].strip())


def stop_model_server(server: ServerProcess) -> None:
    server.process.terminate()
    server.process.wait(timeout=10)


@pytest.fixture(scope="module")
def model_server() -> Iterator[ServerProcess]:
    server = start_model_server()
    yield server
    stop_model_server(server)


def infer_url(server: ServerProcess, path: str = "/v2/models/faces/infer") -> str:
    return server.url + path


# ---- the protocol's messages, no server --------------------------------------------------


def a_face(encoding: np.ndarray) -> DetectedFace:
    box = FaceBox(left=0.1234567890123, top=0.2, width=0.3, height=0.25)
    return DetectedFace(
        box=box, width_px=61, height_px=39, score=1.25, small=True, encoding=encoding
    )


def test_a_detect_answer_reads_back_bit_for_bit() -> None:
    encoding = np.random.default_rng(7).normal(size=128).astype(np.float32)
    answer = wire.detect_response([a_face(encoding)], model_name="faces", model_version="m-1")
    # Through JSON text, as on the wire.
    read = wire.read_detections(json.loads(json.dumps(answer)))

    assert read.model_version == "m-1"
    assert read.faces == [a_face(encoding)]
    np.testing.assert_array_equal(read.faces[0].encoding, encoding)
    assert not read.faces[0].encoding.flags.writeable


def test_an_encode_request_reads_back_with_its_boxes_and_picture() -> None:
    boxes = [FaceBox(0.1, 0.2, 0.3, 0.4), FaceBox(0.5, 0.5, 0.25, 0.125)]
    request = wire.read_request(
        wire.encode_request(b"\xff\xd8picture", boxes=boxes), default=DETECTION
    )
    assert request.image == b"\xff\xd8picture"
    assert request.boxes == tuple(boxes)
    assert request.config == DETECTION


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"outputs": []},
        {"model_version": "m", "outputs": "no"},
        {"model_version": "m", "outputs": [{"name": "boxes", "data": [[0.1, 0.2, 0.3]]}]},
    ],
)
def test_a_malformed_answer_is_a_protocol_error(answer) -> None:
    with pytest.raises(wire.ProtocolError):
        wire.read_detections(answer)


def test_the_server_module_needs_no_django() -> None:
    code = (
        "import sys, benchmarks.modelserver; print('django' in sys.modules, 'dlib' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
    )
    assert result.stdout.split() == ["False", "False"]


# ---- the server, as a process --------------------------------------------------------------


@pytest.mark.slow
def test_health_and_metadata_name_the_model_and_its_version(model_server) -> None:
    assert requests.get(model_server.url + "/v2/health/live", timeout=5).status_code == 200
    assert requests.get(model_server.url + "/v2/health/ready", timeout=5).status_code == 200
    ready = requests.get(model_server.url + "/v2/models/faces/ready", timeout=5)
    assert ready.json() == {"name": "faces", "ready": True}
    metadata = requests.get(model_server.url + "/v2/models/faces", timeout=5).json()
    assert metadata["name"] == "faces"
    assert metadata["versions"] == [ENCODER]
    assert {tensor["name"] for tensor in metadata["inputs"]} == {"image", "boxes"}


@pytest.mark.slow
def test_an_infer_request_gives_the_faces_dlib_finds_in_process(model_server) -> None:
    data = (FACES / "multi/03.jpg").read_bytes()
    body = wire.detect_request(data, config=DETECTION)
    answer = requests.post(infer_url(model_server), json=body, timeout=60)

    assert answer.status_code == 200
    assert answer.json()["model_name"] == "faces"
    read = wire.read_detections(answer.json())
    expected = analyse_file(data, config=DETECTION)
    assert read.model_version == ENCODER
    assert read.faces == expected
    for got, want in zip(read.faces, expected, strict=True):
        np.testing.assert_array_equal(got.encoding, want.encoding)


@pytest.mark.slow
def test_the_versioned_infer_path_answers_for_its_version_only(model_server) -> None:
    body = wire.encode_request(OBAMA.read_bytes(), boxes=[FaceBox(0.38, 0.12, 0.3, 0.24)])
    versioned = f"/v2/models/faces/versions/{ENCODER}/infer"
    answer = requests.post(infer_url(model_server, versioned), json=body, timeout=60)
    assert answer.status_code == 200
    assert wire.read_encodings(answer.json(), expected=1).vectors[0] is not None
    other = requests.post(
        infer_url(model_server, "/v2/models/faces/versions/9/infer"), json=body, timeout=10
    )
    assert other.status_code == 404 and "error" in other.json()


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/v2/models/people/infer", "/v2/models/people", "/nothing", "/v2/models/faces/x"]
)
def test_an_unknown_model_or_path_is_a_404_with_an_error(model_server, path) -> None:
    method = requests.post if path.endswith("infer") else requests.get
    answer = method(model_server.url + path, json={}, timeout=10)
    assert answer.status_code == 404
    assert answer.json()["error"]


def _image_input(value: object) -> dict:
    return {"name": "image", "shape": [1], "datatype": "BYTES", "data": [value]}


GOOD_IMAGE = base64.b64encode(OBAMA.read_bytes()).decode()
BAD_BODIES = {
    "not json": b"{nope",
    "no inputs": {"parameters": {}},
    "no image": {"inputs": [{"name": "boxes", "data": []}]},
    "image not base64": {"inputs": [_image_input("***")]},
    "image a number": {"inputs": [_image_input(12)]},
    "not a picture": {"inputs": [_image_input(base64.b64encode(b"<html>").decode())]},
    "width too large": {
        "inputs": [_image_input(GOOD_IMAGE)],
        "parameters": {"thumb_width": 10**9},
    },
    "upsample a string": {"inputs": [_image_input(GOOD_IMAGE)], "parameters": {"upsample": "x"}},
    "box outside": {
        "inputs": [
            _image_input(GOOD_IMAGE),
            {"name": "boxes", "datatype": "FP64", "shape": [1, 4], "data": [[2, 0, 0.1, 0.1]]},
        ]
    },
    "box not numbers": {
        "inputs": [_image_input(GOOD_IMAGE), {"name": "boxes", "data": [["a", 0, 0.1, 0.1]]}]
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", BAD_BODIES)
def test_bad_input_is_a_400_with_an_error_never_a_500(model_server, name) -> None:
    body = BAD_BODIES[name]
    if isinstance(body, bytes):
        answer = requests.post(infer_url(model_server), data=body, timeout=10)
    else:
        answer = requests.post(infer_url(model_server), json=body, timeout=10)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]


@pytest.mark.slow
def test_a_body_over_the_limit_is_refused_before_it_is_read(model_server) -> None:
    from benchmarks.modelserver import MAX_BODY_BYTES

    host, port = model_server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/v2/models/faces/infer")
    connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    connection.endheaders()
    answer = connection.getresponse()
    assert answer.status == 413
    assert json.loads(answer.read())["error"]
    connection.close()
