"""Paged listings of files a project may be scoped to: a search in the File namespace
(``list=search``, paged by ``sroffset``) and a user's uploads (``list=allimages&aiuser=``,
paged by ``aicontinue``), one :class:`ListedFiles` per answer, resumable between them; and
the upload log of a user (``list=logevents&letype=upload``).

Each answer's bitmap files get their metadata (``prop=imageinfo``) at once, so a caller
saves a batch and its continuation together, as the category crawl does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from typing import Any

from commons.client import ApiClient, ApiResponse, Params
from commons.files import (
    fetch_file_infos,
    fetch_titled_file_infos,
    file_kind,
    parse_timestamp,
)
from commons.search import HITS_PER_REQUEST, parse_hits
from commons.types import FILE_NAMESPACE, FileInfo, ListedFiles, UploadEvent

# CirrusSearch refuses a longer query ($wgCirrusSearchMaxFullTextQueryLength).
MAX_SEARCH_CHARS = 300
UPLOADS_PER_REQUEST = 500  # ailimit's ceiling without apihighlimits


def search_params(query: str, *, limit: int = HITS_PER_REQUEST) -> Params:
    return {
        "action": "query",
        "list": "search",
        "srsearch": query,
        "srnamespace": FILE_NAMESPACE,
        "srlimit": limit,
        # Ids and titles only: no snippets, sizes nor word counts to compute.
        "srprop": "",
    }


def search_listing(
    client: ApiClient, *, query: str, start: Mapping[str, str] | None = None, width: int = 960
) -> Iterator[ListedFiles]:
    """The files a CirrusSearch query finds in the File namespace, answer by answer from
    ``start`` (a stored continuation) or the first hit."""
    for response in client.iter_continued(search_params(query), start=start):
        hits = parse_hits(response)
        kinds = Counter(file_kind(hit.title) for hit in hits)
        bitmaps = [hit.pageid for hit in hits if file_kind(hit.title) == "bitmap"]
        infos = fetch_file_infos(client, pageids=bitmaps, width=width).files if bitmaps else ()
        yield _listed(infos, kinds, response)


def search_total(client: ApiClient, *, query: str) -> int:
    """How many files the query finds, as the search index counts them (``totalhits``)."""
    response = client.get({**search_params(query, limit=1), "srinfo": "totalhits"})
    return int((response.get("query") or {}).get("searchinfo", {}).get("totalhits") or 0)


def uploads_params(user: str, *, limit: int = UPLOADS_PER_REQUEST) -> Params:
    return {
        "action": "query",
        "list": "allimages",
        "aiuser": user,
        # By time, oldest first: an upload made while the listing runs comes after the
        # stored continuation, never before it.
        "aisort": "timestamp",
        "aidir": "newer",
        "aiprop": "timestamp|user",
        "ailimit": limit,
    }


def uploads_listing(
    client: ApiClient, *, user: str, start: Mapping[str, str] | None = None, width: int = 960
) -> Iterator[ListedFiles]:
    """The files whose current version ``user`` uploaded, oldest first, answer by answer
    from ``start`` (a stored continuation) or the first upload."""
    for response in client.iter_continued(uploads_params(user), start=start):
        titles = uploaded_titles(response)
        kinds = Counter(file_kind(title) for title in titles)
        bitmaps = [title for title in titles if file_kind(title) == "bitmap"]
        infos = fetch_titled_file_infos(client, titles=bitmaps, width=width) if bitmaps else ()
        yield _listed(infos, kinds, response)


def user_has_uploads(client: ApiClient, *, user: str) -> bool:
    """Whether a file's current version is ``user``'s (one row asked for)."""
    response = client.get(uploads_params(user, limit=1))
    return bool(uploaded_titles(response))


def uploaded_titles(response: ApiResponse) -> list[str]:
    rows = (response.get("query") or {}).get("allimages") or []
    return [str(row["title"]) for row in rows if row.get("title")]


def _listed(infos: Sequence[FileInfo], kinds: Counter[str], response: ApiResponse) -> ListedFiles:
    """One answer's batch: its bitmap files, the other kinds counted (a bitmap title whose
    file is no bitmap counts as ``other``), and where the next answer starts."""
    kept = tuple(info for info in infos if info.is_bitmap)
    skipped = {kind: n for kind, n in kinds.items() if kind != "bitmap"}
    if len(kept) < kinds["bitmap"]:
        skipped["other"] = skipped.get("other", 0) + kinds["bitmap"] - len(kept)
    continuation: dict[str, Any] | None = response.get("continue")
    return ListedFiles(
        files=kept,
        skipped=skipped,
        continuation={k: str(v) for k, v in continuation.items()} if continuation else None,
    )


def upload_log(client: ApiClient, *, user: str, limit: int | None = None) -> Iterator[UploadEvent]:
    """The user's uploads as the upload log has them, newest first (``lecontinue``): new
    files and new versions, those deleted or re-uploaded by others since included."""
    params: Params = {
        "action": "query",
        "list": "logevents",
        "letype": "upload",
        "leuser": user,
        "leprop": "ids|title|type|user|timestamp|details",
        "lelimit": min(limit or UPLOADS_PER_REQUEST, UPLOADS_PER_REQUEST),
    }
    events = (
        _upload_event(row)
        for response in client.iter_continued(params)
        for row in (response.get("query") or {}).get("logevents") or []
    )
    yield from islice(events, limit)


def _upload_event(row: Mapping[str, Any]) -> UploadEvent:
    details = row.get("params") or {}
    return UploadEvent(
        logid=int(row.get("logid") or 0),
        title=str(row.get("title", "")),
        pageid=int(row.get("pageid") or 0),
        action=str(row.get("action", "")),
        user=str(row.get("user", "")),
        timestamp=parse_timestamp(str(row["timestamp"])),
        sha1=str(details.get("img_sha1", "")),
    )
