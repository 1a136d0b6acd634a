"""``action=query``: categorymembers, search, imageinfo, categories, categoryinfo, info
(fakecommons/pageinfo.py), tokens, userinfo (userinfo.py), siteinfo (siteinfo.py), and
generators.

Continuation follows ApiContinuationManager (API:Continue): a list module that has more adds
its key and ``"continue": "-||"`` next to ``batchcomplete``; an incomplete prop module adds
its key and ``"continue": "||"`` (or the generator's keys) and withholds ``batchcomplete``; a
generator whose batch is complete adds ``gcmcontinue``/``gsroffset`` and
``"continue": "gcmcontinue||"``. imageinfo renders at most 50 thumbnails per request
(ApiQueryImageInfo::TRANSFORM_LIMIT) and continues the rest with ``iicontinue``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakecommons import cirrus, filelists, pageinfo, siteinfo, userinfo, wikibase
from fakecommons.context import ApiContext
from fakecommons.protocol import ApiError
from fakecommons.world import (
    CATEGORY_NS,
    FILE_NS,
    Category,
    FilePage,
    Item,
    Member,
    normal_name,
)

TRANSFORM_LIMIT = 50
MAX_LIMIT = 500
MAX_TITLES = 50
NAMESPACE_PREFIXES = {"file": FILE_NS, "image": FILE_NS, "category": CATEGORY_NS}
CANONICAL_PREFIX = {FILE_NS: "File:", CATEGORY_NS: "Category:", 0: ""}
_ILLEGAL_TITLE = re.compile(r"[#<>\[\]|{}]")
_TOKEN_TYPES = ("csrf", "login", "watch", "patrol", "rollback", "userrights", "createaccount")


@dataclass
class PageRef:
    """A page of the page set: found (``pageid``) or missing, with its output object."""

    ns: int
    title: str
    pageid: int | None = None
    file: FilePage | None = None
    index: int | None = None
    invalid: str | None = None

    def output(self, ctx: ApiContext) -> dict[str, Any]:
        if self.invalid is not None:
            return {"title": self.title, "invalidreason": self.invalid, "invalid": ctx.fmt.flag()}
        if self.pageid is None:
            return {"ns": self.ns, "title": self.title, "missing": ctx.fmt.flag()}
        page: dict[str, Any] = {"pageid": self.pageid, "ns": self.ns, "title": self.title}
        if self.index is not None:
            page["index"] = self.index
        return page


@dataclass
class Continuation:
    """The continuation each module leaves behind, assembled the way MediaWiki does."""

    lists: dict[str, dict[str, Any]] = field(default_factory=dict)
    finished_lists: list[str] = field(default_factory=list)
    prop: dict[str, Any] = field(default_factory=dict)
    generator_in: dict[str, str] = field(default_factory=dict)
    generator_next: dict[str, Any] = field(default_factory=dict)

    def render(self) -> tuple[dict[str, Any] | None, bool]:
        """(the ``continue`` object or None, whether the batch is complete)."""
        data: dict[str, Any] = {}
        for values in self.lists.values():
            data.update(values)
        if self.prop:
            data.update(self.generator_in)
            data.update(self.prop)
            keys, complete = "|".join(self.generator_in), False
        elif self.generator_next:
            data.update(self.generator_next)
            keys, complete = "|".join(self.generator_next), True
        else:
            keys, complete = "-", True
        if not data and keys == "-":
            return None, complete
        data["continue"] = f"{keys}||{'|'.join(self.finished_lists)}"
        return data, complete


def run(ctx: ApiContext) -> dict[str, Any]:
    """Every module of one ``action=query`` request; the whole answer."""
    query: dict[str, Any] = {}
    continuation = Continuation()
    skipped = _finished_modules(ctx)
    # A module named twice runs once (ParamValidator drops repeated values): mwclient adds
    # meta=userinfo to every query, also to one that asks for it.
    for name in dict.fromkeys(ctx.params.multi("list")):
        _run_list(ctx, name, query, continuation, skip=name in skipped)
    pages = _page_set(ctx, query, continuation)
    if pages is not None:
        _run_props(ctx, pages, continuation)
        if pages:
            query["pages"] = ctx.fmt.pages([page for _, page in pages])
    for name in dict.fromkeys(ctx.params.multi("meta")):
        _run_meta(ctx, name, query)
    return _assemble(ctx, query, continuation)


def _assemble(ctx: ApiContext, query: dict[str, Any], cont: Continuation) -> dict[str, Any]:
    data, complete = cont.render()
    result: dict[str, Any] = {}
    if complete:
        result["batchcomplete"] = ctx.fmt.flag()
    if data is not None:
        result["continue"] = data
    if query:
        result["query"] = query
    return result


def _finished_modules(ctx: ApiContext) -> set[str]:
    raw = ctx.params.get("continue")
    if not raw:
        return set()
    if "||" not in raw:
        raise ApiError(
            "badcontinue",
            "Invalid continue param. You should pass the original value returned by the "
            "previous query.",
        )
    return {name for name in raw.split("||", 1)[1].split("|") if name}


# --- list modules --------------------------------------------------------------------------


def _run_list(
    ctx: ApiContext, name: str, query: dict[str, Any], cont: Continuation, *, skip: bool
) -> None:
    runner = LIST_MODULES.get(name)
    if runner is None:
        ctx.warn("query", f'Unrecognized value for parameter "list": {name}')
        return
    if skip:
        cont.finished_lists.append(name)
        return
    rows, next_values, extra = runner(ctx, "")
    query.update(extra)  # searchinfo comes before search, as on Commons
    query[name] = rows
    if next_values:
        cont.lists[name] = next_values
    else:
        cont.finished_lists.append(name)


ListResult = tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]


_limit = filelists.limit


def categorymembers(ctx: ApiContext, g: str) -> ListResult:
    """list=categorymembers (``g`` = "g" when used as a generator: gcmtitle…)."""
    p = f"{g}cm"
    members = _category_rows(ctx, p)
    descending = _descending(ctx, f"{p}dir")
    if descending:
        members.reverse()
    limit = _limit(ctx, f"{p}limit", 10, f"{g}categorymembers")
    start = _cm_start(members, ctx.params.get(f"{p}continue"), descending=descending)
    chosen = members[start : start + limit]
    props = set(ctx.params.multi(f"{p}prop") or ["ids", "title"])
    rows = [_member_row(ctx, member, props) for member in chosen]
    more = start + limit < len(members)
    next_values = {f"{p}continue": _cm_token(members[start + limit])} if more else {}
    extra = (
        {"limits": {"categorymembers": MAX_LIMIT}} if ctx.params.get(f"{p}limit") == "max" else {}
    )
    return rows, next_values, extra


def _category_rows(ctx: ApiContext, p: str) -> list[Member]:
    title, pageid = ctx.params.get(f"{p}title"), ctx.params.get(f"{p}pageid")
    if (title is None) == (pageid is None):
        raise ApiError(
            "invalidparammix" if title and pageid else "missingparam",
            f'Exactly one of the parameters "{p}title" and "{p}pageid" is required.',
        )
    name = _category_name(ctx, title, pageid)
    types = _member_types(ctx, p)
    namespaces = _namespaces(ctx, f"{p}namespace")
    ctx.params.accept(f"{p}sort")  # sortkey and timestamp give the same order here
    return [
        m
        for m in ctx.world.members(name)
        if m.type in types and (not namespaces or m.ns in namespaces)
    ]


def _descending(ctx: ApiContext, name: str) -> bool:
    """``cmdir``: ``asc``/``ascending``/``newer`` (the default) or ``desc``/``descending``/
    ``older``."""
    value = ctx.params.get(name) or "ascending"
    if value not in ("asc", "ascending", "newer", "desc", "descending", "older"):
        raise ApiError("badvalue", f'Unrecognized value for parameter "{name}": {value}.')
    return value in ("desc", "descending", "older")


_namespaces = filelists.namespaces


def _category_name(ctx: ApiContext, title: str | None, pageid: str | None) -> str:
    if pageid is not None:
        category = ctx.world.categories_by_pageid.get(int(pageid) if pageid.isdigit() else -1)
        if category is None:
            raise ApiError("nosuchpageid", f"There is no page with ID {pageid}.")
        return category.name
    ns, name = parse_title(title or "")
    if ns != CATEGORY_NS or not name:
        raise ApiError("invalidcategory", "The category name you entered is not valid.")
    return name


def _member_types(ctx: ApiContext, p: str) -> set[str]:
    types = ctx.params.multi(f"{p}type") or ["page", "subcat", "file"]
    for value in types:
        if value not in ("page", "subcat", "file"):
            raise ApiError("badvalue", f'Unrecognized value for parameter "{p}type": {value}.')
    return set(types)


def _member_row(ctx: ApiContext, member: Member, props: set[str]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    if "ids" in props:
        row["pageid"] = member.pageid
    row["ns"] = member.ns
    if "title" in props:
        row["title"] = member.title
    if "sortkey" in props:
        row["sortkey"] = member.sortkey.encode().hex()
    if "sortkeyprefix" in props:
        row["sortkeyprefix"] = ""
    if "type" in props:
        row["type"] = member.type
    if "timestamp" in props:
        page = ctx.world.files_by_pageid.get(member.pageid)
        row["timestamp"] = page.timestamp if page else "2015-01-01T00:00:00Z"
    return row


def _cm_token(member: Member) -> str:
    """cmcontinue as MediaWiki builds it: ``<type>|<hex sort key>|<page id>`` of the next row."""
    return f"{member.type}|{member.sortkey.encode().hex()}|{member.pageid}"


def _cm_start(members: list[Member], token: str | None, *, descending: bool = False) -> int:
    if not token:
        return 0
    parts = token.split("|")
    try:
        kind, key, pageid = parts[0], bytes.fromhex(parts[1]).decode(), int(parts[2])
        position = (("page", "subcat", "file").index(kind), key, pageid)
    except (IndexError, ValueError):
        raise ApiError(
            "badcontinue",
            "Invalid continue param. You should pass the original value returned by the "
            "previous query.",
        ) from None
    if descending:
        return next((i for i, m in enumerate(members) if m.order <= position), len(members))
    return next((i for i, m in enumerate(members) if m.order >= position), len(members))


def search(ctx: ApiContext, g: str) -> ListResult:
    """list=search: ``haswbstatement:P=V`` (``|`` for or) and plain words, AND-ed."""
    p = f"{g}sr"
    text = ctx.params.get(f"{p}search")
    if not text:
        raise ApiError("missingparam", f'The "{p}search" parameter must be set.')
    hits = _search_hits(ctx, text, _namespaces(ctx, f"{p}namespace") or {0})
    limit = _limit(ctx, f"{p}limit", 10, f"{g}search")
    offset = ctx.params.integer(f"{p}offset", 0)
    chosen = hits[offset : offset + limit]
    props = ctx.params.multi(f"{p}prop") if ctx.params.has(f"{p}prop") else _SR_DEFAULT
    rows = [_search_row(hit, props) for hit in chosen]
    next_values = {f"{p}offset": offset + limit} if offset + limit < len(hits) else {}
    ctx.params.accept(f"{p}what", f"{p}info", f"{p}sort")
    return rows, next_values, {"searchinfo": {"totalhits": len(hits)}}


_SR_DEFAULT = ["size", "wordcount", "timestamp", "snippet"]


@dataclass(frozen=True)
class SearchHit:
    ns: int
    title: str
    pageid: int
    timestamp: str


def _search_row(hit: SearchHit, props: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"ns": hit.ns, "title": hit.title, "pageid": hit.pageid}
    if "size" in props:
        row["size"] = 400 + 7 * len(hit.title)
    if "wordcount" in props:
        row["wordcount"] = 20 + len(hit.title.split())
    if "snippet" in props:
        row["snippet"] = ""
    if "timestamp" in props:
        row["timestamp"] = hit.timestamp
    return row


def _search_hits(ctx: ApiContext, text: str, namespaces: set[int]) -> list[SearchHit]:
    """The pages of ``namespaces`` the query matches (:mod:`fakecommons.cirrus`)."""
    terms = cirrus.parse(text)
    candidates = _search_candidates(ctx, namespaces)
    return [hit for hit, candidate in candidates if cirrus.matches(candidate, terms)]


def _search_candidates(
    ctx: ApiContext, namespaces: set[int]
) -> list[tuple[SearchHit, cirrus.Candidate]]:
    if ctx.site == "wikidata":
        return _item_candidates(ctx) if 0 in namespaces else []
    rows: list[tuple[SearchHit, cirrus.Candidate]] = []
    if FILE_NS in namespaces:
        for page in sorted(ctx.world.files.values(), key=lambda p: p.name):
            hit = SearchHit(FILE_NS, page.title, page.pageid, page.timestamp)
            rows.append((hit, _file_candidate(ctx, page)))
    if CATEGORY_NS in namespaces:
        for category in sorted(ctx.world.categories.values(), key=lambda c: c.name):
            if category.pageid is None:
                continue  # search indexes pages; this category has none
            hit = SearchHit(CATEGORY_NS, category.title, category.pageid, "2015-01-01T00:00:00Z")
            rows.append((hit, cirrus.Candidate(category.name, lambda _p, _v: False)))
    return rows


def _file_candidate(ctx: ApiContext, page: FilePage) -> cirrus.Candidate:
    def statements(prop: str, value: str) -> bool:
        return any(
            wikibase.statement_matches(s, prop, value) for s in ctx.world.statements(page.mid, prop)
        )

    return cirrus.Candidate(
        title=page.name,
        statements=statements,
        words=" ".join(page.captions.values()),
        categories=cirrus.category_keys([c.name for c in ctx.world.categories_of(page.name)]),
        source=ctx.world.source_text(page),
    )


def _item_candidates(ctx: ApiContext) -> list[tuple[SearchHit, cirrus.Candidate]]:
    rows: list[tuple[SearchHit, cirrus.Candidate]] = []
    for item in sorted(ctx.world.items.values(), key=lambda i: int(i.qid[1:])):
        if item.missing or item.redirect:
            continue
        haystack = " ".join([*item.labels.values(), *(a for v in item.aliases.values() for a in v)])
        hit = SearchHit(0, item.qid, item.pageid, "2020-01-01T00:00:00Z")
        rows.append((hit, cirrus.Candidate(haystack, _item_matcher(item))))
    return rows


def _item_matcher(item: Item) -> cirrus.StatementMatcher:
    claims = {"P31": set(item.instance_of), "P18": {item.image} if item.image else set()}

    def matches(prop: str, value: str) -> bool:
        return value in claims.get(prop, set())

    return matches


LIST_MODULES: dict[str, Callable[[ApiContext, str], ListResult]] = {
    "categorymembers": categorymembers,
    "search": search,
    "allimages": filelists.allimages,
    "logevents": filelists.logevents,
}
GENERATORS = {
    "categorymembers": ("gcm", categorymembers),
    "search": ("gsr", search),
    "allimages": ("gai", filelists.allimages),
}


# --- the page set ---------------------------------------------------------------------------

PageSet = list[tuple[PageRef, dict[str, Any]]]


def parse_title(raw: str) -> tuple[int, str]:
    """(namespace, name) of a title, normalised as MediaWiki does (spaces, first capital)."""
    text = normal_name(raw)
    prefix, colon, rest = text.partition(":")
    ns = NAMESPACE_PREFIXES.get(prefix.strip().lower()) if colon else None
    name = normal_name(rest) if ns is not None else text
    return (ns or 0), name


def _page_set(ctx: ApiContext, query: dict[str, Any], cont: Continuation) -> PageSet | None:
    generator = ctx.params.get("generator")
    if generator is not None:
        refs = _generated(ctx, generator, cont)
    elif ctx.params.has("titles"):
        refs = _from_titles(ctx, query)
    elif ctx.params.has("pageids"):
        refs = _from_pageids(ctx)
    else:
        return None
    refs.sort(key=lambda ref: (ref.pageid is not None, ref.title))
    return [(ref, ref.output(ctx)) for ref in refs]


def _generated(ctx: ApiContext, name: str, cont: Continuation) -> list[PageRef]:
    if name not in GENERATORS:
        raise ApiError("badvalue", f'Unrecognized value for parameter "generator": {name}.')
    prefix, module = GENERATORS[name]
    key = f"{prefix}offset" if name == "search" else f"{prefix}continue"
    if ctx.params.has(key):
        cont.generator_in = {key: str(ctx.params.get(key))}
    rows, next_values, _ = module(ctx, "g")
    cont.generator_next = next_values
    offset = ctx.params.integer("gsroffset", 0) if name == "search" else 0
    refs = [_ref_for(ctx, int(row["ns"]), _strip_prefix(str(row["title"]))) for row in rows]
    if name == "search":
        for rank, ref in enumerate(refs, start=offset + 1):
            ref.index = rank
    return refs


def _strip_prefix(title: str) -> str:
    return title.partition(":")[2] if title.startswith(("File:", "Category:")) else title


def _from_titles(ctx: ApiContext, query: dict[str, Any]) -> list[PageRef]:
    raw_titles = _capped(ctx, "titles")
    follow = ctx.params.flag("redirects")
    refs, normalized, redirected = [], [], []
    for raw in raw_titles:
        ns, name = parse_title(raw)
        ref = _ref_for(ctx, ns, name)
        target = ctx.world.redirects.get(name) if ns == FILE_NS and ctx.site == "commons" else None
        if follow and target is not None:
            redirected.append({"from": ref.title, "to": f"File:{target}"})
            ref = _ref_for(ctx, ns, target)
            if raw != redirected[-1]["from"]:
                normalized.append(_normalized(ctx, raw, redirected[-1]["from"]))
            refs.append(ref)
            continue
        if _ILLEGAL_TITLE.search(raw) or not name:
            ref = PageRef(
                ns=0,
                title=raw,
                invalid="The requested page title is empty or contains illegal characters.",
            )
        elif raw != ref.title:
            normalized.append(_normalized(ctx, raw, ref.title))
        refs.append(ref)
    # One page per title, however often it was asked for (as MediaWiki's page set keeps it).
    refs = list({(ref.ns, ref.title, ref.invalid): ref for ref in refs}.values())
    if normalized:
        query["normalized"] = normalized
    if redirected:
        query["redirects"] = redirected
    return refs


def _normalized(ctx: ApiContext, raw: str, title: str) -> dict[str, Any]:
    if ctx.fmt.v2:
        return {"fromencoded": False, "from": raw, "to": title}
    return {"from": raw, "to": title}


def _from_pageids(ctx: ApiContext) -> list[PageRef]:
    refs = []
    for raw in _capped(ctx, "pageids"):
        if not raw.isdigit():
            raise ApiError("badinteger", f'Invalid value "{raw}" for integer parameter "pageids".')
        refs.append(_ref_by_pageid(ctx, int(raw)))
    return refs


def _capped(ctx: ApiContext, name: str) -> list[str]:
    values = ctx.params.multi(name)
    if len(values) > MAX_TITLES:
        raise ApiError(
            "toomanyvalues",
            f'Too many values supplied for parameter "{name}". The limit is {MAX_TITLES}.',
            extra={"limit": MAX_TITLES, "lowlimit": MAX_TITLES, "highlimit": MAX_LIMIT},
        )
    return values


def _ref_for(ctx: ApiContext, ns: int, name: str) -> PageRef:
    title = f"{CANONICAL_PREFIX.get(ns, '')}{name}"
    if ctx.site == "commons" and ns == FILE_NS and (page := ctx.world.file(name)):
        return PageRef(ns, title, page.pageid, file=page)
    if ctx.site == "commons" and ns == CATEGORY_NS and (category := ctx.world.category(name)):
        return PageRef(ns, title, category.pageid)  # no description page: missing
    if ctx.site == "wikidata" and ns == 0 and (item := ctx.world.item(name)) and not item.missing:
        return PageRef(0, title, item.pageid)
    return PageRef(ns, title)


def _ref_by_pageid(ctx: ApiContext, pageid: int) -> PageRef:
    if ctx.site == "commons" and (page := ctx.world.files_by_pageid.get(pageid)):
        return PageRef(FILE_NS, page.title, pageid, file=page)
    if ctx.site == "commons" and (category := ctx.world.categories_by_pageid.get(pageid)):
        return PageRef(CATEGORY_NS, category.title, pageid)
    return _MissingById(pageid)


class _MissingById(PageRef):
    """``pageids=`` naming no page: ``{"pageid": N, "missing": ...}`` (no ns, no title)."""

    def __init__(self, pageid: int) -> None:
        super().__init__(ns=0, title="", pageid=None)
        self.missing_pageid = pageid

    def output(self, ctx: ApiContext) -> dict[str, Any]:
        return {"pageid": self.missing_pageid, "missing": ctx.fmt.flag()}


# --- prop=imageinfo ------------------------------------------------------------------------


def _run_props(ctx: ApiContext, pages: PageSet, cont: Continuation) -> None:
    for name in dict.fromkeys(ctx.params.multi("prop")):
        if name == "imageinfo":
            imageinfo(ctx, pages, cont)
        elif name == "categoryinfo":
            categoryinfo(ctx, pages)
        elif name == "categories":
            categories(ctx, pages, cont)
        elif name == "info":
            pageinfo.info(ctx, pages)
        else:
            ctx.warn("query", f'Unrecognized value for parameter "prop": {name}')


# What the stand-in answers; ``archivename`` names old versions only, and the world holds
# current ones, so it adds nothing. Other iiprop values draw a warning.
IIPROPS = frozenset(
    {"timestamp", "user", "userid", "size", "dimensions", "comment", "url", "sha1", "metadata"}
    | {"mime", "mediatype", "archivename"}
)
UPLOAD_COMMENT = filelists.UPLOAD_COMMENT


def imageinfo(ctx: ApiContext, pages: PageSet, cont: Continuation) -> None:
    props = set(ctx.params.multi("iiprop") or ["timestamp", "user"])
    for prop in sorted(props - IIPROPS):
        ctx.warn("imageinfo", f'Unrecognized value for parameter "iiprop": {prop}')
    width = ctx.params.integer("iiurlwidth", -1)
    ctx.params.accept("iilimit", "iiurlheight")
    start_key = _ii_start(ctx.params.get("iicontinue"))
    transforms = 0
    files = sorted(
        (
            (ref, out)
            for ref, out in pages
            if ref.ns == FILE_NS and not isinstance(ref, _MissingById)
        ),
        key=lambda pair: pair[0].title,
    )
    for ref, out in files:
        if ref.file is None:
            out["imagerepository"] = ""
            continue
        if start_key is not None and ref.file.dbkey < start_key:
            continue
        if width > 0 and "url" in props and transforms >= TRANSFORM_LIMIT:
            cont.prop["iicontinue"] = f"{ref.file.dbkey}|{_mw_timestamp(ref.file.timestamp)}"
            return
        out["imagerepository"] = "local"
        out["imageinfo"] = [_info(ctx, ref.file, props, width)]
        transforms += 1 if width > 0 and "url" in props else 0


def _ii_start(token: str | None) -> str | None:
    if token is None:
        return None
    dbkey, bar, stamp = token.rpartition("|")
    if not bar or not dbkey or not stamp.isdigit():
        raise ApiError(
            "badcontinue",
            "Invalid continue param. You should pass the original value returned by the "
            "previous query.",
        )
    return dbkey


_mw_timestamp = filelists.mw_timestamp


_info = filelists.file_info


# --- prop=categories -----------------------------------------------------------------------


def categories(ctx: ApiContext, pages: PageSet, cont: Continuation) -> None:
    """The categories of the set's files (ApiQueryCategories): by page id, then category;
    ``cllimit`` rows per answer (10 by default), the rest through ``clcontinue``
    (``<pageid>|<category dbkey>``). ``clprop=hidden`` flags hidden categories."""
    limit = _limit(ctx, "cllimit", 10, "categories")
    hidden = "hidden" in ctx.params.multi("clprop")
    start = _cl_start(ctx.params.get("clcontinue"))
    rows = [
        (ref.pageid, category, out)
        for ref, out in sorted(pages, key=lambda pair: pair[0].pageid or 0)
        if ref.file is not None and ref.pageid is not None
        for category in ctx.world.categories_of(ref.file.name)
    ]
    rows = [row for row in rows if (row[0], _dbkey(row[1].name)) >= start]
    for count, (pageid, category, out) in enumerate(rows):
        if count == limit:
            cont.prop["clcontinue"] = f"{pageid}|{_dbkey(category.name)}"
            return
        row: dict[str, Any] = {"ns": CATEGORY_NS, "title": category.title}
        if hidden and category.hidden:
            row["hidden"] = ctx.fmt.flag()
        out.setdefault("categories", []).append(row)


def _cl_start(token: str | None) -> tuple[int, str]:
    if token is None:
        return (0, "")
    pageid, bar, dbkey = token.partition("|")
    if not bar or not pageid.isdigit():
        raise ApiError(
            "badcontinue",
            "Invalid continue param. You should pass the original value returned by the "
            "previous query.",
        )
    return (int(pageid), dbkey)


def _dbkey(name: str) -> str:
    return name.replace(" ", "_")


# --- prop=categoryinfo ---------------------------------------------------------------------


def categoryinfo(ctx: ApiContext, pages: PageSet) -> None:
    """Member counts of the set's categories, found or missing (ApiQueryCategoryInfo).

    A missing page with members gets counts too; one with neither does not
    (:attr:`Category.counted`). At most 50 titles always fit: no ``cicontinue``.
    """
    ctx.params.accept("cicontinue")
    if ctx.site != "commons":
        return
    for ref, out in pages:
        category = ctx.world.category(_strip_prefix(ref.title)) if ref.ns == CATEGORY_NS else None
        if category is not None and category.counted:
            out["categoryinfo"] = _category_counts(ctx, category)


def _category_counts(ctx: ApiContext, category: Category) -> dict[str, Any]:
    files, subcats = len(category.files), len(category.subcats)
    # The world holds no articles: every member is a file or a subcategory.
    counts: dict[str, Any] = {
        "size": files + subcats,
        "pages": 0,
        "files": files,
        "subcats": subcats,
    }
    # formatversion 1 drops a false boolean and prints a true one as "".
    if category.hidden or ctx.fmt.v2:
        counts["hidden"] = category.hidden if ctx.fmt.v2 else ""
    return counts


# --- meta modules ---------------------------------------------------------------------------


def _run_meta(ctx: ApiContext, name: str, query: dict[str, Any]) -> None:
    if name == "tokens":
        query["tokens"] = _tokens(ctx)
    elif name == "userinfo":
        query["userinfo"] = userinfo.userinfo(ctx)
    elif name == "siteinfo":
        siteinfo.siteinfo(ctx, query)
    else:
        ctx.warn("query", f'Unrecognized value for parameter "meta": {name}')


def _tokens(ctx: ApiContext) -> dict[str, str]:
    kinds = ctx.params.multi("type") or ["csrf"]
    tokens = {}
    for kind in kinds:
        if kind not in _TOKEN_TYPES:
            raise ApiError("badvalue", f'Unrecognized value for parameter "type": {kind}.')
        tokens[f"{kind}token"] = ctx.csrf_token if kind != "login" else "f00dcafe+\\"
    return tokens
