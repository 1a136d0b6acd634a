"""The bytes behind the stand-in's files: read from disk or generated, probed, scaled.

A world file names each file's source (``path`` on disk, or ``generate``); everything Commons
would report about it — size, SHA1, MIME type, dimensions — is derived from those bytes, never
typed into the world, so a test that checks a SHA1 checks real data.
"""

from __future__ import annotations

import functools
import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from PIL import Image, ImageDraw

# $wgThumbnailSteps as WikiVisage uses them (DESIGN.md, "Thumbnails").
STANDARD_WIDTHS = (250, 330, 500, 960, 1280, 1920)

BITMAP_MIMES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff"})
# MediaWiki's MEDIATYPE_* for what iiprop=mediatype reports.
MEDIATYPE_BY_MIME = {
    "image/svg+xml": "DRAWING",
    "application/pdf": "OFFICE",
    "image/vnd.djvu": "OFFICE",
    "application/ogg": "AUDIO",
    "audio/ogg": "AUDIO",
    "audio/mpeg": "AUDIO",
    "audio/wav": "AUDIO",
    "video/webm": "VIDEO",
    "video/ogg": "VIDEO",
}
MIME_BY_EXTENSION = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "djvu": "image/vnd.djvu",
    "ogg": "application/ogg",
    "oga": "audio/ogg",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "webm": "video/webm",
    "ogv": "video/ogg",
}
_PILLOW_SAVE_FORMAT = {
    "JPEG": "JPEG",
    "PNG": "PNG",
    "GIF": "GIF",
    "WEBP": "WEBP",
    "TIFF": "TIFF",
}


class MediaError(ValueError):
    """A world file names a source that cannot be read or generated."""


@dataclass(frozen=True)
class MediaFacts:
    """What Commons stores about an upload, derived from its bytes."""

    size: int
    sha1: str
    mime: str
    width: int
    height: int

    @property
    def is_bitmap(self) -> bool:
        return self.mime in BITMAP_MIMES

    @property
    def is_audio(self) -> bool:
        return self.mediatype == "AUDIO"

    @property
    def mediatype(self) -> str:
        return "BITMAP" if self.is_bitmap else MEDIATYPE_BY_MIME.get(self.mime, "UNKNOWN")


@dataclass(frozen=True)
class PathSource:
    """A file on disk, read when first needed."""

    path: Path

    def read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError as error:
            raise MediaError(f"cannot read {self.path}: {error}") from error


@dataclass(frozen=True)
class GeneratedSource:
    """Bytes made on demand: a patterned bitmap, a conversion of a file, or a non-bitmap.

    ``kind`` is a Pillow format (JPEG, PNG, GIF, WEBP, TIFF) or one of SVG, PDF, OGG, WEBM,
    DJVU and BROKEN (JPEG magic then garbage: Commons has it, nothing can decode it).
    """

    kind: str
    width: int = 64
    height: int = 48
    seed: int = 0
    convert_from: Path | None = None

    def read(self) -> bytes:
        return _generate(self)


ByteSource = PathSource | GeneratedSource


def source_from_spec(spec: dict[str, object], base_dir: Path) -> ByteSource:
    """The source a world file's entry names: ``{"path": ...}`` or ``{"generate": {...}}``."""
    if "path" in spec:
        return PathSource(base_dir / str(spec["path"]))
    generate = spec.get("generate")
    if not isinstance(generate, dict):
        raise MediaError("a file needs either 'path' or 'generate'")
    convert = generate.get("from")
    return GeneratedSource(
        kind=str(generate.get("format", "JPEG")).upper(),
        width=int(generate.get("width", 64)),
        height=int(generate.get("height", 48)),
        seed=int(generate.get("seed", 0)),
        convert_from=base_dir / str(convert) if convert else None,
    )


def probe(data: bytes, *, name: str) -> MediaFacts:
    """Size, SHA1, MIME type and dimensions of ``data`` uploaded as ``name``.

    Dimensions come from the header, as MediaWiki's own metadata does; a file whose body is
    corrupt still reports them.
    """
    size, sha1 = len(data), hashlib.sha1(data).hexdigest()
    header = _bitmap_header(data)
    if header is not None:
        mime, width, height = header
        return MediaFacts(size=size, sha1=sha1, mime=mime, width=width, height=height)
    width, height = _non_bitmap_size(data)
    return MediaFacts(size=size, sha1=sha1, mime=mime_for_name(name), width=width, height=height)


def _bitmap_header(data: bytes) -> tuple[str, int, int] | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            mime = Image.MIME.get(image.format or "", "")
            width, height = image.size
    except Exception:  # any decoder failure, even a bomb, means "no header"
        return None
    return (mime, width, height) if mime in BITMAP_MIMES else None


@functools.lru_cache(maxsize=4096)
def probe_path(path: Path, mtime_ns: int, name: str) -> MediaFacts:
    """``probe`` of a file on disk, cached across worlds (every test builds a new one)."""
    del mtime_ns  # part of the cache key only: an edited file is probed again
    return probe(PathSource(path).read(), name=name)


def mime_for_name(name: str) -> str:
    extension = name.rpartition(".")[2].lower()
    return MIME_BY_EXTENSION.get(extension, "application/octet-stream")


def can_scale(data: bytes) -> bool:
    """Whether Pillow can decode ``data`` fully (a truncated JPEG fails only at ``load``)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # truncated, garbage, a decompression bomb: all "cannot"
        return False


def render_thumbnail(data: bytes, *, width: int, mime: str) -> bytes:
    """``data`` scaled to ``width`` px wide, in the format Commons serves that thumbnail in."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        height = thumb_height(image.width, image.height, width)
        scaled = image.resize((width, height), Image.Resampling.LANCZOS)
    target = THUMB_FORMAT.get(mime, "JPEG")
    if target == "JPEG" and scaled.mode not in ("RGB", "L"):
        scaled = scaled.convert("RGB")
    out = io.BytesIO()
    scaled.save(out, format=target, **({"quality": 85} if target == "JPEG" else {}))
    return out.getvalue()


# Thumbnail format by original MIME type: TIFFs come back as JPEG ("lossy-page1-"), the rest
# keep their format, as on upload.wikimedia.org.
THUMB_FORMAT = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
    "image/tiff": "JPEG",
}


def thumb_height(width: int, height: int, thumb_width: int) -> int:
    """MediaWiki's File::scaleHeight: rounded, never 0."""
    if width <= 0:
        return 0
    return max(1, round(height * thumb_width / width))


def thumb_file_name(dbkey: str, mime: str, width: int) -> str:
    """The last path segment of a thumbnail (``500px-Name.jpg``), per file type."""
    if mime == "image/tiff":
        return f"lossy-page1-{width}px-{dbkey}.jpg"
    if mime == "image/svg+xml":
        return f"{width}px-{dbkey}.png"
    if mime in ("application/pdf", "image/vnd.djvu"):
        return f"page1-{width}px-{dbkey}.jpg"
    if mime.startswith(("video/", "application/ogg")):
        return f"{width}px--{dbkey}.jpg"
    return f"{width}px-{dbkey}"


def hash_path(dbkey: str) -> str:
    """``e/ed``: $wgHashedUploadDirectory's two levels, from the MD5 of the DB key."""
    digest = hashlib.md5(dbkey.encode("utf-8")).hexdigest()
    return f"{digest[0]}/{digest[:2]}"


def quote_segment(dbkey: str) -> str:
    """Percent-encoding of upload URLs (rawurlencode: only unreserved characters stay)."""
    return quote(dbkey, safe="")


def quote_title(title: str) -> str:
    """wfUrlencode of a page title in a /wiki/ URL (keeps ``;@$!*(),/~:``)."""
    return quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


# --- generated bytes ----------------------------------------------------------------------


def _generate(source: GeneratedSource) -> bytes:
    kind = source.kind
    if kind in _PILLOW_SAVE_FORMAT:
        return _bitmap(source)
    makers = {
        "SVG": _svg,
        "PDF": _pdf,
        "OGG": _ogg,
        "WEBM": _webm,
        "DJVU": _djvu,
        "BROKEN": _broken,
    }
    if kind not in makers:
        raise MediaError(f"unknown generated format {kind!r}")
    return makers[kind](source)


def _bitmap(source: GeneratedSource) -> bytes:
    if source.convert_from is not None:
        with Image.open(io.BytesIO(PathSource(source.convert_from).read())) as original:
            image = original.convert("RGB")
    else:
        image = _pattern(source.width, source.height, source.seed)
    out = io.BytesIO()
    image.save(out, format=_PILLOW_SAVE_FORMAT[source.kind])
    return out.getvalue()


def _pattern(width: int, height: int, seed: int) -> Image.Image:
    """A small picture with no face in it, distinct per seed (so every SHA1 differs)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), _colour(rng))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(4, width), y0 + rng.randrange(4, height)
        draw.rectangle((x0, y0, x1, y1), fill=_colour(rng))
    return image


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)


def _svg(source: GeneratedSource) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{source.width}" '
        f'height="{source.height}"><rect width="100%" height="100%" fill="#36c"/>'
        f'<circle cx="50%" cy="50%" r="{min(source.width, source.height) // 3}" '
        f'fill="#fc3"/><!-- seed {source.seed} --></svg>\n'
    ).encode()


def _pdf(source: GeneratedSource) -> bytes:
    # The smallest well-formed one-page PDF; the MediaBox carries the page size in points.
    body = (
        "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        "2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        f"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 {source.width} {source.height}]>>endobj\n"
        f"trailer<</Root 1 0 R>>\n% seed {source.seed}\n%%EOF\n"
    )
    return body.encode()


def _ogg(source: GeneratedSource) -> bytes:
    return b"OggS\x00\x02" + bytes(random.Random(source.seed).randbytes(256))


def _webm(source: GeneratedSource) -> bytes:
    return b"\x1aE\xdf\xa3" + bytes(random.Random(source.seed).randbytes(256))


def _djvu(source: GeneratedSource) -> bytes:
    return b"AT&TFORM" + bytes(random.Random(source.seed).randbytes(128))


def _broken(source: GeneratedSource) -> bytes:
    # A JPEG start-of-image marker followed by noise: what a truncated upload looks like.
    return b"\xff\xd8\xff\xe0" + bytes(random.Random(source.seed).randbytes(2048))


def _non_bitmap_size(data: bytes) -> tuple[int, int]:
    """Width and height Commons reports for SVGs and PDFs (0x0 for audio and the unknown)."""
    text = data[:4096].decode("latin-1")
    if "<svg" in text:
        return _attribute_int(text, "width"), _attribute_int(text, "height")
    if text.startswith("%PDF") and "/MediaBox[" in text:
        box = text.split("/MediaBox[", 1)[1].split("]", 1)[0].split()
        return int(float(box[2])), int(float(box[3]))
    return 0, 0


def _attribute_int(text: str, name: str) -> int:
    marker = f'{name}="'
    if marker not in text:
        return 0
    value = text.split(marker, 1)[1].split('"', 1)[0]
    digits = "".join(ch for ch in value if ch.isdigit() or ch == ".")
    return int(float(digits)) if digits else 0
