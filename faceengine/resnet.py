"""dlib's face descriptor network (dlib_face_recognition_resnet_model_v1) run with numpy.

The prebuilt ``dlib-bin`` wheel is compiled without BLAS, so its ResNet spends about 75 ms per
face on this project's machines, more than HOG detection of a whole thumbnail. numpy ships
OpenBLAS: the same network as im2col + one matrix product per convolution takes about 12 ms on
one core (``benchmarks/encoder.py``). Same weights, same arithmetic, a different summation
order: encodings agree with dlib's to under 1e-6 (``tests/faces/test_resnet.py`` holds them to
1e-5 on real and random faces), so they stay the same model (``detection.ENCODER``) and mix
freely with encodings dlib computed.

1. :func:`load` reads the weights from dlib's own serialisation of the network (the model file
   of ``face_recognition_models``): every layer's record, in order from input to output,
   checked against the architecture below; any other file is refused.
2. :meth:`ResNet.describe` takes aligned 150x150 face chips (``dlib.get_face_chips``, as dlib's
   ``compute_face_descriptor`` cuts them) and returns one 128-D descriptor per chip.

The architecture, from dlib's ``examples/dnn_face_recognition_ex.cpp``::

    fc_no_bias<128, avg_pool_everything<
      level0: ares_down<256>
      level1: ares<256, ares<256, ares_down<256>>>
      level2: ares<128, ares<128, ares_down<128>>>
      level3: ares<64, ares<64, ares<64, ares_down<64>>>>
      level4: ares<32, ares<32, ares<32>>>
      max_pool<3,3,2,2, relu<affine<con<32,7,7,2,2, input_rgb_image_sized<150>>>>>>>

where ``ares`` is relu(x + affine(con(relu(affine(con(x)))))) and ``ares_down`` the same with a
first convolution of stride 2 and a 2x2 average pool of x as the shortcut.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CHIP_SIZE = 150
# input_rgb_image_sized: each channel minus its mean, over 256.
CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], dtype=np.float32)
# Blocks per level, from the input up: (filters, plain blocks after the first, first is down).
LEVELS = ((32, 3, False), (64, 4, True), (128, 3, True), (256, 3, True), (256, 1, True))


class ModelFileError(ValueError):
    """The file is not dlib's face ResNet as this module knows it."""


@dataclass(frozen=True)
class Conv:
    """A convolution, its filters laid out for im2col: (channels*rows*cols, filters)."""

    matrix: np.ndarray
    bias: np.ndarray
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class Affine:
    """A batch normalisation frozen into gamma * x + beta, per channel."""

    gamma: np.ndarray
    beta: np.ndarray


@dataclass(frozen=True)
class Pool:
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class Block:
    """conv, affine, relu, conv, affine; with a pooled shortcut when it halves the grid."""

    conv1: Conv
    affine1: Affine
    conv2: Conv
    affine2: Affine
    shortcut: Pool | None


@dataclass(frozen=True)
class ResNet:
    stem: Conv
    stem_affine: Affine
    stem_pool: Pool
    blocks: tuple[Block, ...]
    projection: np.ndarray  # (256, 128): fc_no_bias

    def describe(self, chips: np.ndarray) -> np.ndarray:
        """The (n, 128) float32 descriptors of n RGB uint8 chips of 150x150."""
        if chips.dtype != np.uint8 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected (n, 150, 150, 3) uint8 chips, got {chips.shape}")
        x = (chips.astype(np.float32) - CHANNEL_MEANS) / np.float32(256)
        x = _max_pool(_relu(_affine(_conv(x, self.stem), self.stem_affine)), self.stem_pool)
        for block in self.blocks:
            x = _block(x, block)
        return x.mean(axis=(1, 2), dtype=np.float32) @ self.projection


def _block(x: np.ndarray, block: Block) -> np.ndarray:
    y = _relu(_affine(_conv(x, block.conv1), block.affine1))
    y = _affine(_conv(y, block.conv2), block.affine2)
    shortcut = x if block.shortcut is None else _avg_pool(x, block.shortcut)
    return _relu(_add(y, shortcut))


def _conv(x: np.ndarray, conv: Conv) -> np.ndarray:
    """Cross-correlation as dlib computes it: zero padding, output 1 + (n + 2p - k) // s."""
    n, size, stride = x.shape[0], conv.size, conv.stride
    if conv.padding:
        p = conv.padding
        x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    # (n, rows, cols, size, size, channels): each copied run is a pixel's channels, contiguous.
    windows = windows[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)
    rows, cols = windows.shape[1:3]
    columns = windows.reshape(n * rows * cols, -1)
    out = columns @ conv.matrix
    out += conv.bias
    return out.reshape(n, rows, cols, -1)


def _affine(x: np.ndarray, affine: Affine) -> np.ndarray:
    x *= affine.gamma
    x += affine.beta
    return x


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def _pool_windows(x: np.ndarray, pool: Pool) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x, (pool.size, pool.size), axis=(1, 2))
    return windows[:, :: pool.stride, :: pool.stride]


def _max_pool(x: np.ndarray, pool: Pool) -> np.ndarray:
    return _pool_windows(x, pool).max(axis=(4, 5))


def _avg_pool(x: np.ndarray, pool: Pool) -> np.ndarray:
    return _pool_windows(x, pool).mean(axis=(4, 5), dtype=np.float32)


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add_prev: tensors of different sizes add top-left aligned, the rest zeros."""
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(i, j) for i, j in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out


# --- reading dlib's serialisation -----------------------------------------------------------


def model_files() -> Any:
    """The face_recognition_models package, which finds its files with pkg_resources.

    setuptools 81 warns on every import of pkg_resources (a UserWarning, printed in every
    worker's log); the package is pinned to a setuptools that still has it (pyproject.toml).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
        import face_recognition_models
    return face_recognition_models


@functools.cache
def load(path: str | Path | None = None) -> ResNet:
    """The network in dlib's model file (by default face_recognition_models')."""
    if path is None:
        path = model_files().face_recognition_model_location()
    return parse(Path(path).read_bytes())


def parse(data: bytes) -> ResNet:
    """Read the layers of dlib's serialised network, input first, and assemble them."""
    reader = _Reader(data)
    layers = reader.layers()
    expected = _expected_layers()
    if [name for name, _ in layers] != expected:
        raise ModelFileError("the layers are not those of dlib_face_recognition_resnet_model_v1")
    return _assemble(iter([value for _, value in layers]))


def _expected_layers() -> list[str]:
    """Layer records in file order: the stem, each block, global pooling, projection."""
    names = ["con", "affine", "relu", "max_pool"]
    plain = ["con", "affine", "relu", "con", "affine", "add_prev", "relu"]
    down = ["con", "affine", "relu", "con", "affine", "avg_pool", "add_prev", "relu"]
    for _filters, count, first_down in LEVELS:
        names += (down if first_down else plain) + plain * (count - 1)
    return [*names, "avg_pool", "fc"]


def _assemble(it: Iterator[Any]) -> ResNet:
    stem, stem_affine = next(it), next(it)
    next(it)  # relu
    stem_pool = next(it)
    blocks = []
    for _filters, count, first_down in LEVELS:
        for index in range(count):
            conv1, affine1 = next(it), next(it)
            next(it)  # relu
            conv2, affine2 = next(it), next(it)
            shortcut = next(it) if first_down and index == 0 else None
            next(it), next(it)  # add_prev, relu
            blocks.append(Block(conv1, affine1, conv2, affine2, shortcut))
    next(it)  # avg_pool_everything
    return ResNet(stem, stem_affine, stem_pool, tuple(blocks), projection=next(it))


class _Reader:
    """dlib's serialize(): integers as a length byte (0x80: negative) and little-endian bytes;
    strings as an integer length and the characters; tensors (version 2) as four integer
    dimensions and raw little-endian float32."""

    PARSERS = {
        "con_4": "_con",
        "affine_": "_affine",
        "relu_": "_nothing",
        "max_pool_2": "_pool",
        "avg_pool_2": "_pool",
        "add_prev_": "_nothing",
        "fc_2": "_fc",
    }

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def layers(self) -> list[tuple[str, object]]:
        """(kind, value) of each layer record; the records sit between nesting headers, so
        each is found by its version string and read from there."""
        found = []
        for name, method in self._records():
            value = getattr(self, method)()
            kind = name.rstrip("_0123456789")
            found.append((kind, value))
        return found

    def _records(self) -> Iterator[tuple[str, str]]:
        markers = {self._string_bytes(name): name for name in self.PARSERS}
        pattern = re.compile(b"|".join(re.escape(marker) for marker in markers))
        while match := pattern.search(self.data, self.pos):
            self.pos = match.end()
            name = markers[match.group()]
            yield name, self.PARSERS[name]

    @staticmethod
    def _string_bytes(text: str) -> bytes:
        return bytes([1, len(text)]) + text.encode("ascii")

    def integer(self) -> int:
        if self.pos >= len(self.data):
            raise ModelFileError("the model file ends early")
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8:
            raise ModelFileError(f"bad integer at byte {self.pos}")
        raw = self.data[self.pos + 1 : self.pos + 1 + size]
        self.pos += 1 + size
        value = int.from_bytes(raw, "little")
        return -value if control & 0x80 else value

    def tensor(self) -> np.ndarray:
        if self.integer() != 2:
            raise ModelFileError(f"unknown tensor version at byte {self.pos}")
        shape = tuple(self.integer() for _ in range(4))
        count = int(np.prod(shape))
        if self.pos + 4 * count > len(self.data):
            raise ModelFileError("the model file ends inside a tensor")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return values.astype(np.float32)

    def _con(self) -> Conv:
        params = self.tensor()
        filters, rows, cols = self.integer(), self.integer(), self.integer()
        stride_y, stride_x = self.integer(), self.integer()
        padding_y, padding_x = self.integer(), self.integer()
        if rows != cols or stride_y != stride_x or padding_y != padding_x:
            raise ModelFileError("only square convolutions are supported")
        weights = params[: params.size - filters]
        channels = weights.size // (filters * rows * cols)
        if channels * filters * rows * cols != weights.size:
            raise ModelFileError("a convolution's parameters do not match its shape")
        # dlib's filters are (filters, channels, rows, cols); im2col columns run (rows, cols,
        # channels).
        kernel = weights.reshape(filters, channels, rows, cols).transpose(2, 3, 1, 0)
        matrix = kernel.reshape(rows * cols * channels, filters).copy()
        return Conv(matrix, params[-filters:].copy(), rows, stride_y, padding_y)

    def _affine(self) -> Affine:
        params = self.tensor()
        half = params.size // 2
        return Affine(gamma=params[:half].copy(), beta=params[half:].copy())

    def _pool(self) -> Pool:
        rows, cols, stride_y, stride_x = (self.integer() for _ in range(4))
        padding_y, padding_x = self.integer(), self.integer()
        if rows != cols or stride_y != stride_x or padding_y or padding_x:
            raise ModelFileError("only square pooling without padding is supported")
        return Pool(size=rows, stride=stride_y, padding=padding_y)

    def _fc(self) -> np.ndarray:
        outputs, inputs = self.integer(), self.integer()
        params = self.tensor()
        if params.size != outputs * inputs:
            raise ModelFileError("the projection's parameters do not match its shape")
        return params.reshape(inputs, outputs).copy()

    def _nothing(self) -> None:
        return None
