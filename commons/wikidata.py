"""Wikidata look-ups: who a Q-id is, the labels of many, and a person search for autocompletion."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from commons.client import ApiClient, ApiResponse, CommonsRefused
from commons.identifiers import QID_RE, normalise_qid
from commons.types import Person, PersonHit

HUMAN = "Q5"
INSTANCE_OF = "P31"
IMAGE = "P18"
# "mul" holds the labels Wikidata now keeps once for all languages; English is the last resort.
FALLBACK_LANGUAGES = ("mul", "en")
MAX_SEARCH_RESULTS = 50
# wbgetentities takes at most 50 ids per request (500 with apihighlimits, which a tool has not).
MAX_IDS_PER_REQUEST = 50


class PersonNotFound(CommonsRefused):
    """The item does not exist or was deleted."""

    def __init__(self, qid: str) -> None:
        super().__init__("missing", f"{qid} does not exist on Wikidata")
        self.qid = qid


def get_person(client: ApiClient, *, qid: str, languages: Sequence[str]) -> Person:
    """The item ``qid``, following a redirect, with its label in the first of ``languages``.

    The id is validated first: a malformed one would abort the call (``no-such-entity``).
    Raises PersonNotFound for a missing or deleted item.
    """
    qid = normalise_qid(qid)
    person = get_people(client, qids=[qid], languages=languages)[qid]
    if person is None:
        raise PersonNotFound(qid)
    return person


def get_people(
    client: ApiClient, *, qids: Sequence[str], languages: Sequence[str]
) -> dict[str, Person | None]:
    """Each of ``qids`` as :func:`get_person` reads one (:func:`parse_person`), 50 ids per
    request: ``{qid: person}``, keyed by the id asked for (normalised; a redirect followed
    answers under it), None for an item that is missing or deleted. The ids are validated
    first: one malformed id would abort the whole request (``no-such-entity``)."""
    ids = list(dict.fromkeys(normalise_qid(qid) for qid in qids))
    wanted = label_languages(languages)
    people: dict[str, Person | None] = {}
    batches = _entities(client, ids, props="labels|descriptions|claims", languages=wanted)
    for batch, response in batches:
        for qid in batch:
            try:
                people[qid] = parse_person(response, qid=qid, languages=wanted)
            except PersonNotFound:
                people[qid] = None
    return people


def get_labels(
    client: ApiClient, *, qids: Sequence[str], languages: Sequence[str]
) -> dict[str, dict[str, str]]:
    """The labels of many items, ``{qid: {language: label}}``, 50 ids per request.

    Each item's labels are keyed by the id asked for (a redirect answers under it with its
    target's labels), in ``languages`` and the fallbacks (``label_languages``). An item that
    is missing or deleted, or has no label in these languages, is left out. A malformed id
    would abort its whole request (``no-such-entity``), so ids are validated first.
    """
    ids = list(dict.fromkeys(normalise_qid(qid) for qid in qids))
    wanted = label_languages(languages)
    labels: dict[str, dict[str, str]] = {}
    for batch, response in _entities(client, ids, props="labels", languages=wanted):
        labels.update(parse_labels(response, qids=batch, languages=wanted))
    return labels


def _entities(
    client: ApiClient, ids: Sequence[str], *, props: str, languages: Sequence[str]
) -> Iterator[tuple[Sequence[str], ApiResponse]]:
    """``wbgetentities`` over valid ids, 50 a request: each batch of ids with its answer."""
    for start in range(0, len(ids), MAX_IDS_PER_REQUEST):
        batch = ids[start : start + MAX_IDS_PER_REQUEST]
        response = client.get(
            {
                "action": "wbgetentities",
                "ids": "|".join(batch),
                "props": props,
                "languages": "|".join(languages),
                "languagefallback": 1,
            }
        )
        yield batch, response


def parse_labels(
    response: ApiResponse, *, qids: Sequence[str], languages: Sequence[str]
) -> dict[str, dict[str, str]]:
    entities = response.get("entities", {})
    labels = {}
    for qid in qids:
        entity = entities.get(qid) if isinstance(entities, Mapping) else None
        if not isinstance(entity, Mapping) or "missing" in entity:
            continue
        terms = all_terms(entity.get("labels"), languages)
        if terms:
            labels[qid] = terms
    return labels


def search_people(
    client: ApiClient, *, text: str, language: str, limit: int = 10
) -> list[PersonHit]:
    """Items matching ``text`` in ``language``, best first.

    ``wbsearchentities`` cannot filter on P31, so non-humans come back too; the chosen
    item is checked with :func:`get_person`.
    """
    if not text.strip():
        return []
    response = client.get(
        {
            "action": "wbsearchentities",
            "search": text.strip(),
            "language": language,
            "uselang": language,
            "type": "item",
            "limit": max(1, min(limit, MAX_SEARCH_RESULTS)),
        }
    )
    return parse_search(response)


def humans_among(
    client: ApiClient, *, qids: Sequence[str], languages: Sequence[str]
) -> dict[str, str]:
    """Which of ``qids`` are humans (P31 Q5), with their label (the id when they have none),
    in the order given; 50 ids per request. Redirects answer under the id asked for; missing
    and malformed ids are left out."""
    ids = list(dict.fromkeys(qid.strip().upper() for qid in qids))
    ids = [qid for qid in ids if QID_RE.match(qid)]
    wanted = label_languages(languages)
    humans: dict[str, str] = {}
    for batch, response in _entities(client, ids, props="labels|claims", languages=wanted):
        entities = response.get("entities") or {}
        for qid in batch:
            entity = entities.get(qid)
            if not isinstance(entity, Mapping) or "missing" in entity:
                continue
            claims = entity.get("claims") or {}
            if HUMAN in item_values(claims.get(INSTANCE_OF, [])):
                humans[qid] = pick_term(entity.get("labels"), wanted)[0] or qid
    return humans


def label_languages(languages: Iterable[str]) -> list[str]:
    """The user's languages, then the fallbacks, each once, in order."""
    return list(dict.fromkeys([*languages, *FALLBACK_LANGUAGES]))


def parse_person(response: ApiResponse, *, qid: str, languages: Sequence[str]) -> Person:
    entities = response.get("entities") or {}
    # A redirect comes back under the id that was asked for, with the target's own "id".
    entity = entities.get(qid) if isinstance(entities, Mapping) else None
    if not isinstance(entity, Mapping) or "missing" in entity:
        raise PersonNotFound(qid)
    label, label_language = pick_term(entity.get("labels"), languages)
    description, _ = pick_term(entity.get("descriptions"), languages)
    claims = entity.get("claims") or {}
    target = str(entity.get("id", qid))
    return Person(
        qid=target,
        label=label,
        label_language=label_language,
        description=description,
        is_human=HUMAN in item_values(claims.get(INSTANCE_OF, [])),
        image=first_string(claims.get(IMAGE, [])),
        redirected_from=qid if target != qid else None,
        labels=all_terms(entity.get("labels"), languages),
    )


def parse_search(response: ApiResponse) -> list[PersonHit]:
    return [
        PersonHit(
            qid=str(hit["id"]),
            label=str(hit.get("label") or hit["id"]),
            description=str(hit.get("description", "")),
        )
        for hit in response.get("search", [])
    ]


def pick_term(
    terms: Mapping[str, Any] | None, languages: Sequence[str]
) -> tuple[str | None, str | None]:
    """The value in the first language that has one, else in any language."""
    if not terms or not isinstance(terms, Mapping):
        return None, None
    for language in [*languages, *sorted(terms)]:
        term = terms.get(language)
        if term and term.get("value"):
            # With languagefallback the term names the language it really is in.
            return str(term["value"]), str(term.get("language", language))
    return None, None


def all_terms(terms: Mapping[str, Any] | None, languages: Sequence[str]) -> dict[str, str]:
    """Language → value for every requested language that has a value (maybe a fallback)."""
    if not terms or not isinstance(terms, Mapping):
        return {}
    return {
        language: str(terms[language]["value"])
        for language in languages
        if isinstance(terms.get(language), Mapping) and terms[language].get("value")
    }


def item_values(statements: Iterable[Mapping[str, Any]]) -> set[str]:
    """The item ids of the non-deprecated statements of one property."""
    values = set()
    for statement in _usable(statements):
        value = statement.get("mainsnak", {}).get("datavalue", {}).get("value")
        if isinstance(value, Mapping) and value.get("id"):
            values.add(str(value["id"]))
    return values


def first_string(statements: Iterable[Mapping[str, Any]]) -> str | None:
    """The string value of the best-ranked statement (P18 file names are bare, no ``File:``)."""
    ranked = sorted(_usable(statements), key=lambda s: s.get("rank") != "preferred")
    for statement in ranked:
        value = statement.get("mainsnak", {}).get("datavalue", {}).get("value")
        if isinstance(value, str) and value:
            return value
    return None


def _usable(statements: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [s for s in statements if s.get("rank") != "deprecated"]
