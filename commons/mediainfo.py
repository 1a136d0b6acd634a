"""Depicts (P180) statements of Commons files: read them, write one, remove some.

A file's structured data is the MediaInfo entity ``M<pageid>``. Reads accept both keys
Wikibase has used (``statements``, and ``claims`` as in ``wbeditentity`` input), treat ``[]``
(T222159) and a missing entity (a file whose structured data was never edited) as "no
statements".
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from commons.client import ApiClient, ApiResponse, WriteOutcomeUnknown
from commons.identifiers import mediainfo_id, normalise_qid
from commons.types import Statement, WriteResult

logger = logging.getLogger(__name__)

DEPICTS = "P180"
RELATIVE_POSITION = "P2677"  # qualifier: IIIF region "pct:x,y,w,h" of the full image
IDS_PER_REQUEST = 50  # wbgetentities' limit for clients without apihighlimits
AMBIGUOUS_WRITE_ATTEMPTS = 3

Region = tuple[float, float, float, float]


def new_statement_id(pageid: int) -> str:
    """A statement id chosen by the tool, as pywikibot does: ``M<pageid>$<uuid4>``."""
    return f"{mediainfo_id(pageid)}${uuid.uuid4()}"


def fetch_statements(
    client: ApiClient, *, pageids: Sequence[int], missing_as_empty: bool = True
) -> dict[int, list[Statement]]:
    """Every statement of every file, 50 entities per request.

    A file without structured data reads as ``[]``; with ``missing_as_empty`` off, a file
    whose entity is missing has no key at all (for a file we wrote to: it was deleted).
    """
    result: dict[int, list[Statement]] = (
        {pageid: [] for pageid in pageids} if missing_as_empty else {}
    )
    for start in range(0, len(pageids), IDS_PER_REQUEST):
        chunk = pageids[start : start + IDS_PER_REQUEST]
        response = client.get(
            {
                "action": "wbgetentities",
                "ids": "|".join(mediainfo_id(pageid) for pageid in chunk),
                "props": "claims",
            }
        )
        result.update(parse_entities(response, skip_missing=not missing_as_empty))
    return result


def fetch_depicts(client: ApiClient, *, pageids: Sequence[int]) -> dict[int, list[Statement]]:
    """The P180 statements of every file."""
    everything = fetch_statements(client, pageids=pageids)
    return {pageid: depicts_only(statements) for pageid, statements in everything.items()}


def depicts_only(statements: Iterable[Statement]) -> list[Statement]:
    return [statement for statement in statements if statement.property == DEPICTS]


def statement_exists(client: ApiClient, *, pageid: int, statement_id: str) -> bool:
    statements = fetch_statements(client, pageids=[pageid])[pageid]
    wanted = statement_id.casefold()  # old ids may carry a lower-case entity prefix
    return any(statement.id.casefold() == wanted for statement in statements)


def set_depicts_claim(
    client: ApiClient,
    *,
    pageid: int,
    qid: str,
    statement_id: str,
    region: Region | None,
    summary: str,
    tags: Sequence[str] = (),
) -> WriteResult:
    """Write "``pageid`` depicts ``qid``" once, under the tool's own ``statement_id``.

    1. If Commons already holds ``statement_id``, do nothing: an earlier attempt got through.
    2. Otherwise send one ``wbsetclaim`` carrying P180, the optional P2677 region and the
       rank, as a single edit.
    3. When the answer is lost on the way back (timeout, dropped connection) the edit may
       have been applied: go back to 1 rather than send it again blindly.
    """
    if not statement_id.startswith(mediainfo_id(pageid) + "$"):
        raise ValueError(f"{statement_id} is not a statement id of {mediainfo_id(pageid)}")
    claim = depicts_claim(statement_id=statement_id, qid=qid, region=region)
    params = _edit_params("wbsetclaim", summary, tags, claim=json.dumps(claim))
    for attempt in range(AMBIGUOUS_WRITE_ATTEMPTS):
        if statement_exists(client, pageid=pageid, statement_id=statement_id):
            # Found after a lost answer: it was this call's own edit that got through.
            return WriteResult(statement_id=statement_id, created=attempt > 0)
        try:
            response = client.write(params)
        except WriteOutcomeUnknown:
            if attempt + 1 == AMBIGUOUS_WRITE_ATTEMPTS:
                raise
            logger.warning("no answer to the write of %s; checking Commons", statement_id)
            continue
        return WriteResult(statement_id=statement_id, created=True, revision=_revision(response))
    raise AssertionError("unreachable")


def remove_claims(
    client: ApiClient,
    *,
    pageid: int,
    statement_ids: Sequence[str],
    summary: str,
    tags: Sequence[str] = (),
) -> list[str]:
    """Remove the given statements of one file with ``wbremoveclaims``.

    Returns the ids that were still there to remove; those already gone are left alone, so
    a retried removal is not an error.
    """
    targets = present = _still_present(client, pageid, statement_ids)
    for attempt in range(AMBIGUOUS_WRITE_ATTEMPTS):
        if not present:
            return targets
        params = _edit_params("wbremoveclaims", summary, tags, claim="|".join(present))
        try:
            client.write(params)
        except WriteOutcomeUnknown:
            if attempt + 1 == AMBIGUOUS_WRITE_ATTEMPTS:
                raise
            present = _still_present(client, pageid, present)
            continue
        return targets
    raise AssertionError("unreachable")


def depicts_claim(*, statement_id: str, qid: str, region: Region | None) -> dict[str, Any]:
    """The statement JSON ``wbsetclaim`` takes: P180 → ``qid``, rank normal, P2677 if boxed."""
    qid = normalise_qid(qid)
    claim: dict[str, Any] = {
        "id": statement_id,
        "type": "statement",
        "rank": "normal",
        "mainsnak": {
            "snaktype": "value",
            "property": DEPICTS,
            "datavalue": {
                "type": "wikibase-entityid",
                "value": {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid},
            },
        },
    }
    if region is not None:
        snak = {
            "snaktype": "value",
            "property": RELATIVE_POSITION,
            "datavalue": {"type": "string", "value": pct_region(region)},
        }
        claim["qualifiers"] = {RELATIVE_POSITION: [snak]}
        claim["qualifiers-order"] = [RELATIVE_POSITION]
    return claim


def pct_region(region: Region) -> str:
    """A box in fractions of the full image (x, y, w, h) as IIIF ``pct:x,y,w,h``.

    Percent of the full image rather than pixels, so the value holds for every rendering.
    Two decimals are a tenth of a pixel on a 20-megapixel photo.
    """
    x, y, w, h = region
    inside = x >= 0 and y >= 0 and x + w <= 1.0001 and y + h <= 1.0001  # float slack
    if not (w > 0 and h > 0 and inside):
        raise ValueError(f"{region} is not a box inside the image (fractions 0..1)")
    return "pct:" + ",".join(_percent(value) for value in (x, y, w, h))


def region_fractions(region: str) -> Region | None:
    """``pct:x,y,w,h`` back to fractions of the full image; "" is no region."""
    if not region:
        return None
    if not region.startswith("pct:"):
        raise ValueError(f"{region!r} is not a pct: region")
    values = [float(value) / 100 for value in region[len("pct:") :].split(",")]
    if len(values) != 4:
        raise ValueError(f"{region!r} does not have four values")
    return (values[0], values[1], values[2], values[3])


def _percent(fraction: float) -> str:
    text = f"{min(fraction, 1.0) * 100:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_entities(
    response: ApiResponse, *, skip_missing: bool = False
) -> dict[int, list[Statement]]:
    """Statements by page id from a ``wbgetentities`` answer on M-ids."""
    result: dict[int, list[Statement]] = {}
    for key, entity in response.get("entities", {}).items():
        entity_id = str(entity.get("id", key))
        if not entity_id.startswith("M") or not entity_id[1:].isdigit():
            continue
        if skip_missing and "missing" in entity:
            continue
        result[int(entity_id[1:])] = list(parse_statements(entity))
    return result


def parse_statements(entity: Mapping[str, Any]) -> Iterator[Statement]:
    if "missing" in entity:
        return
    groups = entity.get("statements", entity.get("claims")) or {}
    if not isinstance(groups, Mapping):  # [] for an empty set (T222159)
        return
    for prop, statements in groups.items():
        for statement in statements:
            yield _statement(str(prop), statement)


def _statement(prop: str, statement: Mapping[str, Any]) -> Statement:
    value = statement.get("mainsnak", {}).get("datavalue", {}).get("value")
    qid = value.get("id") if isinstance(value, Mapping) else None
    return Statement(
        id=str(statement["id"]),
        property=prop,
        qid=str(qid) if qid else None,
        rank=str(statement.get("rank", "normal")),
        region=_region(statement.get("qualifiers") or {}),
    )


def _region(qualifiers: Mapping[str, Any]) -> str | None:
    for snak in qualifiers.get(RELATIVE_POSITION, []) if isinstance(qualifiers, Mapping) else []:
        value = snak.get("datavalue", {}).get("value")
        if isinstance(value, str):
            return value
    return None


def _still_present(client: ApiClient, pageid: int, statement_ids: Sequence[str]) -> list[str]:
    statements = fetch_statements(client, pageids=[pageid])[pageid]
    existing = {statement.id.casefold() for statement in statements}
    return [sid for sid in statement_ids if sid.casefold() in existing]


def _edit_params(action: str, summary: str, tags: Sequence[str], **extra: str) -> dict[str, str]:
    params = {"action": action, "summary": summary, **extra}
    if tags:
        params["tags"] = "|".join(tags)
    return params


def _revision(response: ApiResponse) -> int | None:
    revision = response.get("pageinfo", {}).get("lastrevid")
    return int(revision) if revision is not None else None
