"""List modules over the file table and the log: ``list=allimages`` (ApiQueryAllImages) and
``list=logevents`` (ApiQueryLogEvents, the upload log), with what the list modules share:
``*limit`` and namespace parameters, MediaWiki timestamps, user names, a file's imageinfo.

allimages lists current versions: ``aiuser`` is the uploader of a file's current version
(``img_actor``), and needs ``aisort=timestamp``; ``aifrom``/``aito``/``aiprefix`` need
``aisort=name``. Rows are ordered by (timestamp, name) or by name, ``aidir`` ``newer``/
``ascending`` or ``older``/``descending``; ``aicontinue`` is ``<timestamp>|<name>`` (or the
name) of the next row, as the real module sets it. The log is ordered by (timestamp, log id),
newest first by default; ``lecontinue`` is ``<timestamp>|<logid>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fakecommons.context import ApiContext
from fakecommons.protocol import ApiError
from fakecommons.world import FILE_NS, FilePage, LogEvent, normal_name, title_hash

MAX_LIMIT = 500
UPLOAD_COMMENT = "User created page with UploadWizard"
LOG_TYPES = (
    "block",
    "create",
    "delete",
    "import",
    "merge",
    "move",
    "newusers",
    "patrol",
    "protect",
    "rights",
    "tag",
    "upload",
)
# $wgInvalidUsernameCharacters and the characters no title may hold.
_BAD_USER = re.compile(r"[@:>=#<\[\]|{}/\x00-\x1f\x7f]")
ListResult = tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]
T = TypeVar("T")


def bad_continue() -> ApiError:
    return ApiError(
        "badcontinue",
        "Invalid continue param. You should pass the original value returned by the "
        "previous query.",
    )


def limit(ctx: ApiContext, name: str, default: int, module: str) -> int:
    """A ``*limit`` parameter: ``max`` is 500; beyond is clamped with MediaWiki's warning."""
    if ctx.params.get(name) == "max":
        return MAX_LIMIT
    value = ctx.params.integer(name, default)
    if value > MAX_LIMIT:
        ctx.warn(module, f'"{name}" may not be over {MAX_LIMIT} (set to {MAX_LIMIT}) for users.')
        return MAX_LIMIT
    if value < 1:
        ctx.warn(module, f'"{name}" may not be less than 1 (set to 1).')
        return 1
    return value


def namespaces(ctx: ApiContext, name: str) -> set[int]:
    values = ctx.params.multi(name)
    for value in values:
        if not value.lstrip("-").isdigit():
            raise ApiError("badvalue", f'Unrecognized value for parameter "{name}": {value}.')
    return {int(value) for value in values}


def mw_timestamp(iso: str) -> str:
    """``2015-01-01T00:00:00Z`` as the database keeps it: ``20150101000000``."""
    return iso.replace("-", "").replace(":", "").replace("T", "").replace("Z", "")


def _timestamp(ctx: ApiContext, name: str) -> str | None:
    """A timestamp parameter (ISO 8601 or 14 digits), in the 14-digit form."""
    raw = ctx.params.get(name)
    if raw is None:
        return None
    digits = mw_timestamp(raw.strip())
    if not re.fullmatch(r"\d{14}", digits):
        raise ApiError("badtimestamp", f'Invalid value "{raw}" for timestamp parameter "{name}".')
    return digits


def user_name(ctx: ApiContext, name: str) -> str | None:
    """A ``user`` parameter, normalised as MediaWiki's UserDef does (underscores, first
    letter); ``baduser`` for a name no account can have."""
    raw = ctx.params.get(name)
    if raw is None:
        return None
    normal = normal_name(raw)
    if not normal or _BAD_USER.search(normal) or len(normal.encode()) > 255:
        raise ApiError("baduser", f'Invalid value "{raw}" for user parameter "{name}".')
    return normal


def user_id(ctx: ApiContext, name: str) -> int:
    user = ctx.world.users.get(name)
    return user.id if user else 1000 + title_hash(name) % 1_000_000


def file_info(ctx: ApiContext, page: FilePage, props: set[str], width: int) -> dict[str, Any]:
    """One file's ``imageinfo`` object (also the body of an allimages row)."""
    facts = page.facts()
    info: dict[str, Any] = {}
    if "timestamp" in props:
        info["timestamp"] = page.timestamp
    if "user" in props:
        info["user"] = page.user
    if "userid" in props:
        info["userid"] = user_id(ctx, page.user)
    if props & {"size", "dimensions"}:
        info.update(size=facts.size, width=facts.width, height=facts.height)
    if "comment" in props:
        info["comment"] = UPLOAD_COMMENT
    if "canonicaltitle" in props:
        info["canonicaltitle"] = page.title
    if "url" in props:
        if width > 0:
            shown = ctx.urls.rendition(page, width)
            info.update(thumburl=shown.url, thumbwidth=shown.width, thumbheight=shown.height)
        info["url"] = ctx.urls.original(page)
        info["descriptionurl"] = ctx.urls.description(page.title)
        info["descriptionshorturl"] = ctx.urls.short_description(page.pageid)
    if "sha1" in props:
        info["sha1"] = facts.sha1
    if "metadata" in props:
        info["metadata"] = _metadata(facts.mime)
    if "mime" in props:
        info["mime"] = facts.mime
    if "mediatype" in props:
        info["mediatype"] = facts.mediatype
    return info


def _metadata(mime: str) -> list[dict[str, Any]] | None:
    """The file's metadata as MediaWiki stores it, without what the stand-in does not read
    (EXIF): a JPEG's holds the EXIF reader's version; no metadata at all is ``null``."""
    if mime == "image/jpeg":
        return [{"name": "MEDIAWIKI_EXIF_VERSION", "value": 2}]
    return None


def _must_use_with(name: str, other: str) -> ApiError:
    return ApiError("invalidparammix", f'"{name}" may only be used with {other}.')


# --- list=allimages ------------------------------------------------------------------------


def allimages(ctx: ApiContext, g: str) -> ListResult:
    """list=allimages (``g`` = "g" as a generator: gaiuser…)."""
    p = f"{g}ai"
    by_time = (ctx.params.get(f"{p}sort") or "name") == "timestamp"
    if ctx.params.get(f"{p}sort") not in (None, "name", "timestamp"):
        raise ApiError("badvalue", f'Unrecognized value for parameter "{p}sort".')
    descending = (ctx.params.get(f"{p}dir") or "ascending") in ("descending", "older")
    files = _files_by_time(ctx, p, not descending) if by_time else _files_by_name(ctx, p)
    keyed = sorted(((_ai_key(page, by_time), page) for page in files), reverse=descending)
    start = _ai_start(ctx.params.get(f"{p}continue"), by_time)
    if start is not None:
        keyed = [(k, page) for k, page in keyed if (k <= start if descending else k >= start)]
    count = limit(ctx, f"{p}limit", 10, f"{g}allimages")
    props = set(ctx.params.multi(f"{p}prop") or ["timestamp", "url"])
    ctx.params.accept(f"{p}filterbots", f"{p}minsize", f"{p}maxsize", f"{p}sha1")
    rows = [_ai_row(ctx, page, props) for _, page in keyed[:count]]
    next_values = {}
    if len(keyed) > count:
        key = keyed[count][0]
        next_values = {f"{p}continue": "|".join(key) if by_time else key[0]}
    return rows, next_values, {}


def _files_by_time(ctx: ApiContext, p: str, ascending: bool) -> list[FilePage]:
    for name in ("from", "to", "prefix"):
        if ctx.params.has(f"{p}{name}"):
            raise _must_use_with(f"{p}{name}", f"{p}sort=name")
    user = user_name(ctx, f"{p}user")
    start, end = _timestamp(ctx, f"{p}start"), _timestamp(ctx, f"{p}end")
    return [
        page
        for page in ctx.world.files.values()
        if (user is None or page.user == user)
        and _within(mw_timestamp(page.timestamp), start, end, ascending=ascending)
    ]


def _files_by_name(ctx: ApiContext, p: str) -> list[FilePage]:
    for name in ("user", "start", "end"):
        if ctx.params.has(f"{p}{name}"):
            raise _must_use_with(f"{p}{name}", f"{p}sort=timestamp")
    low, high = ctx.params.get(f"{p}from"), ctx.params.get(f"{p}to")
    prefix = ctx.params.get(f"{p}prefix")
    keys = [_dbkey(v) if v else None for v in (low, high, prefix)]
    return [
        page
        for page in ctx.world.files.values()
        if (keys[0] is None or page.dbkey >= keys[0])
        and (keys[1] is None or page.dbkey <= keys[1])
        and (keys[2] is None or page.dbkey.startswith(keys[2]))
    ]


def _dbkey(name: str) -> str:
    return normal_name(name).replace(" ", "_")


def _ai_key(page: FilePage, by_time: bool) -> tuple[str, ...]:
    return (mw_timestamp(page.timestamp), page.dbkey) if by_time else (page.dbkey,)


def _ai_start(token: str | None, by_time: bool) -> tuple[str, ...] | None:
    if token is None:
        return None
    if not by_time:
        return (token,)
    stamp, bar, name = token.partition("|")
    if not bar or not re.fullmatch(r"\d{14}", stamp):
        raise bad_continue()
    return (stamp, name)


def _ai_row(ctx: ApiContext, page: FilePage, props: set[str]) -> dict[str, Any]:
    row = file_info(ctx, page, props, -1)
    row["name"] = page.dbkey
    row.update(ns=FILE_NS, title=page.title)
    return row


# --- list=logevents ------------------------------------------------------------------------


def logevents(ctx: ApiContext, g: str) -> ListResult:
    """list=logevents: the upload log (the world logs nothing else)."""
    events = _log_filtered(ctx)
    newer = (ctx.params.get("ledir") or "older") == "newer"
    keyed = sorted(((mw_timestamp(e.page.timestamp), e.logid), e) for e in events)
    if not newer:
        keyed.reverse()
    token = ctx.params.get("lecontinue")
    if token is not None:
        start = _le_start(token)
        keyed = [(k, e) for k, e in keyed if (k >= start if newer else k <= start)]
    count = limit(ctx, "lelimit", 10, "logevents")
    props = set(ctx.params.multi("leprop") or _LE_DEFAULT)
    rows = [_log_row(ctx, event, props) for _, event in keyed[:count]]
    next_values = {}
    if len(keyed) > count:
        stamp, logid = keyed[count][0]
        next_values = {"lecontinue": f"{stamp}|{logid}"}
    return rows, next_values, {}


_LE_DEFAULT = ["ids", "title", "type", "user", "timestamp", "comment", "details"]


def _log_filtered(ctx: ApiContext) -> list[LogEvent]:
    kind = ctx.params.get("letype")
    if kind is not None and kind not in LOG_TYPES:
        raise ApiError("badvalue", f'Unrecognized value for parameter "letype": {kind}.')
    action = ctx.params.get("leaction")
    user = user_name(ctx, "leuser")
    title = ctx.params.get("letitle")
    wanted_title = f"File:{normal_name(title.partition(':')[2])}" if title else None
    start, end = _timestamp(ctx, "lestart"), _timestamp(ctx, "leend")
    newer = (ctx.params.get("ledir") or "older") == "newer"
    ctx.params.accept("lenamespace", "letag")
    return _matching(
        ctx.world.upload_log,
        lambda e: (
            (kind in (None, "upload"))
            and (action is None or action == f"upload/{e.action}")
            and (user is None or e.page.user == user)
            and (wanted_title is None or e.title == wanted_title)
            and _within(mw_timestamp(e.page.timestamp), start, end, ascending=newer)
        ),
    )


def _matching(events: Iterable[T], keep: Callable[[T], bool]) -> list[T]:
    return [event for event in events if keep(event)]


def _within(stamp: str, start: str | None, end: str | None, *, ascending: bool) -> bool:
    """Between ``start`` and ``end`` in the listing's direction (addTimestampWhereRange)."""
    if start is not None and (stamp < start if ascending else stamp > start):
        return False
    return end is None or (stamp <= end if ascending else stamp >= end)


def _le_start(token: str) -> tuple[str, int]:
    stamp, bar, logid = token.partition("|")
    if not bar or not re.fullmatch(r"\d{14}", stamp) or not logid.isdigit():
        raise bad_continue()
    return (stamp, int(logid))


def _log_row(ctx: ApiContext, event: LogEvent, props: set[str]) -> dict[str, Any]:
    page = event.page
    current = ctx.world.file(page.name)
    row: dict[str, Any] = {}
    if "ids" in props:
        row["logid"] = event.logid
    if "title" in props:
        row.update(ns=FILE_NS, title=event.title)
    if "ids" in props:
        # page_id joined now (0 once deleted); log_page as it was when logged.
        row.update(pageid=current.pageid if current else 0, logpage=page.pageid)
    if "details" in props:
        row["params"] = {"img_sha1": page.facts().sha1, "img_timestamp": page.timestamp}
    if "type" in props:
        row.update(type="upload", action=event.action)
    if "user" in props:
        row["user"] = page.user
    if "userid" in props:
        row["userid"] = user_id(ctx, page.user)
    if "timestamp" in props:
        row["timestamp"] = page.timestamp
    if "comment" in props:
        row["comment"] = UPLOAD_COMMENT
    return row
