"""Safe decoding of downloaded image bytes into 8-bit RGB for face detection.

Every way a download can fail to be a usable picture ends in one domain error,
`BadImageError`, whose `reason_code` the pipeline records on the image row.
"""

from __future__ import annotations

import codecs
import io
import logging
import warnings
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

logger = logging.getLogger(__name__)

# A Commons thumbnail is at most 1920 px wide; 40 MP still allows a 1:10 strip at that width
# and keeps one decoded RGB frame near 120 MB, well inside a detect worker's memory budget.
DEFAULT_MAX_PIXELS = 40_000_000
# A side this long cannot be a thumbnail at a standard width; it is a freak file.
DEFAULT_MAX_SIDE = 20_000

# Only well-exercised decoders parse untrusted bytes. (Camera MPO files open through "JPEG".)
ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")

WHITE = (255, 255, 255)
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_HIGH_DEPTH_MODES = _SIXTEEN_BIT_MODES | {"I", "F"}
_SNIFF_BYTES = 1024


class BadImageReason(StrEnum):
    EMPTY = "empty"
    NOT_AN_IMAGE = "not_an_image"
    UNSUPPORTED_FORMAT = "unsupported_format"
    TRUNCATED = "truncated"
    CORRUPT = "corrupt"
    DECOMPRESSION_BOMB = "decompression_bomb"
    HUGE_DIMENSIONS = "huge_dimensions"


class BadImageError(Exception):
    """The bytes are not a picture we can analyse; permanent, never worth a retry."""

    def __init__(self, reason_code: BadImageReason, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message


def decode_image(
    data: bytes,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> Image.Image:
    """Decode image bytes into an upright 8-bit RGB image, or raise BadImageError.

    1. Refuse empty input.
    2. Open (header only) with the allowed decoders; classify what cannot be opened.
    3. Check the declared size before any pixel is decoded.
    4. Decode the first frame only (animated GIF, multi-page TIFF).
    5. Apply the EXIF orientation, then convert any mode to RGB.

    Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS) also applies, so the effective pixel
    limit is the smaller of the two.
    """
    if not data:
        raise BadImageError(BadImageReason.EMPTY, "zero bytes")
    # catch_warnings turns Pillow's bomb *warning* into an error for this call only, instead
    # of changing Image.MAX_IMAGE_PIXELS for the whole process.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            _check_size(image.size, max_pixels=max_pixels, max_side=max_side)
            image.load()
        except UnidentifiedImageError as error:
            raise _unidentified(data) from error
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise BadImageError(BadImageReason.DECOMPRESSION_BOMB, str(error)) from error
        except (OSError, SyntaxError, ValueError, IndexError, EOFError) as error:
            raise _undecodable(error) from error
    return to_rgb(_upright(image))


def image_to_array(image: Image.Image) -> np.ndarray:
    """An RGB image as the C-contiguous (height, width, 3) uint8 array dlib expects."""
    if image.mode != "RGB":
        image = to_rgb(image)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))


def downscale_to_width(image: Image.Image, *, width: int) -> Image.Image:
    """Shrink to `width` keeping the aspect ratio, as a Commons thumbnail would; never enlarge."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode as 8-bit RGB; transparent areas become white, not black."""
    if image.mode in _HIGH_DEPTH_MODES:
        image = _high_depth_to_grey(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _flatten_on_white(image.convert("RGBA"))
    if image.mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise BadImageError(BadImageReason.UNSUPPORTED_FORMAT, str(error)) from error


def _check_size(size: tuple[int, int], *, max_pixels: int, max_side: int) -> None:
    width, height = size
    if max(width, height) > max_side:
        raise BadImageError(
            BadImageReason.HUGE_DIMENSIONS, f"{width}x{height} exceeds {max_side} px a side"
        )
    if width * height > max_pixels:
        raise BadImageError(
            BadImageReason.DECOMPRESSION_BOMB, f"{width}x{height} exceeds {max_pixels} pixels"
        )


def _unidentified(data: bytes) -> BadImageError:
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] == b"<" and b"<svg" in head.lower():
        return BadImageError(BadImageReason.UNSUPPORTED_FORMAT, "SVG source, not a raster image")
    if head[:1] == b"<" or _looks_like_text(head):
        snippet = head[:60].decode("utf-8", errors="replace")
        return BadImageError(BadImageReason.NOT_AN_IMAGE, f"text instead of an image: {snippet!r}")
    allowed = ", ".join(ALLOWED_FORMATS)
    return BadImageError(BadImageReason.UNSUPPORTED_FORMAT, f"not one of {allowed}")


def _looks_like_text(head: bytes) -> bool:
    # The incremental decoder tolerates a multi-byte character cut off at the sniff limit.
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return all(char.isprintable() or char in "\t\r\n" for char in text)


def _undecodable(error: Exception) -> BadImageError:
    # Pillow has no truncation exception type; its messages ("image file is truncated",
    # "Truncated File Read") and EOFError are the only signal.
    if isinstance(error, EOFError) or "truncated" in str(error).lower():
        return BadImageError(BadImageReason.TRUNCATED, str(error) or "unexpected end of file")
    return BadImageError(BadImageReason.CORRUPT, str(error) or type(error).__name__)


def _upright(image: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError) as error:
        # Broken EXIF is common in camera files whose pixels are fine; a sideways face is
        # still better than losing the photo.
        logger.info("ignoring unreadable EXIF orientation: %s", error)
        return image


def _high_depth_to_grey(image: Image.Image) -> Image.Image:
    # Pillow's own conversion clips 16-bit values at 255 (a white image); scale instead.
    values = np.asarray(image, dtype=np.float64)
    if image.mode in _SIXTEEN_BIT_MODES:
        peak = 65535.0
    else:
        peak = max(float(values.max(initial=0.0)), 255.0)
    scaled = np.clip(values * (255.0 / peak), 0, 255).round().astype(np.uint8)
    return Image.fromarray(scaled)


def _flatten_on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGBA", rgba.size, (*WHITE, 255))
    background.alpha_composite(rgba)
    return background.convert("RGB")
