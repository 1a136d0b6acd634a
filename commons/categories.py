"""Category crawl: every bitmap file under a category, resumable between batches."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from commons.client import ApiClient, ApiResponse, CommonsError
from commons.files import file_kind, query_pages
from commons.identifiers import normalise_category
from commons.types import CategoryMember, CrawlBatch, CrawlCursor

CATEGORY_PREFIX = "Category:"
MEMBERS_PER_REQUEST = 500  # cmlimit's ceiling without apihighlimits


def start_crawl(category: str, *, max_depth: int) -> CrawlCursor:
    """The cursor of a crawl that has not begun: ``max_depth`` 0 lists ``category`` alone."""
    if max_depth < 0:
        raise ValueError("max_depth cannot be negative")
    title = CATEGORY_PREFIX + normalise_category(category)
    return CrawlCursor(
        root=title, max_depth=max_depth, queue=((title, 0),), visited=frozenset({title})
    )


def crawl(
    client: ApiClient, *, cursor: CrawlCursor, withheld: Collection[str] = frozenset()
) -> Iterator[CrawlBatch]:
    """Batches of bitmap files, one per API answer, from where ``cursor`` stands.

    ``withheld`` names categories (without namespace) never listed nor descended into: a
    file or subcategory reached only through one of them is not met.

    1. List the head of the queue with ``cmtype=file|subcat``, continuing from the stored
       ``continue`` object.
    2. Keep bitmap files, count the others by kind, queue subcategories not yet visited
       while their depth stays within ``max_depth``.
    3. Yield the files with the cursor as it stands after them. Store that cursor only once
       the files are saved: resuming from it neither loses nor repeats a file.
    4. When the category's listing ends, drop it from the queue and go on with the next.
    """
    state = _CrawlState.from_cursor(cursor)
    state.withheld = {CATEGORY_PREFIX + normalise_category(name) for name in withheld}
    while state.queue:
        category, depth = state.queue[0]
        if category in state.withheld:
            # Withheld after this cursor queued it: drop it unlisted.
            state.continuation = None
            state.queue.pop(0)
            continue
        for response in client.iter_continued(_listing(category), start=state.continuation):
            files = state.take(response, depth)
            yield CrawlBatch(
                category=category,
                files=files,
                skipped=dict(state.batch_skipped),
                cursor=state.to_cursor(),
            )


def parse_members(response: ApiResponse) -> list[CategoryMember]:
    members = response.get("query", {}).get("categorymembers", [])
    return [
        CategoryMember(pageid=int(m["pageid"]), ns=int(m["ns"]), title=str(m["title"]))
        for m in members
    ]


def _listing(category: str) -> dict[str, str | int]:
    return {
        "action": "query",
        "list": "categorymembers",
        "cmtitle": category,
        # cmtype rather than cmnamespace: under miser mode a namespace filter may return
        # fewer members than cmlimit, even none, before the listing ends.
        "cmtype": "file|subcat",
        "cmlimit": MEMBERS_PER_REQUEST,
    }


@dataclass
class _CrawlState:
    """The mutable twin of a CrawlCursor while a crawl runs."""

    root: str
    max_depth: int
    queue: list[tuple[str, int]]
    visited: set[str]
    continuation: dict[str, str] | None
    skipped: Counter[str]
    batch_skipped: Counter[str] = field(default_factory=Counter)
    withheld: set[str] = field(default_factory=set)

    @classmethod
    def from_cursor(cls, cursor: CrawlCursor) -> _CrawlState:
        return cls(
            root=cursor.root,
            max_depth=cursor.max_depth,
            queue=list(cursor.queue),
            visited=set(cursor.visited),
            continuation=dict(cursor.continuation) if cursor.continuation else None,
            skipped=Counter(cursor.skipped),
        )

    def to_cursor(self) -> CrawlCursor:
        return CrawlCursor(
            root=self.root,
            max_depth=self.max_depth,
            queue=tuple(self.queue),
            visited=frozenset(self.visited),
            continuation=dict(self.continuation) if self.continuation else None,
            skipped=dict(self.skipped),
        )

    def take(self, response: ApiResponse, depth: int) -> tuple[CategoryMember, ...]:
        """Absorb one answer for the head category; return its bitmap files."""
        members = parse_members(response)
        self._queue_subcategories(members, depth + 1)
        files = self._keep_bitmaps(m for m in members if m.is_file)
        self._advance(response.get("continue"))
        return files

    def _queue_subcategories(self, members: list[CategoryMember], depth: int) -> None:
        if depth > self.max_depth:
            return
        for member in members:
            if not member.is_category or member.title in self.withheld:
                continue
            if member.title not in self.visited:
                self.visited.add(member.title)
                self.queue.append((member.title, depth))

    def _keep_bitmaps(self, files: Iterator[CategoryMember]) -> tuple[CategoryMember, ...]:
        kept = []
        self.batch_skipped = Counter()
        for member in files:
            kind = file_kind(member.title)
            if kind == "bitmap":
                kept.append(member)
            else:
                self.batch_skipped[kind] += 1
        self.skipped.update(self.batch_skipped)
        return tuple(kept)

    def _advance(self, continuation: dict[str, Any] | None) -> None:
        if continuation:
            self.continuation = {key: str(value) for key, value in continuation.items()}
        else:
            self.continuation = None
            self.queue.pop(0)


@dataclass(frozen=True)
class CategoryInfo:
    title: str
    exists: bool
    files: int | None  # None: Commons did not say
    subcats: int | None


def category_info(client: ApiClient, *, category: str) -> CategoryInfo:
    """One ``prop=categoryinfo`` read.

    A category with members exists even when its description page does not (MediaWiki then
    says ``missing`` and still gives the counts); one without either does not exist.
    """
    name = normalise_category(category)
    response = client.get({"action": "query", "prop": "categoryinfo", "titles": f"Category:{name}"})
    pages = (response.get("query") or {}).get("pages") or []
    page = pages[0] if pages else {}
    described = bool(page) and not page.get("missing") and not page.get("invalid")
    info = page.get("categoryinfo")
    if not isinstance(info, Mapping):
        return CategoryInfo(title=name, exists=described, files=None, subcats=None)
    return CategoryInfo(
        title=name,
        exists=described or int(info.get("size") or 0) > 0,
        files=int(info.get("files") or 0),
        subcats=int(info.get("subcats") or 0),
    )


@dataclass(frozen=True)
class FileEstimate:
    """About how many files a crawl of ``root`` to ``max_depth`` would meet.

    ``files`` adds up each category's own file count, so a file filed in two of them counts
    twice, and non-images count too: an estimate, not a promise. ``complete`` is False when
    the budget ran out (or Commons stopped answering) before every category was counted:
    then there are more than ``files``.
    """

    root: CategoryInfo
    max_depth: int
    files: int
    categories: int
    complete: bool


def estimate_files(
    client: ApiClient,
    *,
    category: str,
    max_depth: int,
    max_requests: int = 6,
    budget_seconds: float = 3.0,
    clock: Callable[[], float] = time.monotonic,
) -> FileEstimate:
    """Count the files under ``category`` to ``max_depth``, within a budget.

    1. ``prop=categoryinfo`` on the root: whether it exists, its own files and subcats.
    2. Breadth first, each category with subcategories left within the depth: one
       ``generator=categorymembers&gcmtype=subcat&prop=categoryinfo`` answer lists its
       subcategories together with their own counts, so a level costs one request per
       parent, not one per child. Categories are counted once (cycles exist).
    3. Stop when the tree is counted, or at ``max_requests`` requests or ``budget_seconds``,
       or when Commons fails after the root: the estimate is then a lower bound.
    Errors on the root request reach the caller (the category cannot be checked at all).
    """
    deadline = clock() + budget_seconds
    root = category_info(client, category=category)
    files = root.files or 0
    seen = {root.title}
    queue = [(root.title, 0)] if root.subcats and max_depth > 0 else []
    requests = 1
    try:
        while queue and requests < max_requests and clock() < deadline:
            name, depth = queue.pop(0)
            for response in client.iter_continued(_subcategory_counts(name)):
                requests += 1
                for title, info in _counted_subcategories(response):
                    if title in seen:
                        continue
                    seen.add(title)
                    files += int(info.get("files") or 0)
                    if info.get("subcats") and depth + 1 < max_depth:
                        queue.append((title, depth + 1))
                if "continue" in response and (requests >= max_requests or clock() >= deadline):
                    queue.insert(0, (name, depth))  # not listed to its end: not complete
                    break
    except CommonsError:
        queue = queue or [(root.title, 0)]
    return FileEstimate(
        root=root, max_depth=max_depth, files=files, categories=len(seen), complete=not queue
    )


def _subcategory_counts(name: str) -> dict[str, str | int]:
    return {
        "action": "query",
        "generator": "categorymembers",
        "gcmtitle": CATEGORY_PREFIX + name,
        "gcmtype": "subcat",
        "gcmlimit": MEMBERS_PER_REQUEST,
        "prop": "categoryinfo",
    }


def _counted_subcategories(response: ApiResponse) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(name without namespace, categoryinfo) of each subcategory page of an answer."""
    for page in query_pages(response):
        info = page.get("categoryinfo")
        title = str(page.get("title", ""))
        if isinstance(info, Mapping) and title.startswith(CATEGORY_PREFIX):
            yield title[len(CATEGORY_PREFIX) :], info


PAGES_PER_REQUEST = 50  # pageids= takes 50 values without apihighlimits


def file_categories(client: ApiClient, *, pageids: Sequence[int]) -> dict[int, frozenset[str]]:
    """The categories (names without namespace, hidden ones too) each of these pages is
    directly in now; a page in none, or missing, is left out. ``prop=categories``, 50 pages
    a request, continued until every page's list is whole."""
    found: dict[int, set[str]] = {}
    for start in range(0, len(pageids), PAGES_PER_REQUEST):
        chunk = "|".join(str(int(pageid)) for pageid in pageids[start : start + PAGES_PER_REQUEST])
        params = {"action": "query", "prop": "categories", "pageids": chunk, "cllimit": "max"}
        for response in client.iter_continued(params):
            for page in query_pages(response):
                names = {
                    str(c.get("title", "")).removeprefix(CATEGORY_PREFIX)
                    for c in page.get("categories") or []
                }
                if names and page.get("pageid"):
                    found.setdefault(int(page["pageid"]), set()).update(names)
    return {pageid: frozenset(names) for pageid, names in found.items()}
