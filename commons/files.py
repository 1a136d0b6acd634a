"""Image metadata (``prop=imageinfo``) in batches, and thumbnail downloads."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from commons.client import ApiClient, ApiResponse, Params
from commons.identifiers import FileRef
from commons.types import CATEGORY_NAMESPACE, FILE_NAMESPACE, FileInfo, FileInfoBatch, FileState

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


def fetch_titled_file_infos(
    client: ApiClient, *, titles: Sequence[str], width: int = 960
) -> tuple[FileInfo, ...]:
    """Metadata and a ``width``-px thumbnail URL of the files named by ``titles`` (``File:…``
    as Commons gave them), 50 per request; a title naming no file is left out."""
    if width not in STANDARD_WIDTHS:
        raise ValueError(f"{width} is not a standard thumbnail width {STANDARD_WIDTHS}")
    found: list[FileInfo] = []
    for start in range(0, len(titles), THUMBNAILS_PER_REQUEST):
        chunk = "|".join(titles[start : start + THUMBNAILS_PER_REQUEST])
        pages = merge_pages(client.iter_continued(_imageinfo_params(width, titles=chunk)))
        found.extend(parse_file_pages(pages).files)
    return tuple(found)


def download_thumbnail(
    client: ApiClient, *, info: FileInfo, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
) -> bytes:
    """The bytes of the thumbnail ``info`` points at (``thumb_url``)."""
    return client.download(info.thumb_url, max_bytes=max_bytes)


def _fetch_chunk(client: ApiClient, pageids: Sequence[int], width: int) -> FileInfoBatch:
    params = _imageinfo_params(width, pageids="|".join(str(pageid) for pageid in pageids))
    pages = merge_pages(client.iter_continued(params))
    return parse_file_pages(pages)


def _imageinfo_params(width: int, **pages: str) -> Params:
    return {
        "action": "query",
        "prop": "imageinfo",
        **pages,
        "iiprop": "url|size|mime|sha1|timestamp|user",
        "iiurlwidth": width,
    }


# --- one file right before a write ---------------------------------------------------------

CATEGORIES_PER_REQUEST = 500  # cllimit's ceiling without apihighlimits


def fetch_file_state(client: ApiClient, *, pageid: int) -> FileState:
    """The file as it stands on Commons now: exists, SHA1, every category (``prop=categories``
    with ``prop=imageinfo``; a file in many categories continues through ``clcontinue``)."""
    params: Params = {
        "action": "query",
        "prop": "imageinfo|categories",
        "pageids": str(pageid),
        "iiprop": "sha1",
        "cllimit": CATEGORIES_PER_REQUEST,
    }
    categories: set[str] = set()
    pages = []
    for response in client.iter_continued(params):
        for page in query_pages(response):
            pages.append(page)
            categories.update(_category_names(page.get("categories") or []))
    found: dict[str, Any] | None = next((page for page in pages if page.get("imageinfo")), None)
    if found is None:
        return FileState(pageid=pageid, exists=False)
    return FileState(
        pageid=pageid,
        exists=True,
        title=str(found.get("title", "")),
        sha1=str(found["imageinfo"][0].get("sha1", "")),
        categories=frozenset(categories),
    )


def _category_names(rows: Iterable[dict[str, Any]]) -> set[str]:
    prefix = "Category:"
    titles = (str(row.get("title", "")) for row in rows if row.get("ns") == CATEGORY_NAMESPACE)
    return {title.removeprefix(prefix) for title in titles}


# --- a list of files given by title or page id ---------------------------------------------


class Lookup(StrEnum):
    """What Commons said of one line of a list of files."""

    FOUND = "found"  # a bitmap file: an image to look for faces in
    MISSING = "missing"  # no such page, or a file page without an upload
    NOT_FILE = "not_file"  # a page, but not in the File namespace
    NOT_IMAGE = "not_image"  # a file that is no bitmap (SVG, PDF, audio, video…)
    INVALID = "invalid"  # a title MediaWiki refuses


@dataclass(frozen=True)
class ResolvedFile:
    """One line of a list resolved: ``title`` is the page's title on Commons (after
    normalisation and redirects) when there is one, ``info`` set for files."""

    ref: FileRef
    lookup: Lookup
    title: str = ""
    pageid: int | None = None
    info: FileInfo | None = None


def resolve_files(
    client: ApiClient, *, refs: Sequence[FileRef], width: int = 960
) -> list[ResolvedFile]:
    """Each of ``refs`` as Commons knows it, in order, with metadata for the files.

    1. Titles and page ids are asked apart (a query takes one kind or the other), 50 per
       request: the API's limit for ``titles``/``pageids`` and for thumbnails.
    2. Titles follow ``normalized`` and ``redirects`` (a renamed file leaves a redirect)
       to the page the answer describes.
    3. Each page is classified (:class:`Lookup`); a bitmap file carries its FileInfo.
    """
    if width not in STANDARD_WIDTHS:
        raise ValueError(f"{width} is not a standard thumbnail width {STANDARD_WIDTHS}")
    outcomes: dict[FileRef, ResolvedFile] = {}
    titles = list(dict.fromkeys(ref for ref in refs if ref.title))
    pageids = list(dict.fromkeys(ref for ref in refs if ref.pageid is not None))
    for start in range(0, len(titles), THUMBNAILS_PER_REQUEST):
        chunk = titles[start : start + THUMBNAILS_PER_REQUEST]
        outcomes.update(_resolve_titles(client, chunk, width))
    for start in range(0, len(pageids), THUMBNAILS_PER_REQUEST):
        chunk = pageids[start : start + THUMBNAILS_PER_REQUEST]
        outcomes.update(_resolve_pageids(client, chunk, width))
    return [outcomes[ref] for ref in refs]


def _resolve_titles(
    client: ApiClient, refs: Sequence[FileRef], width: int
) -> dict[FileRef, ResolvedFile]:
    params = {
        **_imageinfo_params(width, titles="|".join(ref.title for ref in refs)),
        "redirects": 1,
    }
    responses = list(client.iter_continued(params))
    pages = {str(page.get("title")): page for page in merge_pages(responses)}
    renames = _renames(responses)
    found = {}
    for ref in refs:
        page = pages.get(_follow(ref.title, renames))
        found[ref] = _classify(ref, page)
    return found


def _resolve_pageids(
    client: ApiClient, refs: Sequence[FileRef], width: int
) -> dict[FileRef, ResolvedFile]:
    params = _imageinfo_params(width, pageids="|".join(str(ref.pageid) for ref in refs))
    pages = {
        int(page.get("pageid") or 0): page for page in merge_pages(client.iter_continued(params))
    }
    return {ref: _classify(ref, pages.get(ref.pageid or 0)) for ref in refs}


def _renames(responses: Iterable[ApiResponse]) -> dict[str, str]:
    """``from`` → ``to`` of every ``normalized`` and ``redirects`` entry of the answers."""
    renames: dict[str, str] = {}
    for response in responses:
        query = response.get("query") or {}
        for entry in [*query.get("normalized", []), *query.get("redirects", [])]:
            renames[str(entry.get("from"))] = str(entry.get("to"))
    return renames


def _follow(title: str, renames: dict[str, str]) -> str:
    for _hop in range(len(renames) + 1):  # a chain is short; a loop must still end
        if title not in renames:
            break
        title = renames[title]
    return title


def _classify(ref: FileRef, page: dict[str, Any] | None) -> ResolvedFile:
    if page is None or "missing" in page:
        return ResolvedFile(ref, Lookup.MISSING, title=ref.title)
    if "invalid" in page:
        return ResolvedFile(ref, Lookup.INVALID, title=ref.title)
    title, pageid = str(page.get("title", ref.title)), int(page["pageid"])
    if int(page.get("ns", FILE_NAMESPACE)) != FILE_NAMESPACE:
        return ResolvedFile(ref, Lookup.NOT_FILE, title=title, pageid=pageid)
    info = parse_file_page(page)
    if info is None:
        return ResolvedFile(ref, Lookup.MISSING, title=title, pageid=pageid)
    lookup = Lookup.FOUND if info.is_bitmap else Lookup.NOT_IMAGE
    return ResolvedFile(ref, lookup, title=title, pageid=pageid, info=info)


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
