"""Wikibase writes on Commons: ``wbsetclaim``, ``wbcreateclaim``, ``wbremoveclaims``.

Every write is POST-only and needs the caller's csrf token (ApiMain::setupModule checks both
before the module runs). ``wbsetclaim`` with the id of an existing statement replaces it in
place — which is what makes a retried write idempotent. Answers follow
real-api/06-wbsetclaim-success.json: ``{"pageinfo": {"lastrevid"}, "success": 1, "claim"}``.
The stand-in's Wikidata is read-only: WikiVisage never writes there.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from typing import Any

from fakecommons import wikibase
from fakecommons.context import ApiContext
from fakecommons.entities import no_such_entity
from fakecommons.protocol import ApiError, wikibase_error
from fakecommons.records import WriteRecord
from fakecommons.world import User

ANONYMOUS_TOKEN = "+\\"


def csrf_token(secret: bytes, user: User | None) -> str:
    """The user's csrf token: 40 hex digits and ``+\\``; anonymous callers get ``+\\`` alone."""
    if user is None:
        return ANONYMOUS_TOKEN
    digest = hmac.new(secret, user.name.encode("utf-8"), hashlib.sha1).hexdigest()
    return f"{digest}{ANONYMOUS_TOKEN}"


def check_write(ctx: ApiContext, action: str) -> None:
    """What ApiMain::setupModule checks before a write module runs: POST, then the token."""
    if ctx.method != "POST":
        raise ApiError("mustbeposted", f'The "{action}" module requires a POST request.')
    token = ctx.params.get("token")
    if token is None:
        raise ApiError("missingparam", 'The "token" parameter must be set.')
    if not hmac.compare_digest(token, ctx.csrf_token):
        raise ApiError("badtoken", "Invalid CSRF token.")
    if ctx.user is not None and ctx.user.blocked:
        raise ApiError("blocked", "You have been blocked from editing.")


def wbsetclaim(ctx: ApiContext) -> dict[str, Any]:
    claim = wikibase.parse_claim(_required(ctx, "claim"))
    if not claim.get("id"):
        raise ApiError("invalid-claim", "The statement has no GUID; wbsetclaim needs one.")
    mid = wikibase.entity_of_guid(str(claim["id"]))
    _check_mediainfo(ctx, mid)
    statement = wikibase.normalise_statement(claim, entity_id=mid)
    ctx.params.accept("index", "baserevid", "bot")
    return _save(ctx, "wbsetclaim", mid, statement)


def wbcreateclaim(ctx: ApiContext) -> dict[str, Any]:
    mid = _required(ctx, "entity").upper()
    _check_mediainfo(ctx, mid)
    prop = _required(ctx, "property")
    snak: dict[str, Any] = {"snaktype": _required(ctx, "snaktype"), "property": prop}
    if snak["snaktype"] == "value":
        snak["datavalue"] = wikibase.value_from_param(prop, _required(ctx, "value"))
    guid = f"{mid}${uuid.uuid4()}"
    statement = wikibase.normalise_statement(
        {"mainsnak": snak, "type": "statement", "id": guid, "rank": "normal"}, entity_id=mid
    )
    ctx.params.accept("baserevid", "bot")
    return _save(ctx, "wbcreateclaim", mid, statement)


def wbremoveclaims(ctx: ApiContext) -> dict[str, Any]:
    guids = ctx.params.multi("claim")
    if not guids:
        raise ApiError("missingparam", 'The "claim" parameter must be set.')
    entities = {wikibase.entity_of_guid(guid) for guid in guids}
    if len(entities) != 1:
        raise ApiError("invalid-guid", "All claims must belong to the same entity.")
    mid = entities.pop()
    _check_mediainfo(ctx, mid)
    existing = {s["id"].lower(): s for s in ctx.world.statements(mid)}
    for guid in guids:
        if guid.lower() not in existing:
            raise wikibase_error(
                "no-such-claim", f"Could not find the claim {guid}.", "wikibase-api-no-such-claim"
            )
    tags = _tags(ctx)
    revision = ctx.world.remove_statements(mid, guids)
    for guid in guids:
        removed = existing[guid.lower()]
        _record(ctx, "wbremoveclaims", mid, guid, removed, tags, revision, replaced=True)
    return {"pageinfo": {"lastrevid": revision}, "success": 1, "claims": guids}


def _required(ctx: ApiContext, name: str) -> str:
    value = ctx.params.get(name)
    if not value:
        raise ApiError("missingparam", f'The "{name}" parameter must be set.')
    return value


def _check_mediainfo(ctx: ApiContext, mid: str) -> None:
    if not wikibase.MEDIAINFO_ID.match(mid) or ctx.world.file_of(mid) is None:
        raise no_such_entity(mid)


def _tags(ctx: ApiContext) -> tuple[str, ...]:
    tags = tuple(ctx.params.multi("tags"))
    allowed = ctx.world.change_tags
    for tag in tags:
        if allowed is not None and tag not in allowed:
            raise ApiError(
                "tags-apply-not-allowed-one",
                f'The tag "{tag}" is not allowed to be manually applied.',
            )
    return tags


def _save(ctx: ApiContext, action: str, mid: str, statement: dict[str, Any]) -> dict[str, Any]:
    tags = _tags(ctx)
    revision, replaced = ctx.world.save_statement(mid, statement)
    _record(ctx, action, mid, statement["id"], statement, tags, revision, replaced=replaced)
    # ResultBuilder::addStatement adds datatypes to the snaks it returns, MediaInfo or not
    # (only entity serialisations under "statements" miss them).
    claim = wikibase.with_datatypes(statement)
    return {"pageinfo": {"lastrevid": revision}, "success": 1, "claim": claim}


def _record(
    ctx: ApiContext,
    action: str,
    mid: str,
    guid: str,
    statement: dict[str, Any] | None,
    tags: tuple[str, ...],
    revision: int,
    *,
    replaced: bool,
) -> None:
    snak = statement["mainsnak"] if statement else {}
    value = snak.get("datavalue", {}).get("value")
    ctx.record_write(
        WriteRecord(
            action=action,
            entity_id=mid,
            statement_id=guid,
            property=snak.get("property", ""),
            value=value.get("id") if isinstance(value, dict) else value,
            user=ctx.user_name,
            summary=ctx.params.get("summary") or "",
            tags=tags,
            revision=revision,
            replaced=replaced,
            params=dict(ctx.params.values),
            time=time.time(),
            statement=statement,
        )
    )


WRITE_MODULES: dict[str, Callable[[ApiContext], dict[str, Any]]] = {
    "wbsetclaim": wbsetclaim,
    "wbcreateclaim": wbcreateclaim,
    "wbremoveclaims": wbremoveclaims,
}
