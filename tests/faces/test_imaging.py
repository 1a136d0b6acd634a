"""Safe decoding: every bad download becomes one BadImageError, every good one upright RGB."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from PIL import Image

from faceengine.imaging import (
    BadImageError,
    BadImageReason,
    decode_image,
    downscale_to_width,
    image_to_array,
)

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encoded(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a size but carries no pixels: what a decompression bomb looks like."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def photo_jpeg() -> bytes:
    noise = np.random.default_rng(4).integers(0, 256, size=(200, 300, 3), dtype=np.uint8)
    return encoded(Image.fromarray(noise), "JPEG", quality=90)


def truncated_jpeg() -> bytes:
    data = photo_jpeg()
    return data[: len(data) // 2]


def corrupt_png() -> bytes:
    data = bytearray(encoded(Image.new("RGB", (64, 64), RED), "PNG"))
    data[data.index(b"IDAT") + 12] ^= 0xFF  # damage the compressed pixels, not the header
    return bytes(data)


def html_error_page() -> bytes:
    return b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>"


def svg_source() -> bytes:
    return b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"/>'


def icon_file() -> bytes:
    return encoded(Image.new("RGB", (16, 16), RED), "ICO")


def wide_strip() -> bytes:
    return encoded(Image.new("L", (25_000, 2)), "PNG")


BAD_INPUTS: dict[str, tuple[Callable[[], bytes], BadImageReason]] = {
    "zero bytes": (lambda: b"", BadImageReason.EMPTY),
    "html error page": (html_error_page, BadImageReason.NOT_AN_IMAGE),
    "json error body": (lambda: b'{"error": "rate limited"}\n', BadImageReason.NOT_AN_IMAGE),
    "svg source": (svg_source, BadImageReason.UNSUPPORTED_FORMAT),
    "windows icon": (icon_file, BadImageReason.UNSUPPORTED_FORMAT),
    "pdf": (lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", BadImageReason.UNSUPPORTED_FORMAT),
    "truncated jpeg": (truncated_jpeg, BadImageReason.TRUNCATED),
    "jpeg cut inside its header": (lambda: photo_jpeg()[:100], BadImageReason.TRUNCATED),
    "corrupt png": (corrupt_png, BadImageReason.CORRUPT),
    "bomb beyond pillow's hard limit": (
        lambda: png_header_only(100_000, 100_000),
        BadImageReason.DECOMPRESSION_BOMB,
    ),
    "bomb in pillow's warning range": (
        lambda: png_header_only(10_000, 10_000),
        BadImageReason.DECOMPRESSION_BOMB,
    ),
    "bomb over our own limit": (
        lambda: png_header_only(8_000, 8_000),
        BadImageReason.DECOMPRESSION_BOMB,
    ),
    "huge dimensions": (wide_strip, BadImageReason.HUGE_DIMENSIONS),
}


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_raises_bad_image_error_with_its_reason(name: str) -> None:
    make, reason = BAD_INPUTS[name]
    with pytest.raises(BadImageError) as caught:
        decode_image(make())
    assert caught.value.reason_code == reason
    assert caught.value.message


def test_every_reason_is_distinct_and_reached_by_some_bad_input() -> None:
    reached = {reason for _, reason in BAD_INPUTS.values()}
    assert reached == set(BadImageReason)
    assert len({str(reason) for reason in BadImageReason}) == len(BadImageReason)


def test_reason_code_is_a_plain_string_for_storage() -> None:
    with pytest.raises(BadImageError) as caught:
        decode_image(b"")
    assert caught.value.reason_code == "empty"
    assert isinstance(caught.value.reason_code, str)


def test_bomb_warning_becomes_an_error_without_changing_the_global_limit() -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(BadImageError):
            decode_image(png_header_only(10_000, 10_000))
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]


def test_pixel_limit_is_a_parameter() -> None:
    data = encoded(Image.new("RGB", (20, 20), RED), "PNG")
    assert decode_image(data).size == (20, 20)
    with pytest.raises(BadImageError) as caught:
        decode_image(data, max_pixels=399)
    assert caught.value.reason_code == BadImageReason.DECOMPRESSION_BOMB


def test_plain_jpeg_decodes_to_rgb() -> None:
    image = decode_image(photo_jpeg())
    assert (image.mode, image.size) == ("RGB", (300, 200))


def test_exif_orientation_is_applied() -> None:
    # Stored landscape, red on the left; orientation 6 means "turn 90° clockwise to view",
    # so the viewer sees a portrait image with red on top.
    stored = Image.new("RGB", (40, 20), BLUE)
    stored.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = decode_image(encoded(stored, "JPEG", quality=95, exif=exif.tobytes()))
    assert image.size == (20, 40)
    assert _near(image.getpixel((10, 5)), RED)
    assert _near(image.getpixel((10, 35)), BLUE)


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    ramp = np.array([[0, 20_000, 40_000, 65_535]], dtype=np.uint16)
    source = Image.fromarray(ramp)
    data = encoded(source, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    pixels = image_to_array(decode_image(data))[0, :, 0]
    assert pixels.tolist() == [0, 78, 156, 255]


def test_cmyk_jpeg_becomes_rgb() -> None:
    cyan = Image.new("CMYK", (16, 16), (255, 0, 0, 0))
    image = decode_image(encoded(cyan, "JPEG", quality=95))
    assert image.mode == "RGB"
    assert _near(image.getpixel((8, 8)), (0, 255, 255))


def test_palette_transparency_is_composited_on_white() -> None:
    palette_image = Image.new("P", (10, 10), 0)
    palette_image.putpalette([0, 0, 0, *RED] + [0] * 762)
    palette_image.paste(1, (0, 0, 5, 10))
    image = decode_image(encoded(palette_image, "PNG", transparency=0))
    assert image.getpixel((2, 5)) == RED
    assert image.getpixel((8, 5)) == WHITE


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(mode: str) -> None:
    source = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    source.paste((0, 0, 0, 255), (0, 0, 5, 10))
    image = decode_image(encoded(source.convert(mode), "PNG"))
    assert image.getpixel((2, 5)) == (0, 0, 0)
    assert image.getpixel((8, 5)) == WHITE


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grey_and_bilevel_become_rgb(mode: str) -> None:
    source = Image.new("L", (10, 10), 0)
    source.paste(255, (5, 0, 10, 10))
    image = decode_image(encoded(source.convert(mode), "PNG"))
    assert (image.getpixel((2, 5)), image.getpixel((8, 5))) == ((0, 0, 0), WHITE)


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (30, 20), colour) for colour in (RED, BLUE, (0, 255, 0))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    image = decode_image(data)
    assert image.mode == "RGB"
    assert image.getpixel((15, 10)) == RED


def test_multi_page_tiff_gives_its_first_page() -> None:
    first, second = Image.new("RGB", (30, 20), RED), Image.new("RGB", (50, 50), BLUE)
    data = encoded(first, "TIFF", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    image = decode_image(data)
    assert image.size == (30, 20)
    assert image.getpixel((15, 10)) == RED


def test_image_to_array_is_contiguous_uint8_rgb() -> None:
    array = image_to_array(Image.new("L", (7, 5), 200))
    assert (array.dtype, array.shape) == (np.uint8, (5, 7, 3))
    assert array.flags.c_contiguous
    assert array[0, 0].tolist() == [200, 200, 200]


def test_downscale_keeps_the_aspect_ratio_and_never_enlarges() -> None:
    wide = Image.new("RGB", (1000, 600))
    assert downscale_to_width(wide, width=500).size == (500, 300)
    narrow = Image.new("RGB", (400, 600))
    assert downscale_to_width(narrow, width=500) is narrow


def _near(pixel: object, expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))
