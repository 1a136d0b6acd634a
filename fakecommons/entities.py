"""Wikibase reads: ``wbgetentities``, ``wbgetclaims``, ``wbsearchentities``.

On Commons the entities are MediaInfo (``M<pageid>``); on Wikidata items and the few
properties WikiVisage uses. A malformed id, or one of the wrong kind for the wiki, aborts the
whole call with ``no-such-entity``, as GetEntities.php does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fakecommons import wikibase
from fakecommons.context import ApiContext
from fakecommons.protocol import ApiError, wikibase_error
from fakecommons.query import MAX_LIMIT, MAX_TITLES, parse_title
from fakecommons.world import FILE_NS, Item

DEFAULT_PROPS = ("info", "sitelinks", "aliases", "labels", "descriptions", "claims", "datatype")
_ITEM_MODIFIED = "2024-05-01T12:00:00Z"
SEARCH_LIMIT = 50


@dataclass(frozen=True)
class EntityRequest:
    """The parameters that shape every entity of one wbgetentities answer."""

    props: frozenset[str]
    languages: tuple[str, ...] | None
    fallback: bool
    follow_redirects: bool


def wbgetentities(ctx: ApiContext) -> dict[str, Any]:
    ids = _entity_ids(ctx)
    request = EntityRequest(
        props=frozenset(ctx.params.multi("props") or DEFAULT_PROPS),
        languages=tuple(ctx.params.multi("languages")) or None,
        fallback=ctx.params.flag("languagefallback"),
        follow_redirects=ctx.params.get("redirects", "yes") != "no",
    )
    entities: dict[str, Any] = {}
    for entity_id in ids:
        entities[entity_id] = _entity(ctx, entity_id, request)
    entities.update(_by_titles(ctx, request))
    return {"entities": entities, "success": 1}


def _entity_ids(ctx: ApiContext) -> list[str]:
    raw = list(dict.fromkeys(value.strip() for value in ctx.params.multi("ids")))
    if not raw and not ctx.params.has("titles"):
        raise ApiError(
            "param-missing",
            'Either provide the item "ids" or pairs of "sites" and "titles" for corresponding '
            "pages",
        )
    if len(raw) > MAX_TITLES:
        raise ApiError(
            "toomanyvalues",
            f'Too many values supplied for parameter "ids". The limit is {MAX_TITLES}.',
            extra={"limit": MAX_TITLES, "lowlimit": MAX_TITLES, "highlimit": MAX_LIMIT},
        )
    for entity_id in raw:
        _check_id(ctx, entity_id)
    # Wikibase parses ids case-insensitively and answers with their canonical (upper) form.
    return list(dict.fromkeys(entity_id.upper() for entity_id in raw))


def _check_id(ctx: ApiContext, entity_id: str) -> None:
    allowed = wikibase.MEDIAINFO_ID if ctx.site == "commons" else wikibase.ENTITY_ID
    canonical = entity_id.upper()
    if not allowed.match(canonical) or (ctx.site == "wikidata" and canonical.startswith("M")):
        raise no_such_entity(entity_id)


def no_such_entity(entity_id: str) -> ApiError:
    return wikibase_error(
        "no-such-entity",
        f'Could not find an entity with the ID "{entity_id}".',
        "wikibase-api-no-such-entity",
        id=entity_id,
    )


def _entity(ctx: ApiContext, entity_id: str, request: EntityRequest) -> dict[str, Any]:
    if entity_id.startswith("M"):
        return mediainfo_entity(ctx, entity_id, request)
    if entity_id.startswith("P"):
        return _property_entity(entity_id, request)
    return _item_entity(ctx, entity_id, request)


def mediainfo_entity(ctx: ApiContext, mid: str, request: EntityRequest) -> dict[str, Any]:
    page, state = ctx.world.file_of(mid), ctx.world.mediainfo(mid)
    if page is None or state is None or not state.exists:
        return wikibase.missing_entity(mid)
    entity: dict[str, Any] = {}
    if "info" in request.props:
        entity.update(pageid=page.pageid, ns=FILE_NS, title=page.title)
        entity.update(lastrevid=state.lastrevid, modified=state.modified)
    entity.update(type="mediainfo", id=mid)
    if "labels" in request.props:
        entity["labels"] = wikibase.terms(
            page.captions, request.languages, fallback=request.fallback
        )
    if "descriptions" in request.props:
        entity["descriptions"] = {}
    if "claims" in request.props:
        statements = ctx.world.statements(mid)
        # Wikibase serialises an empty statement list as [] (T222159), a full one as an object.
        entity["statements"] = wikibase.group_by_property(statements) if statements else []
    return entity


def _item_entity(ctx: ApiContext, qid: str, request: EntityRequest) -> dict[str, Any]:
    item, redirected_from = ctx.world.resolve(qid)
    if item is None or (redirected_from and not request.follow_redirects):
        return wikibase.missing_entity(qid)
    entity: dict[str, Any] = {}
    if "info" in request.props:
        entity.update(pageid=item.pageid, ns=0, title=item.qid)
        entity.update(lastrevid=item.lastrevid, modified=_ITEM_MODIFIED)
    if redirected_from:
        entity["redirects"] = {"from": redirected_from, "to": item.qid}
    entity.update(type="item", id=item.qid)
    entity.update(_item_terms(item, request))
    if "claims" in request.props:
        entity["claims"] = wikibase.group_by_property(item_statements(item))
    if "sitelinks" in request.props:
        entity["sitelinks"] = {}
    return entity


def _item_terms(item: Item, request: EntityRequest) -> dict[str, Any]:
    terms: dict[str, Any] = {}
    if "labels" in request.props:
        terms["labels"] = wikibase.terms(item.labels, request.languages, fallback=request.fallback)
    if "descriptions" in request.props:
        terms["descriptions"] = wikibase.terms(
            item.descriptions, request.languages, fallback=request.fallback
        )
    if "aliases" in request.props:
        terms["aliases"] = wikibase.aliases(item.aliases, request.languages)
    return terms


def item_statements(item: Item) -> list[dict[str, Any]]:
    """P31 and P18 of an item, as Wikidata prints them (with ``datatype``)."""
    rows = []
    for qid in item.instance_of:
        datavalue = {"value": wikibase.item_value(qid), "type": "wikibase-entityid"}
        rows.append(_item_statement(item.qid, "P31", datavalue, seed=f"P31={qid}"))
    if item.image:
        datavalue = {"value": item.image, "type": "string"}
        rows.append(_item_statement(item.qid, "P18", datavalue, seed=f"P18={item.image}"))
    return rows


def _item_statement(qid: str, prop: str, datavalue: dict[str, Any], *, seed: str) -> dict[str, Any]:
    return {
        "mainsnak": wikibase.value_snak(prop, datavalue, datatype=True),
        "type": "statement",
        "id": wikibase.stable_guid(qid, seed),
        "rank": "normal",
    }


def _property_entity(pid: str, request: EntityRequest) -> dict[str, Any]:
    if pid not in wikibase.PROPERTIES:
        return wikibase.missing_entity(pid)
    datatype, label = wikibase.PROPERTIES[pid]
    entity: dict[str, Any] = {}
    if "info" in request.props:
        entity.update(pageid=1000 + int(pid[1:]), ns=120, title=f"Property:{pid}")
        entity.update(lastrevid=1_400_000_000 + int(pid[1:]), modified=_ITEM_MODIFIED)
    entity["type"] = "property"
    if "datatype" in request.props:
        entity["datatype"] = datatype
    entity["id"] = pid
    if "labels" in request.props:
        entity["labels"] = wikibase.terms(
            {"en": label}, request.languages, fallback=request.fallback
        )
    return entity


def _by_titles(ctx: ApiContext, request: EntityRequest) -> dict[str, Any]:
    """``sites=commonswiki&titles=File:…`` → the files' MediaInfo, keyed by M-id."""
    titles = ctx.params.multi("titles")
    site = ctx.params.get("sites") or ""
    found: dict[str, Any] = {}
    for number, title in enumerate(titles, start=1):
        ns, name = parse_title(title)
        page = ctx.world.file(name) if ctx.site == "commons" and ns == FILE_NS else None
        if page is None or site != "commonswiki":
            found[f"-{number}"] = {"site": site, "title": title, "missing": ""}
        else:
            found[page.mid] = mediainfo_entity(ctx, page.mid, request)
    return found


# --- wbgetclaims ----------------------------------------------------------------------------


def wbgetclaims(ctx: ApiContext) -> dict[str, Any]:
    guid = ctx.params.get("claim")
    entity_id = wikibase.entity_of_guid(guid) if guid else (ctx.params.get("entity") or "")
    if not entity_id:
        raise ApiError("param-missing", 'Either the "entity" or the "claim" parameter must be set.')
    entity_id = entity_id.upper()
    _check_id(ctx, entity_id)
    statements = _statements_of(ctx, entity_id)
    prop, rank = ctx.params.get("property"), ctx.params.get("rank")
    chosen = [
        s
        for s in statements
        if (prop is None or s["mainsnak"]["property"] == prop)
        and (rank is None or s["rank"] == rank)
        and (guid is None or s["id"].lower() == guid.lower())
    ]
    ctx.params.accept("props")
    return {"claims": wikibase.group_by_property(chosen)}


def _statements_of(ctx: ApiContext, entity_id: str) -> list[dict[str, Any]]:
    if entity_id.startswith("M"):
        if ctx.world.file_of(entity_id) is None:
            raise no_such_entity(entity_id)
        return ctx.world.statements(entity_id)
    item, _ = ctx.world.resolve(entity_id)
    if item is None:
        raise no_such_entity(entity_id)
    return item_statements(item)


# --- wbsearchentities -----------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    item: Item
    kind: str  # "entityId", "label" or "alias"
    language: str | None
    text: str

    @property
    def rank(self) -> tuple[int, int]:
        return (("entityId", "label", "alias").index(self.kind), int(self.item.qid[1:]))


def wbsearchentities(ctx: ApiContext) -> dict[str, Any]:
    text = _required(ctx, "search")
    language = _required(ctx, "language")
    if (ctx.params.get("type") or "item") != "item":
        return {"searchinfo": {"search": text}, "search": [], "success": 1}
    limit = min(SEARCH_LIMIT, max(1, ctx.params.integer("limit", 7)))
    offset = ctx.params.integer("continue", 0)
    chains = _search_languages(language, strict=ctx.params.flag("strictlanguage"))
    matches = sorted(_matches(ctx, text, chains), key=lambda m: m.rank)
    ctx.params.accept("uselang", "props")
    result: dict[str, Any] = {"searchinfo": {"search": text}}
    result["search"] = [_search_row(ctx, m, chains) for m in matches[offset : offset + limit]]
    if offset + limit < len(matches):
        result["search-continue"] = offset + limit
    result["success"] = 1
    return result


def _required(ctx: ApiContext, name: str) -> str:
    value = ctx.params.get(name)
    if not value:
        raise ApiError("missingparam", f'The "{name}" parameter must be set.')
    return value


def _search_languages(language: str, *, strict: bool) -> tuple[str, ...]:
    if strict:
        return (language,)
    return (language, *wikibase.FALLBACKS.get(language, ()), "mul", "en")


def _matches(ctx: ApiContext, text: str, languages: Sequence[str]) -> list[Match]:
    needle = text.strip().lower()
    found = []
    for item in ctx.world.items.values():
        if item.missing or item.redirect:
            continue
        match = _match(item, needle, languages)
        if match is not None:
            found.append(match)
    return found


def _match(item: Item, needle: str, languages: Sequence[str]) -> Match | None:
    if item.qid.lower() == needle:
        return Match(item, "entityId", None, item.qid)
    for lang in languages:
        label = item.labels.get(lang)
        if label and label.lower().startswith(needle):
            return Match(item, "label", lang, label)
    for lang in languages:
        for alias in item.aliases.get(lang, ()):
            if alias.lower().startswith(needle):
                return Match(item, "alias", lang, alias)
    return None


def _search_row(ctx: ApiContext, match: Match, languages: Sequence[str]) -> dict[str, Any]:
    item = match.item
    netloc = ctx.urls.base.split("://", 1)[1]
    row: dict[str, Any] = {
        "id": item.qid,
        "title": item.qid,
        "pageid": item.pageid,
        "repository": "wikidata",
        "url": f"//{netloc}/wikidata/wiki/{item.qid}",
        "concepturi": f"http://www.wikidata.org/entity/{item.qid}",
    }
    label = next((item.labels[lang] for lang in languages if lang in item.labels), None)
    description = next(
        (item.descriptions[lang] for lang in languages if lang in item.descriptions), None
    )
    if label is not None:
        row["label"] = label
    if description is not None:
        row["description"] = description
    row["match"] = {
        "type": match.kind,
        **({"language": match.language} if match.language else {}),
        "text": match.text,
    }
    if match.kind != "label":
        row["aliases"] = [match.text]
    return row
