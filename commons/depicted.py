"""Who a category's files already depict: the depicts (P180) statements of its first files,
counted per item, for the new-project page to propose the person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from commons.client import ApiClient
from commons.identifiers import normalise_category
from commons.mediainfo import fetch_depicts

DEPICTED_FILES = 200
"""Files of a category read to propose its people: one listing and four ``wbgetentities``,
a few seconds at most on Commons, inside a web request."""


@dataclass(frozen=True)
class Depicted:
    """``counts``: each depicted item, and on how many of the files read it is.
    ``files`` is how many files were read; ``complete`` whether they are all the category's
    own files (its subcategories are never read)."""

    counts: Counter[str]
    files: int
    complete: bool


def depicted_in_category(
    client: ApiClient, *, category: str, max_files: int = DEPICTED_FILES
) -> Depicted:
    """The items the first ``max_files`` files of ``category`` depict, each counted once a file."""
    response = client.get(
        {
            "action": "query",
            "list": "categorymembers",
            "cmtitle": f"Category:{normalise_category(category)}",
            "cmtype": "file",
            "cmprop": "ids",
            "cmlimit": max_files,
        }
    )
    members = (response.get("query") or {}).get("categorymembers") or []
    pageids = [int(member["pageid"]) for member in members if member.get("pageid")]
    statements = fetch_depicts(client, pageids=pageids)
    counts: Counter[str] = Counter()
    for found in statements.values():
        counts.update({statement.qid for statement in found if statement.qid})
    return Depicted(counts=counts, files=len(pageids), complete="continue" not in response)
