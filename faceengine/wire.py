"""The face model's messages in the Open Inference Protocol (KServe V2), as plain functions.

Shared by the client (``faces.modelclient``) and the reference server
(``benchmarks.modelserver``); no HTTP and no Django here. One model, one ``infer`` call, two uses:

- detect: input ``image`` (BYTES, shape [1], the file's bytes in base64: the
  ``content_type: base64`` parameter of MLServer's codecs) and the request parameters
  ``thumb_width`` and ``upsample``. Outputs, one row per face: ``boxes`` FP64 [n, 4] (left,
  top, width, height as fractions of the image), ``pixels`` INT32 [n, 2] (width and height in
  pixels of the analysed image), ``scores`` FP64 [n], ``small`` BOOL [n] and ``encodings``
  FP32 [n, 128].
- encode: the same ``image`` and an input ``boxes`` FP64 [n, 4]: the encodings of those boxes.
  Outputs ``encodings`` FP32 [n, 128] and ``encoded`` BOOL [n] (false: the box held no pixels
  of the image; its row is zeros).

The answer's ``model_version`` names the model that computed the encodings (``Face.encoder``).
Floats travel as JSON numbers: a float32 widened to a double prints exactly and reads back to
the same float32, so encodings cross the wire bit for bit.

Reading an answer checks its form (:class:`ProtocolError`); what its values may be is checked
by :func:`checked_detections` and :func:`checked_encodings` (:class:`InvalidValue`), which
every provider's result passes (``faces.providers``), the model service's and dlib's alike.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from faceengine.detection import DetectedFace, DetectionConfig, FaceBox
from faceengine.learner.distances import MAX_ENCODING_VALUE, usable_encodings

ENCODING_SIZE = 128
# Wider than any Commons thumbnail (1920) is no detection setting the pipeline uses.
MAX_THUMB_WIDTH = 4096
MAX_UPSAMPLE = 2
MAX_BOXES = 1000
# Face.encoder's column (faces.models): a longer version could not be stored.
MAX_VERSION_LENGTH = 64
# A box may pass the image's edge by this much: its right edge, left + width, is computed.
EDGE_SLACK = 1e-9


class ProtocolError(ValueError):
    """A message does not follow this model's protocol (the server answers 400)."""


class InvalidValue(ProtocolError):
    """An answer holds values the pipeline cannot store or learn from: refused for good."""


@dataclass(frozen=True)
class InferRequest:
    """What the server is asked: detect in ``image``, or encode ``boxes`` of it."""

    image: bytes
    config: DetectionConfig
    boxes: tuple[FaceBox, ...] | None = None


@dataclass(frozen=True)
class Encodings:
    """One encoding per box asked; None where the box held no pixels."""

    vectors: list[np.ndarray | None]
    model_version: str


@dataclass(frozen=True)
class Detections:
    faces: list[DetectedFace]
    model_version: str


# --- requests -------------------------------------------------------------------------------


def detect_request(image: bytes, *, config: DetectionConfig) -> dict[str, Any]:
    return {"parameters": _config_parameters(config), "inputs": [_image_input(image)]}


def encode_request(image: bytes, *, boxes: Sequence[FaceBox]) -> dict[str, Any]:
    rows = [[box.left, box.top, box.width, box.height] for box in boxes]
    return {
        "inputs": [
            _image_input(image),
            {"name": "boxes", "shape": [len(rows), 4], "datatype": "FP64", "data": rows},
        ]
    }


def read_request(body: Any, *, default: DetectionConfig) -> InferRequest:
    """The server's reading of an inference request; ProtocolError if it is not one."""
    if not isinstance(body, Mapping) or not isinstance(body.get("inputs"), list):
        raise ProtocolError("an inference request is an object with a list of inputs")
    inputs = {
        item["name"]: item
        for item in body["inputs"]
        if isinstance(item, Mapping) and isinstance(item.get("name"), str)
    }
    if "image" not in inputs:
        raise ProtocolError("the input 'image' is missing")
    image = _read_image(inputs["image"])
    config = _read_config(body.get("parameters") or {}, default)
    boxes = _read_boxes(inputs["boxes"]) if "boxes" in inputs else None
    return InferRequest(image=image, config=config, boxes=boxes)


def _image_input(image: bytes) -> dict[str, Any]:
    return {
        "name": "image",
        "shape": [1],
        "datatype": "BYTES",
        "parameters": {"content_type": "base64"},
        "data": [base64.b64encode(image).decode("ascii")],
    }


def _config_parameters(config: DetectionConfig) -> dict[str, int]:
    return {"thumb_width": config.thumb_width, "upsample": config.upsample}


def _read_image(tensor: Mapping[str, Any]) -> bytes:
    data = tensor.get("data")
    if tensor.get("datatype") != "BYTES" or not isinstance(data, list) or len(data) != 1:
        raise ProtocolError("'image' is one BYTES element")
    if not isinstance(data[0], str):
        raise ProtocolError("'image' holds a base64 string")
    try:
        return base64.b64decode(data[0], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ProtocolError(f"'image' is not valid base64: {error}") from None


def _read_config(parameters: Any, default: DetectionConfig) -> DetectionConfig:
    if not isinstance(parameters, Mapping):
        raise ProtocolError("parameters are an object")
    width = parameters.get("thumb_width", default.thumb_width)
    upsample = parameters.get("upsample", default.upsample)
    if not _is_int(width) or not 1 <= width <= MAX_THUMB_WIDTH:
        raise ProtocolError(f"thumb_width is a whole number from 1 to {MAX_THUMB_WIDTH}")
    if not _is_int(upsample) or not 0 <= upsample <= MAX_UPSAMPLE:
        raise ProtocolError(f"upsample is a whole number from 0 to {MAX_UPSAMPLE}")
    return DetectionConfig(thumb_width=width, upsample=upsample)


def _read_boxes(tensor: Mapping[str, Any]) -> tuple[FaceBox, ...]:
    values = _numbers(tensor, "boxes", columns=4)
    if len(values) > MAX_BOXES:
        raise ProtocolError(f"at most {MAX_BOXES} boxes at once")
    boxes = []
    for left, top, width, height in values.tolist():
        if not (0 <= left <= 1 and 0 <= top <= 1 and 0 < width <= 1 and 0 < height <= 1):
            raise ProtocolError("a box is four fractions (left, top, width, height) of the image")
        boxes.append(FaceBox(left=left, top=top, width=width, height=height))
    return tuple(boxes)


# --- responses ------------------------------------------------------------------------------


def detect_response(
    faces: Sequence[DetectedFace], *, model_name: str, model_version: str
) -> dict[str, Any]:
    n = len(faces)
    outputs = [
        _tensor("boxes", "FP64", [n, 4], [_box_row(face.box) for face in faces]),
        _tensor("pixels", "INT32", [n, 2], [[face.width_px, face.height_px] for face in faces]),
        _tensor("scores", "FP64", [n], [face.score for face in faces]),
        _tensor("small", "BOOL", [n], [face.small for face in faces]),
        _tensor("encodings", "FP32", [n, ENCODING_SIZE], [_floats(f.encoding) for f in faces]),
    ]
    return {"model_name": model_name, "model_version": model_version, "outputs": outputs}


def encode_response(
    vectors: Sequence[np.ndarray | None], *, model_name: str, model_version: str
) -> dict[str, Any]:
    n = len(vectors)
    zeros = [0.0] * ENCODING_SIZE
    rows = [zeros if vector is None else _floats(vector) for vector in vectors]
    outputs = [
        _tensor("encodings", "FP32", [n, ENCODING_SIZE], rows),
        _tensor("encoded", "BOOL", [n], [vector is not None for vector in vectors]),
    ]
    return {"model_name": model_name, "model_version": model_version, "outputs": outputs}


def read_detections(body: Any) -> Detections:
    """The client's reading of a detect answer; ProtocolError if it is malformed."""
    outputs, version = _outputs(body)
    boxes = _numbers(outputs.get("boxes"), "boxes", columns=4)
    pixels = _numbers(outputs.get("pixels"), "pixels", columns=2).astype(int)
    scores = _numbers(outputs.get("scores"), "scores")
    small = _numbers(outputs.get("small"), "small").astype(bool)
    encodings = _encodings(outputs.get("encodings"))
    if not len(boxes) == len(pixels) == len(scores) == len(small) == len(encodings):
        raise ProtocolError("the outputs do not have one row per face each")
    faces = [
        DetectedFace(
            box=FaceBox(*(float(v) for v in boxes[i])),
            width_px=int(pixels[i][0]),
            height_px=int(pixels[i][1]),
            score=float(scores[i]),
            small=bool(small[i]),
            encoding=_frozen(encodings[i]),
        )
        for i in range(len(boxes))
    ]
    return Detections(faces=faces, model_version=version)


def read_encodings(body: Any, *, expected: int) -> Encodings:
    outputs, version = _outputs(body)
    encodings = _encodings(outputs.get("encodings"))
    encoded = _numbers(outputs.get("encoded"), "encoded").astype(bool)
    if not len(encodings) == len(encoded) == expected:
        raise ProtocolError(f"expected {expected} encodings, got {len(encodings)}")
    vectors = [_frozen(row) if ok else None for row, ok in zip(encodings, encoded, strict=True)]
    return Encodings(vectors=vectors, model_version=version)


def metadata(*, model_name: str, model_version: str) -> dict[str, Any]:
    """The model metadata answer (GET /v2/models/<name>)."""
    return {
        "name": model_name,
        "versions": [model_version],
        "platform": "dlib",
        "inputs": [
            {"name": "image", "datatype": "BYTES", "shape": [1]},
            {"name": "boxes", "datatype": "FP64", "shape": [-1, 4]},
        ],
        "outputs": [
            {"name": "boxes", "datatype": "FP64", "shape": [-1, 4]},
            {"name": "pixels", "datatype": "INT32", "shape": [-1, 2]},
            {"name": "scores", "datatype": "FP64", "shape": [-1]},
            {"name": "small", "datatype": "BOOL", "shape": [-1]},
            {"name": "encodings", "datatype": "FP32", "shape": [-1, ENCODING_SIZE]},
            {"name": "encoded", "datatype": "BOOL", "shape": [-1]},
        ],
    }


def read_version(body: Any) -> str:
    """The model version a metadata answer names (its last, if it lists several)."""
    versions = body.get("versions") if isinstance(body, Mapping) else None
    if not isinstance(versions, list) or not versions or not isinstance(versions[-1], str):
        raise ProtocolError("the model metadata names no version")
    return versions[-1]


# --- what an answer's values may be ---------------------------------------------------------


def checked_detections(detections: Detections) -> Detections:
    """``detections`` if every value can be stored and learnt from, else InvalidValue: a
    version that fits its column, at most ``MAX_BOXES`` faces (indexes stay below the retired
    faces'), each box inside the image, each encoding usable as float32."""
    checked_version(detections.model_version)
    if len(detections.faces) > MAX_BOXES:
        raise InvalidValue(f"{len(detections.faces)} faces in one picture (at most {MAX_BOXES})")
    for index, face in enumerate(detections.faces):
        _check_box(face.box, index)
        _check_encoding(face.encoding, index)
    return detections


def checked_encodings(encodings: Encodings, *, expected: int) -> Encodings:
    """``encodings`` if there is one per box asked, each usable as float32, else InvalidValue."""
    checked_version(encodings.model_version)
    if len(encodings.vectors) != expected:
        raise InvalidValue(f"expected {expected} encodings, got {len(encodings.vectors)}")
    for index, vector in enumerate(encodings.vectors):
        if vector is not None:
            _check_encoding(vector, index)
    return encodings


def checked_version(version: str) -> str:
    """A model version is 1 to ``MAX_VERSION_LENGTH`` printable characters (``Face.encoder``)."""
    if not version.strip() or len(version) > MAX_VERSION_LENGTH:
        raise InvalidValue(
            f"the model version {version[:80]!r} is not 1 to {MAX_VERSION_LENGTH} characters"
        )
    if not version.isprintable():
        raise InvalidValue(f"the model version {version!r} holds control characters")
    return version


def _check_box(box: FaceBox, index: int) -> None:
    left, top, width, height = box.left, box.top, box.width, box.height
    if not all(math.isfinite(value) for value in (left, top, width, height)) or not (
        0 <= left <= 1
        and 0 <= top <= 1
        and 0 < width <= 1
        and 0 < height <= 1
        and left + width <= 1 + EDGE_SLACK
        and top + height <= 1 + EDGE_SLACK
    ):
        raise InvalidValue(
            f"face {index}: the box ({left:g}, {top:g}, {width:g}, {height:g}) is not inside "
            "the image with a positive size"
        )


def _check_encoding(vector: np.ndarray, index: int) -> None:
    # As it is stored (Face.pack): 1e39 is finite as a double and infinite as a float32.
    values = np.asarray(vector, dtype=np.float32).reshape(1, -1)
    if values.shape != (1, ENCODING_SIZE):
        raise InvalidValue(f"face {index}: an encoding of {values.size} numbers, not 128")
    if not usable_encodings(values)[0]:
        raise InvalidValue(
            f"face {index}: an encoding value is not finite as float32 or beyond "
            f"±{MAX_ENCODING_VALUE:g}"
        )


def _tensor(name: str, datatype: str, shape: list[int], rows: list[Any]) -> dict[str, Any]:
    return {"name": name, "datatype": datatype, "shape": shape, "data": rows}


def _box_row(box: FaceBox) -> list[float]:
    return [box.left, box.top, box.width, box.height]


def _floats(vector: np.ndarray) -> list[float]:
    return np.asarray(vector, dtype=np.float32).astype(np.float64).tolist()


def _outputs(body: Any) -> tuple[dict[Any, Mapping[str, Any]], str]:
    if not isinstance(body, Mapping) or not isinstance(body.get("outputs"), list):
        raise ProtocolError("an inference answer is an object with a list of outputs")
    version = body.get("model_version")
    if not isinstance(version, str) or not version:
        raise ProtocolError("the answer names no model_version")
    outputs = {
        o["name"]: o
        for o in body["outputs"]
        if isinstance(o, Mapping) and isinstance(o.get("name"), str)
    }
    return outputs, version


def _numbers(tensor: Any, name: str, *, columns: int | None = None) -> np.ndarray:
    """A tensor's data as an array of rows (nested or flat, as the protocol allows)."""
    if not isinstance(tensor, Mapping) or not isinstance(tensor.get("data"), list):
        raise ProtocolError(f"the tensor '{name}' is missing")
    try:
        values = np.asarray(tensor["data"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ProtocolError(f"the tensor '{name}' holds something other than numbers") from None
    if not np.all(np.isfinite(values)):  # NaN or Infinity: Python's json reads them
        raise InvalidValue(f"the tensor '{name}' holds numbers that are not finite")
    if columns is None:
        return values.reshape(-1)
    if values.size % columns:
        raise ProtocolError(f"the tensor '{name}' is not rows of {columns} numbers")
    return values.reshape(-1, columns)


def _encodings(tensor: Any) -> np.ndarray:
    values = _numbers(tensor, "encodings", columns=ENCODING_SIZE)
    with np.errstate(over="ignore"):  # a value past float32 becomes inf, refused at the door
        return values.astype(np.float32)


def _frozen(row: np.ndarray) -> np.ndarray:
    encoding = np.array(row, dtype=np.float32)
    encoding.setflags(write=False)
    return encoding


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
