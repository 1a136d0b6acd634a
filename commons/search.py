"""Bootstrap search: files already said to depict a person, through CirrusSearch.

``haswbstatement:P180=<Q-id>`` in the File namespace needs no login, unlike the Commons
Query Service (its cookie must be copied out of a browser). The search index lags edits a
little, so callers re-check hits with ``wbgetentities`` before relying on them.
"""

from __future__ import annotations

from collections.abc import Iterator

from commons.client import ApiClient, ApiResponse, Params
from commons.identifiers import normalise_qid
from commons.types import FILE_NAMESPACE, SearchHit

HITS_PER_REQUEST = 500  # srlimit's ceiling without apihighlimits


def search_depicting(client: ApiClient, *, qid: str) -> Iterator[SearchHit]:
    """Every file whose structured data says it depicts ``qid``."""
    params: Params = {
        "action": "query",
        "list": "search",
        "srsearch": f"haswbstatement:P180={normalise_qid(qid)}",
        "srnamespace": FILE_NAMESPACE,
        "srlimit": HITS_PER_REQUEST,
        # Only ids and titles are needed: skip snippets and sizes.
        "srprop": "",
    }
    for response in client.iter_continued(params):
        yield from parse_hits(response)


def parse_hits(response: ApiResponse) -> list[SearchHit]:
    hits = response.get("query", {}).get("search", [])
    return [SearchHit(pageid=int(hit["pageid"]), title=str(hit["title"])) for hit in hits]
