"""Wikibase JSON as Commons (MediaInfo) and Wikidata (items) serialise it.

Shapes follow ../shared/data/real-api/04-*.json and 06-*.json: MediaInfo carries
``statements`` (``[]`` when empty, no ``datatype`` in snaks), items carry ``claims`` with
``datatype``; snaks have a ``hash``; a redirect is returned under the requested id with the
target's ``id`` and ``"redirects": {"from", "to"}``; a missing entity is
``{"id", "missing": ""}`` in every formatversion.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

ITEM_ID = re.compile(r"^Q[1-9][0-9]*$")
PROPERTY_ID = re.compile(r"^P[1-9][0-9]*$")
MEDIAINFO_ID = re.compile(r"^M[1-9][0-9]*$")
ENTITY_ID = re.compile(r"^[QPLM][1-9][0-9]*$")
# Entity prefix as stored (old statements have a lower-case one), "$", then a UUID.
GUID = re.compile(
    r"^([QqPpMm][1-9][0-9]*)\$"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
RANKS = ("preferred", "normal", "deprecated")

# The properties WikiVisage touches, with their Wikidata datatypes and labels.
PROPERTIES: dict[str, tuple[str, str]] = {
    "P31": ("wikibase-item", "instance of"),
    "P18": ("commonsMedia", "image"),
    "P180": ("wikibase-item", "depicts"),
    "P2677": ("string", "relative position within image"),
    "P1163": ("string", "MIME type"),
}
VALUE_TYPE_BY_DATATYPE = {
    "wikibase-item": "wikibase-entityid",
    "commonsMedia": "string",
    "string": "string",
}
# Language fallback chains (Wikibase ends every chain with "mul", then English).
FALLBACKS: dict[str, tuple[str, ...]] = {
    "nb": ("nn",),
    "nn": ("nb",),
    "no": ("nb", "nn"),
    "es": (),
    "fr": (),
}


class ClaimError(ValueError):
    """A statement sent to wbsetclaim that Wikibase would refuse; ``code`` is the API's."""

    def __init__(self, code: str, info: str) -> None:
        super().__init__(info)
        self.code = code
        self.info = info


def snak_hash(snak: Mapping[str, Any]) -> str:
    basis = {k: snak.get(k) for k in ("snaktype", "property", "datavalue")}
    return hashlib.sha1(json.dumps(basis, sort_keys=True).encode()).hexdigest()


def item_value(qid: str) -> dict[str, Any]:
    return {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}


def value_snak(prop: str, datavalue: dict[str, Any], *, datatype: bool) -> dict[str, Any]:
    snak: dict[str, Any] = {"snaktype": "value", "property": prop}
    snak["hash"] = snak_hash({**snak, "datavalue": datavalue})
    snak["datavalue"] = datavalue
    if datatype:
        snak["datatype"] = PROPERTIES.get(prop, ("string", ""))[0]
    return snak


def depicts_statement(mid: str, entry: str | Mapping[str, Any]) -> dict[str, Any]:
    """The P180 statement a world file's ``depicts`` entry stands for (stable id)."""
    spec = {"item": entry} if isinstance(entry, str) else dict(entry)
    qid = str(spec["item"])
    raw: dict[str, Any] = {
        "mainsnak": {
            "snaktype": "value",
            "property": "P180",
            "datavalue": {"value": item_value(qid), "type": "wikibase-entityid"},
        },
        "type": "statement",
        "id": str(spec.get("id") or stable_guid(mid, f"P180={qid}")),
        "rank": str(spec.get("rank", "normal")),
    }
    if spec.get("region"):
        region = {"value": str(spec["region"]), "type": "string"}
        raw["qualifiers"] = {
            "P2677": [{"snaktype": "value", "property": "P2677", "datavalue": region}]
        }
    return normalise_statement(raw, entity_id=mid)


def stable_guid(entity_id: str, seed: str) -> str:
    """A statement id that is the same every time the world is loaded."""
    digest = hashlib.sha1(f"{entity_id}|{seed}".encode()).digest()[:16]
    return f"{entity_id}${uuid.UUID(bytes=digest)}"


def statement_matches(statement: Mapping[str, Any], prop: str, value: str) -> bool:
    """Whether a statement is ``prop`` = ``value`` (an item id or a plain string)."""
    snak = statement["mainsnak"]
    if snak["property"] != prop or snak.get("snaktype") != "value":
        return False
    datavalue = snak["datavalue"]["value"]
    found = datavalue.get("id") if isinstance(datavalue, dict) else datavalue
    return str(found) == value


# --- statements sent by clients -----------------------------------------------------------


def parse_claim(text: str) -> dict[str, Any]:
    try:
        claim = json.loads(text)
    except ValueError as error:
        raise ClaimError("invalid-claim", f"Could not decode the claim JSON: {error}") from None
    if not isinstance(claim, dict):
        raise ClaimError("invalid-claim", "The claim must be a JSON object.")
    return claim


def entity_of_guid(guid: str) -> str:
    match = GUID.match(guid)
    if not match:
        raise ClaimError("invalid-guid", f"Invalid claim guid {guid!r}.")
    return match.group(1).upper()


def normalise_statement(claim: Mapping[str, Any], *, entity_id: str) -> dict[str, Any]:
    """The statement as Wikibase stores and returns it; raises ClaimError when invalid.

    Snaks get their ``hash``, item values both ``numeric-id`` and ``id``, qualifiers their
    ``qualifiers-order``; ``datatype`` is dropped (MediaInfo serialises none).
    """
    rank = claim.get("rank", "normal")
    if rank not in RANKS:
        raise ClaimError("invalid-claim", f"Unknown rank {rank!r}.")
    if claim.get("type", "statement") != "statement":
        raise ClaimError("invalid-claim", "Only statements can be set.")
    statement: dict[str, Any] = {"mainsnak": _snak(claim.get("mainsnak")), "type": "statement"}
    qualifiers = claim.get("qualifiers") or {}
    if qualifiers:
        statement["qualifiers"] = _qualifiers(qualifiers)
        statement["qualifiers-order"] = list(statement["qualifiers"])
    statement["id"] = str(claim["id"])
    statement["rank"] = rank
    if claim.get("references"):
        statement["references"] = claim["references"]
    return statement


def _qualifiers(qualifiers: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(qualifiers, Mapping):
        raise ClaimError("invalid-claim", "qualifiers must map property ids to snak lists.")
    result: dict[str, list[dict[str, Any]]] = {}
    for prop, snaks in qualifiers.items():
        if not isinstance(snaks, list):
            raise ClaimError("invalid-claim", f"qualifiers of {prop} must be a list.")
        result[str(prop)] = [_snak(snak) for snak in snaks]
    return result


def _snak(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ClaimError("invalid-claim", "A snak must be a JSON object.")
    prop, snaktype = str(raw.get("property", "")), raw.get("snaktype")
    if not PROPERTY_ID.match(prop):
        raise ClaimError("invalid-snak", f"Invalid property id {prop!r}.")
    if snaktype in ("somevalue", "novalue"):
        snak = {"snaktype": snaktype, "property": prop}
        return {**snak, "hash": snak_hash(snak)}
    if snaktype != "value":
        raise ClaimError("invalid-snak", f"Unknown snak type {snaktype!r}.")
    return value_snak(prop, _datavalue(prop, raw.get("datavalue")), datatype=False)


def _datavalue(prop: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or "value" not in raw or "type" not in raw:
        raise ClaimError("invalid-snak", f"The value of {prop} needs 'value' and 'type'.")
    expected = VALUE_TYPE_BY_DATATYPE.get(PROPERTIES.get(prop, ("", ""))[0])
    if expected is not None and raw["type"] != expected:
        raise ClaimError("invalid-snak", f"{prop} takes a {expected} value, not {raw['type']}.")
    if raw["type"] == "wikibase-entityid":
        return {"value": _entity_value(raw["value"]), "type": "wikibase-entityid"}
    if raw["type"] == "string" and not isinstance(raw["value"], str):
        raise ClaimError("invalid-snak", f"The value of {prop} must be a string.")
    return {"value": raw["value"], "type": raw["type"]}


def _entity_value(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ClaimError("invalid-snak", "An item value must be a JSON object.")
    qid = raw.get("id") or (f"Q{raw['numeric-id']}" if "numeric-id" in raw else "")
    if not ITEM_ID.match(str(qid)):
        raise ClaimError("invalid-snak", f"Invalid item id {qid!r}.")
    if "numeric-id" in raw and f"Q{raw['numeric-id']}" != qid:
        raise ClaimError("invalid-snak", "numeric-id and id disagree.")
    return item_value(str(qid))


def value_from_param(prop: str, text: str) -> dict[str, Any]:
    """The datavalue of wbcreateclaim's ``value`` parameter (JSON) for property ``prop``."""
    try:
        raw = json.loads(text)
    except ValueError:
        raise ClaimError("invalid-snak", "Could not decode the value JSON.") from None
    datatype = PROPERTIES.get(prop, ("string", ""))[0]
    value_type = VALUE_TYPE_BY_DATATYPE.get(datatype, "string")
    return _datavalue(prop, {"value": raw, "type": value_type})


# --- entities as read ---------------------------------------------------------------------


def missing_entity(entity_id: str) -> dict[str, Any]:
    return {"id": entity_id, "missing": ""}


def terms(
    values: Mapping[str, str], languages: Sequence[str] | None, *, fallback: bool
) -> dict[str, dict[str, str]]:
    """Labels or descriptions, filtered to ``languages``, with fallback when asked."""
    if languages is None:
        return {lang: {"language": lang, "value": text} for lang, text in values.items()}
    result: dict[str, dict[str, str]] = {}
    for lang in languages:
        if lang in values:
            result[lang] = {"language": lang, "value": values[lang]}
        elif fallback:
            found = _fallback(values, lang)
            if found is not None:
                result[lang] = {"value": values[found], "language": found, "for-language": lang}
    return result


def _fallback(values: Mapping[str, str], lang: str) -> str | None:
    base = lang.split("-")[0]
    chain = [*((base,) if base != lang else ()), *FALLBACKS.get(lang, ()), "mul", "en"]
    return next((candidate for candidate in chain if candidate in values), None)


def aliases(
    values: Mapping[str, Sequence[str]], languages: Sequence[str] | None
) -> dict[str, list[dict[str, str]]]:
    chosen = values if languages is None else {k: v for k, v in values.items() if k in languages}
    return {lang: [{"language": lang, "value": a} for a in texts] for lang, texts in chosen.items()}


def group_by_property(statements: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for statement in statements:
        grouped.setdefault(statement["mainsnak"]["property"], []).append(statement)
    return grouped


def with_datatypes(statement: Mapping[str, Any]) -> dict[str, Any]:
    """A stored statement as Wikidata prints it: ``datatype`` in every snak."""
    result = dict(statement)
    result["mainsnak"] = _typed(statement["mainsnak"])
    if "qualifiers" in statement:
        result["qualifiers"] = {
            prop: [_typed(snak) for snak in snaks]
            for prop, snaks in statement["qualifiers"].items()
        }
    return result


def _typed(snak: Mapping[str, Any]) -> dict[str, Any]:
    return {**snak, "datatype": PROPERTIES.get(snak["property"], ("string", ""))[0]}
