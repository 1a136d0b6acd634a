"""Bootstrap search: files already said to depict a person, through CirrusSearch.

``haswbstatement:P180=<Q-id>`` in the File namespace needs no login, unlike the Commons
Query Service (its cookie must be copied out of a browser). The search index lags edits a
little, so callers re-check hits with ``wbgetentities`` before relying on them.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from commons.client import ApiClient, ApiResponse, Params
from commons.identifiers import normalise_qid
from commons.types import FILE_NAMESPACE, SearchHit

HITS_PER_REQUEST = 500  # srlimit's ceiling without apihighlimits


def search_depicting(
    client: ApiClient, *, qid: str, limit: int | None = None
) -> Iterator[SearchHit]:
    """Files whose structured data says they depict ``qid``: all, or the first ``limit``.

    With a limit, no page of hits past it is asked for.
    """
    if limit is not None and limit <= 0:
        return
    params: Params = {
        "action": "query",
        "list": "search",
        "srsearch": f"haswbstatement:P180={normalise_qid(qid)}",
        "srnamespace": FILE_NAMESPACE,
        "srlimit": min(HITS_PER_REQUEST, limit or HITS_PER_REQUEST),
        # Only ids and titles are needed: skip snippets and sizes.
        "srprop": "",
    }
    hits = (hit for response in client.iter_continued(params) for hit in parse_hits(response))
    yield from islice(hits, limit)


def parse_hits(response: ApiResponse) -> list[SearchHit]:
    hits = response.get("query", {}).get("search", [])
    return [SearchHit(pageid=int(hit["pageid"]), title=str(hit["title"])) for hit in hits]
