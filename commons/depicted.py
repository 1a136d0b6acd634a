"""Who a category's files already depict: the depicts (P180) statements of its first files,
counted per item, for the new-project page to propose the person."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from commons.client import ApiClient
from commons.identifiers import normalise_category
from commons.mediainfo import IDS_PER_REQUEST, fetch_depicts

DEPICTED_FILES = 200
"""Files of a category read to propose its people: one listing and at most four
``wbgetentities``, inside a web request."""

DEPICTED_SECONDS = 3.0
"""The look-up's budget: no ``wbgetentities`` starts after it (the one under way may run
past it by its own timeout); the files read by then are what is counted."""


@dataclass(frozen=True)
class Depicted:
    """``counts``: each depicted item, and on how many of the files read it is.
    ``files`` is how many files were read; ``complete`` whether they are all the category's
    own files (its subcategories are never read)."""

    counts: Counter[str]
    files: int
    complete: bool


def depicted_in_category(
    client: ApiClient,
    *,
    category: str,
    max_files: int = DEPICTED_FILES,
    budget_seconds: float = DEPICTED_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Depicted:
    """The items the first ``max_files`` files of ``category`` depict, each counted once a
    file, read 50 at a time until the budget runs out (``complete`` is then False)."""
    deadline = clock() + budget_seconds
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
    counts: Counter[str] = Counter()
    read = 0
    while read < len(pageids) and clock() < deadline:
        batch = pageids[read : read + IDS_PER_REQUEST]
        for found in fetch_depicts(client, pageids=batch).values():
            counts.update({statement.qid for statement in found if statement.qid})
        read += len(batch)
    complete = "continue" not in response and read == len(pageids)
    return Depicted(counts=counts, files=read, complete=complete)
