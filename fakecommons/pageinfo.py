"""``prop=info`` (ApiQueryInfo) of the page set: content model, language, revision, length;
``inprop=protection`` (no page of the stand-in is protected) and ``inprop=url``.

A general-purpose client asks this of every page it opens (mwclient's ``Page`` sends
``prop=info&inprop=protection``). A file page's last revision is its MediaInfo's: the
structured data is a slot of the file page, so a statement written is a new page revision.
Other ``inprop`` values draw a warning, as the stand-in does for any module it does not serve.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from fakecommons.context import ApiContext
from fakecommons.media import quote_title
from fakecommons.world import CATEGORY_NS, FILE_NS, FilePage


class Page(Protocol):
    """What this module reads of a page of the set (query.PageRef)."""

    ns: int
    title: str
    pageid: int | None
    file: FilePage | None
    invalid: str | None


SERVED = ("protection", "url")
LANGUAGE = {"pagelanguage": "en", "pagelanguagehtmlcode": "en", "pagelanguagedir": "ltr"}
# Title::getRestrictionTypes: a page that exists can be edited and moved, a file re-uploaded;
# a missing one only created.
RESTRICTIONS = {FILE_NS: ["edit", "move", "upload"]}
# Category pages have no history in the world: one revision, long before any write.
CATEGORY_REVISION_BASE = 90_000_000
CATEGORY_TOUCHED = "2015-01-01T00:00:00Z"


def info(ctx: ApiContext, pages: Sequence[tuple[Page, dict[str, Any]]]) -> None:
    props = dict.fromkeys(ctx.params.multi("inprop"))
    for prop in props:
        if prop not in SERVED:
            ctx.warn("info", f'Unrecognized value for parameter "inprop": {prop}')
    ctx.params.accept("intestactions", "intestactionsdetail", "intestactionsautocreate")
    for ref, out in pages:
        if ref.invalid is not None or not ref.title:
            continue  # an invalid title, or a page id naming no page: nothing to say
        model = "wikibase-item" if ctx.site == "wikidata" and ref.ns == 0 else "wikitext"
        out.update(contentmodel=model, **LANGUAGE)
        if ref.pageid is not None:
            out.update(_revision(ctx, ref))
        if "protection" in props:
            out["protection"] = []
            exists = ref.pageid is not None
            types = RESTRICTIONS.get(ref.ns, ["edit", "move"]) if exists else ["create"]
            out["restrictiontypes"] = types
        if "url" in props:
            out.update(_urls(ctx, ref.title))


def _revision(ctx: ApiContext, ref: Page) -> dict[str, Any]:
    """touched, lastrevid and length of a page that exists."""
    length = 400 + 7 * len(ref.title)  # as list=search's "size" of the same page
    state = ctx.world.mediainfo(ref.file.mid) if ref.file is not None else None
    if state is not None:
        return {"touched": state.modified, "lastrevid": state.lastrevid, "length": length}
    if ref.ns == CATEGORY_NS and ref.pageid is not None:
        revision = CATEGORY_REVISION_BASE + ref.pageid % 10_000_000
        return {"touched": CATEGORY_TOUCHED, "lastrevid": revision, "length": length}
    item = ctx.world.item(ref.title) if ctx.site == "wikidata" else None
    if item is not None:
        return {"touched": "2020-01-01T00:00:00Z", "lastrevid": item.lastrevid, "length": length}
    return {"length": length}


def _urls(ctx: ApiContext, title: str) -> dict[str, str]:
    prefix = "/commons" if ctx.site == "commons" else "/wikidata"
    page = quote_title(title)
    full = f"{ctx.urls.base}{prefix}/wiki/{page}"
    edit = f"{ctx.urls.base}{prefix}/w/index.php?title={page}&action=edit"
    return {"fullurl": full, "editurl": edit, "canonicalurl": full}
