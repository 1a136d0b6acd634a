"""Plain values that leave ``commons/``: API answers never travel further as raw dicts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FILE_NAMESPACE = 6
CATEGORY_NAMESPACE = 14
BITMAP_MIMES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "image/tiff"})


@dataclass(frozen=True)
class CategoryMember:
    """A file or subcategory listed by ``list=categorymembers``."""

    pageid: int
    ns: int
    title: str

    @property
    def is_file(self) -> bool:
        return self.ns == FILE_NAMESPACE

    @property
    def is_category(self) -> bool:
        return self.ns == CATEGORY_NAMESPACE


@dataclass(frozen=True)
class CrawlCursor:
    """Where a category crawl stands, small enough to store as JSON between batches.

    ``queue`` holds the categories still to list as ``(title, depth)``; its head is the one
    being listed, ``continuation`` the API's ``continue`` object inside it (``None``: from its
    start). ``visited`` holds every category ever queued, so loops are listed once.
    ``skipped`` counts the non-bitmap files met so far, by kind.
    """

    root: str
    max_depth: int
    queue: tuple[tuple[str, int], ...]
    visited: frozenset[str]
    continuation: Mapping[str, str] | None = None
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return not self.queue

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "max_depth": self.max_depth,
            "queue": [[title, depth] for title, depth in self.queue],
            "visited": sorted(self.visited),
            "continuation": dict(self.continuation) if self.continuation is not None else None,
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrawlCursor:
        """The inverse of :meth:`to_dict`; raises ValueError on anything else."""
        try:
            continuation = data["continuation"]
            return cls(
                root=str(data["root"]),
                max_depth=int(data["max_depth"]),
                queue=tuple((str(title), int(depth)) for title, depth in data["queue"]),
                visited=frozenset(str(title) for title in data["visited"]),
                continuation=(
                    {str(k): str(v) for k, v in continuation.items()} if continuation else None
                ),
                skipped={str(kind): int(count) for kind, count in data["skipped"].items()},
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a crawl cursor: {error}") from error


@dataclass(frozen=True)
class CrawlBatch:
    """The bitmap files of one API answer, and the cursor to store once they are saved."""

    category: str
    files: tuple[CategoryMember, ...]
    skipped: Mapping[str, int]
    cursor: CrawlCursor


@dataclass(frozen=True)
class FileInfo:
    """``prop=imageinfo`` of one file, with a thumbnail at a standard width."""

    pageid: int
    title: str
    url: str
    description_url: str
    mime: str
    size: int
    width: int
    height: int
    sha1: str
    timestamp: datetime | None
    user: str
    thumb_url: str
    thumb_width: int
    thumb_height: int

    @property
    def is_bitmap(self) -> bool:
        return self.mime in BITMAP_MIMES


@dataclass(frozen=True)
class FileInfoBatch:
    files: tuple[FileInfo, ...]
    missing_pageids: tuple[int, ...]


@dataclass(frozen=True)
class Statement:
    """One statement of a MediaInfo entity; ``qid`` is set for item values only."""

    id: str
    property: str
    qid: str | None
    rank: str
    region: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """What a depicts write did: ``created`` is False when the statement was already there."""

    statement_id: str
    created: bool
    revision: int | None = None


@dataclass(frozen=True)
class SearchHit:
    pageid: int
    title: str


@dataclass(frozen=True)
class ListedFiles:
    """The files one answer of a paged listing named (a search, a user's uploads): the bitmap
    files with their metadata, the others counted by kind, and the ``continue`` object that
    asks for the next answer (None: the listing ended with this one). Store ``continuation``
    only once ``files`` are saved: resuming from it neither loses nor repeats a file."""

    files: tuple[FileInfo, ...]
    skipped: Mapping[str, int]
    continuation: Mapping[str, str] | None


@dataclass(frozen=True)
class UploadEvent:
    """One entry of the upload log: a new file (``upload``) or a new version (``overwrite``);
    ``pageid`` is 0 once the page is gone."""

    logid: int
    title: str
    pageid: int
    action: str
    user: str
    timestamp: datetime
    sha1: str


@dataclass(frozen=True)
class Person:
    """A Wikidata item as the project needs it.

    ``qid`` is the item's own id after any redirect (the one to store); ``redirected_from`` is
    the id that was asked for when it was a redirect.
    """

    qid: str
    label: str | None
    label_language: str | None
    description: str | None
    is_human: bool
    image: str | None
    redirected_from: str | None = None
    # The label in each requested language (after Wikidata's language fallback).
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PersonHit:
    """One ``wbsearchentities`` suggestion."""

    qid: str
    label: str
    description: str


@dataclass(frozen=True)
class FileState:
    """What a writer asks of one file right before writing to it, as Commons has it now:
    whether it still exists, its title, the SHA1 of its current upload, and every category
    it is in (names without namespace, hidden ones too)."""

    pageid: int
    exists: bool
    title: str = ""
    sha1: str = ""
    categories: frozenset[str] = frozenset()
