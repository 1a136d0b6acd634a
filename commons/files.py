"""Image metadata (``prop=imageinfo``) in batches, and thumbnail downloads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from commons.client import ApiClient, ApiResponse, Params
from commons.types import FileInfo, FileInfoBatch

# $wgThumbnailSteps of Wikimedia production; other widths render at a tenth of the rate
# (renderfile-nonstandard) and are being phased out (T414805).
STANDARD_WIDTHS = (250, 330, 500, 960, 1280, 1920)
# ApiQueryImageInfo::TRANSFORM_LIMIT: past 50 thumbnail URLs per request the rest come
# back through iicontinue.
THUMBNAILS_PER_REQUEST = 50
DEFAULT_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

# Commons refuses an upload whose extension does not match its content ($wgVerifyExtensions),
# so the title tells the kind of a file before any metadata is fetched.
_KIND_BY_EXTENSION = {
    **dict.fromkeys(("jpg", "jpeg", "jpe", "png", "webp", "gif", "tif", "tiff"), "bitmap"),
    "svg": "svg",
    "pdf": "pdf",
    **dict.fromkeys(("djvu", "djv"), "djvu"),
    **dict.fromkeys(("ogg", "oga", "opus", "mp3", "wav", "flac", "mid", "midi"), "audio"),
    **dict.fromkeys(("ogv", "webm", "mpg", "mpeg"), "video"),
}


def file_kind(title: str) -> str:
    """``bitmap``, ``svg``, ``pdf``, ``djvu``, ``audio``, ``video`` or ``other``."""
    _, dot, extension = title.rpartition(".")
    return _KIND_BY_EXTENSION.get(extension.lower(), "other") if dot else "other"


def fetch_file_infos(
    client: ApiClient, *, pageids: Sequence[int], width: int = 960
) -> FileInfoBatch:
    """Metadata and a ``width``-px thumbnail URL for every page id, 50 per request."""
    if width not in STANDARD_WIDTHS:
        raise ValueError(f"{width} is not a standard thumbnail width {STANDARD_WIDTHS}")
    found: list[FileInfo] = []
    missing: list[int] = []
    for start in range(0, len(pageids), THUMBNAILS_PER_REQUEST):
        chunk = pageids[start : start + THUMBNAILS_PER_REQUEST]
        batch = _fetch_chunk(client, chunk, width)
        found.extend(batch.files)
        missing.extend(batch.missing_pageids)
    return FileInfoBatch(files=tuple(found), missing_pageids=tuple(missing))


def download_thumbnail(
    client: ApiClient, *, info: FileInfo, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
) -> bytes:
    """The bytes of the thumbnail ``info`` points at (``thumb_url``)."""
    return client.download(info.thumb_url, max_bytes=max_bytes)


def _fetch_chunk(client: ApiClient, pageids: Sequence[int], width: int) -> FileInfoBatch:
    params: Params = {
        "action": "query",
        "prop": "imageinfo",
        "pageids": "|".join(str(pageid) for pageid in pageids),
        "iiprop": "url|size|mime|sha1|timestamp|user",
        "iiurlwidth": width,
    }
    pages = merge_pages(client.iter_continued(params))
    return parse_file_pages(pages)


def merge_pages(responses: Iterable[ApiResponse]) -> list[dict[str, Any]]:
    """The pages of a continued ``prop=`` query, each page's ``imageinfo`` gathered."""
    merged: dict[str, dict[str, Any]] = {}
    for response in responses:
        for page in query_pages(response):
            key = str(page.get("pageid") or page.get("title"))
            known = merged.setdefault(key, dict(page))
            if page.get("imageinfo") and not known.get("imageinfo"):
                known["imageinfo"] = page["imageinfo"]
    return list(merged.values())


def query_pages(response: ApiResponse) -> Iterator[dict[str, Any]]:
    """``query.pages``: an array in formatversion 2, an object keyed by page id in 1."""
    pages = response.get("query", {}).get("pages", [])
    yield from pages.values() if isinstance(pages, dict) else pages


def parse_file_pages(pages: Iterable[dict[str, Any]]) -> FileInfoBatch:
    found: list[FileInfo] = []
    missing: list[int] = []
    for page in pages:
        info = parse_file_page(page)
        if info is not None:
            found.append(info)
        elif page.get("pageid"):
            missing.append(int(page["pageid"]))
    return FileInfoBatch(files=tuple(found), missing_pageids=tuple(missing))


def parse_file_page(page: dict[str, Any]) -> FileInfo | None:
    """One page of a ``prop=imageinfo`` answer; None for a missing page or file."""
    # fv2 flags are booleans, fv1 ones empty strings: presence is what counts.
    if "missing" in page or "invalid" in page or not page.get("imageinfo"):
        return None
    info = page["imageinfo"][0]
    return FileInfo(
        pageid=int(page["pageid"]),
        title=str(page["title"]),
        url=str(info["url"]),
        description_url=str(info.get("descriptionurl", "")),
        mime=str(info.get("mime", "")),
        size=int(info.get("size", 0)),
        width=int(info.get("width", 0)),
        height=int(info.get("height", 0)),
        sha1=str(info.get("sha1", "")),
        timestamp=parse_timestamp(info["timestamp"]) if "timestamp" in info else None,
        user=str(info.get("user", "")),
        thumb_url=str(info.get("thumburl", info["url"])),
        thumb_width=int(info.get("thumbwidth", info.get("width", 0))),
        thumb_height=int(info.get("thumbheight", info.get("height", 0))),
    )


def parse_timestamp(value: str) -> datetime:
    """MediaWiki's ISO 8601 ``2017-05-18T06:51:35Z`` as an aware datetime."""
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
