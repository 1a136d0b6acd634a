"""The world the stand-in serves: files, categories, Wikidata items, users, statements.

A world file is JSON; every path in it is relative to the file (DESIGN.md, "The offline
Commons stand-in")::

    {
      "items": {
        "Q76": {"labels": {"en": "Barack Obama"}, "descriptions": {"en": "..."},
                "aliases": {"en": ["Obama"]}, "P31": ["Q5"], "P18": "Obama portrait.jpg"},
        "Q999": {"redirect": "Q76"},
        "Q13": {"missing": true}
      },
      "categories": {
        "Barack Obama": {"files": ["Obama 1.jpg"], "subcats": ["Barack Obama in 2009"]},
        "Obama portraits": {"files": ["Obama 1.jpg"], "page": false},
        "Tracked files": {"files": ["Pattern.png"], "hidden": true}
      },
      "files": {
        "Obama 1.jpg": {"path": "faces/obama/1.jpg", "depicts": ["Q76"]},
        "Pattern.png": {"generate": {"format": "PNG", "width": 64, "height": 48, "seed": 7}},
        "Broken.jpg": {"generate": {"format": "BROKEN"}, "width": 640, "height": 480},
        "Never edited.jpg": {"path": "x.jpg", "mediainfo": false}
      },
      "redirects": {"Obama one.jpg": "Obama 1.jpg"},
      "users": {"WikiVisage Tester": {"id": 4242, "groups": ["user", "autoconfirmed"]}},
      "change_tags": ["wikivisage"],
      "fixtures": {"free-form": "notes for tests; the server ignores them"}
    }

Names carry no ``File:``/``Category:`` prefix. ``depicts`` entries are Q-ids or
``{"item": "Q76", "region": "pct:10,10,20,30", "rank": "preferred"}``. A file with
``"mediainfo": false`` has no structured data yet (``wbgetentities`` reports it missing until
someone writes to it). ``change_tags`` absent means every tag is accepted. A category with
``"page": false`` has members but no description page (the API calls it missing, yet counts
its members); one with ``"hidden": true`` carries ``__HIDDENCAT__``. ``redirects`` are the
names renamed files leave behind: ``titles=`` with ``redirects`` follows them, as Commons does.
A file's ``user`` and ``timestamp`` are its uploader and upload time (``FakeUploader`` and a
time derived from its page id unless given); each file starts with one entry in the upload
log, and :meth:`World.upload` adds files (or new versions) later, as an upload would. Its
``wikitext`` is the page's source (what ``insource:`` searches); without one, the page reads
as an ``{{Information}}`` template with its captions, uploader and ``[[Category:…]]`` links.

Page ids are derived from titles (stable across worlds), SHA1/size/MIME/dimensions from the
bytes; statements written through the API are kept here, under a lock, for later reads.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fakecommons import media, wikibase

FILE_NS = 6
CATEGORY_NS = 14
DEFAULT_USERNAME = "WikiVisage Tester"
_PAGEID_FLOOR = 1_000_000
_PAGEID_SPAN = 140_000_000
_EPOCH = datetime(2012, 1, 1, tzinfo=UTC)
# Revisions written through the API come after every revision a world starts with.
_FIRST_WRITTEN_REVISION = 2_000_000_000


class WorldError(ValueError):
    """The world file is inconsistent (a category lists a file that does not exist…)."""


def normal_name(name: str) -> str:
    """A page name (without namespace) as MediaWiki stores it: spaces for underscores, runs
    of blanks one, trimmed, first letter in capitals (``$wgCapitalLinks``, on at Commons).

    Every lookup by name goes through it, and the world's own names are stored in this form,
    so ``Obama_1.jpg``, ``obama 1.jpg`` and ``Obama 1.jpg`` are one file everywhere. As
    MediaWiki's title codec, it composes accents (NFC) and strips direction marks.
    """
    text = re.sub("[\u200e\u200f\u202a-\u202e]", "", unicodedata.normalize("NFC", name))
    text = " ".join(text.replace("\u180e", " ").replace("_", " ").split())
    if not text:
        return ""
    first = text[0].upper()
    return (first if len(first) == 1 else text[0]) + text[1:]


def title_hash(title: str) -> int:
    return int(hashlib.sha1(title.encode("utf-8")).hexdigest()[:12], 16)


def timestamp_for(pageid: int) -> str:
    """A stable upload time per page: ISO 8601 as the API prints it."""
    moment = _EPOCH + timedelta(seconds=(pageid * 7919) % (12 * 365 * 86400))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class User:
    name: str
    id: int
    groups: tuple[str, ...] = ("*", "user", "autoconfirmed")
    editcount: int = 1234
    registered: str = "20150101000000"
    blocked: bool = False
    confirmed_email: bool = True


@dataclass
class FilePage:
    """A ``File:`` page and its upload."""

    name: str
    pageid: int
    source: media.ByteSource
    overrides: Mapping[str, Any] = field(default_factory=dict)
    timestamp: str = ""
    user: str = "FakeUploader"
    captions: Mapping[str, str] = field(default_factory=dict)
    wikitext: str | None = None
    _facts: media.MediaFacts | None = field(default=None, repr=False)
    _data: bytes | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        return f"File:{self.name}"

    @property
    def dbkey(self) -> str:
        return self.name.replace(" ", "_")

    @property
    def mid(self) -> str:
        return f"M{self.pageid}"

    def data(self) -> bytes:
        if self._data is None:
            self._data = self.source.read()
        return self._data

    def facts(self) -> media.MediaFacts:
        """Size, SHA1, MIME, dimensions: probed from the bytes; ``overrides`` win."""
        if self._facts is None:
            probed = self._probe()
            merged = {
                "size": probed.size,
                "sha1": probed.sha1,
                "mime": self.overrides.get("mime", probed.mime),
                "width": int(self.overrides.get("width", probed.width)),
                "height": int(self.overrides.get("height", probed.height)),
            }
            self._facts = media.MediaFacts(**merged)
        return self._facts

    def _probe(self) -> media.MediaFacts:
        if isinstance(self.source, media.PathSource):
            path = self.source.path
            try:
                mtime = path.stat().st_mtime_ns
            except OSError as error:
                raise media.MediaError(f"cannot read {path}: {error}") from error
            return media.probe_path(path, mtime, self.name)
        return media.probe(self.data(), name=self.name)


@dataclass(frozen=True)
class Category:
    """A category: its direct members, and its description page (``pageid``) if it has one."""

    name: str
    pageid: int | None
    files: tuple[str, ...]
    subcats: tuple[str, ...]
    hidden: bool = False

    @property
    def title(self) -> str:
        return f"Category:{self.name}"

    @property
    def counted(self) -> bool:
        """Whether MediaWiki's ``category`` table has a row for it: a page or a member."""
        return self.pageid is not None or bool(self.files or self.subcats)


@dataclass(frozen=True)
class Item:
    """A Wikidata item (or a redirect, or a deleted item)."""

    qid: str
    pageid: int
    labels: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    instance_of: tuple[str, ...] = ()
    image: str | None = None
    redirect: str | None = None
    missing: bool = False
    lastrevid: int = 0


@dataclass(frozen=True)
class Member:
    """One row of ``list=categorymembers``, with the key MediaWiki sorts by."""

    pageid: int
    ns: int
    title: str
    type: str  # "page", "subcat" or "file": cl_type, the first sort key
    sortkey: str

    @property
    def order(self) -> tuple[int, str, int]:
        return (("page", "subcat", "file").index(self.type), self.sortkey, self.pageid)


@dataclass(frozen=True)
class LogEvent:
    """One entry of the upload log (``list=logevents&letype=upload``): ``upload`` for a new
    file, ``overwrite`` for a new version of one; ``page`` is the file as that upload left
    it (its uploader, time and bytes)."""

    logid: int
    action: str
    page: FilePage

    @property
    def title(self) -> str:
        return self.page.title


@dataclass
class MediaInfo:
    """The structured data of one file; ``exists`` is False until something is written."""

    mid: str
    exists: bool
    statements: list[dict[str, Any]]
    lastrevid: int
    modified: str


class World:
    """Everything the stand-in knows; statements and revisions change as writes arrive."""

    def __init__(
        self,
        *,
        files: Iterable[FilePage],
        categories: Iterable[Category],
        items: Iterable[Item],
        users: Iterable[User],
        change_tags: Iterable[str] | None,
        mediainfo: Iterable[MediaInfo],
        fixtures: Mapping[str, Any] | None = None,
        redirects: Mapping[str, str] | None = None,
    ) -> None:
        self.files = {page.name: page for page in files}
        self.files_by_pageid = {page.pageid: page for page in self.files.values()}
        self.categories = {category.name: category for category in categories}
        self.categories_by_pageid = {
            c.pageid: c for c in self.categories.values() if c.pageid is not None
        }
        self.items = {item.qid: item for item in items}
        self.users = {user.name: user for user in users}
        self.change_tags = frozenset(change_tags) if change_tags is not None else None
        self.fixtures = dict(fixtures or {})
        # A renamed file leaves a redirect: old name → new name (both normal names).
        self.redirects = dict(redirects or {})
        self._mediainfo = {state.mid: state for state in mediainfo}
        self._revision = _FIRST_WRITTEN_REVISION
        self.lock = threading.RLock()
        # In the order the uploads happened (by time, then log id), as the logging table.
        self.upload_log = sorted(
            (_first_upload(page, logid) for logid, page in enumerate(self.files.values(), 1)),
            key=lambda event: (event.page.timestamp, event.logid),
        )

    # --- loading --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> World:
        """A world from its JSON file; paths inside are relative to the file."""
        path = Path(path)
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
        return cls.from_dict(data, path.parent)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], base_dir: str | Path) -> World:
        """A world from the parsed JSON; relative paths resolve against ``base_dir``."""
        return _WorldLoader(data, Path(base_dir)).build()

    # --- pages ----------------------------------------------------------------------------

    def file(self, name: str) -> FilePage | None:
        return self.files.get(normal_name(name))

    def category(self, name: str) -> Category | None:
        return self.categories.get(normal_name(name))

    def members(self, category_name: str) -> list[Member]:
        """The category's members in MediaWiki's order: pages, subcats, files; by sort key."""
        category = self.category(category_name)
        if category is None:
            return []
        rows = [self._file_member(name) for name in category.files]
        rows += [self._subcat_member(name) for name in category.subcats]
        return sorted(rows, key=lambda member: member.order)

    def categories_of(self, name: str) -> list[Category]:
        """The categories a file is in (its ``categorylinks``), by name as MediaWiki sorts them."""
        name = normal_name(name)
        found = [category for category in self.categories.values() if name in category.files]
        return sorted(found, key=lambda category: category.name.replace(" ", "_"))

    def categorise(self, name: str, category_name: str, *, hidden: bool = False) -> None:
        """Someone adds the file to a category (created with a page if it does not exist)."""
        name, category_name = normal_name(name), normal_name(category_name)
        with self.lock:
            category = self.categories.get(category_name) or Category(
                name=category_name,
                pageid=_PAGEID_FLOOR + title_hash(f"Category:{category_name}") % _PAGEID_SPAN,
                files=(),
                subcats=(),
                hidden=hidden,
            )
            category = dataclasses.replace(category, files=(*category.files, name))
            self.categories[category_name] = category
            if category.pageid is not None:
                self.categories_by_pageid[category.pageid] = category

    def uncategorise(self, name: str, category_name: str) -> None:
        """Someone takes the file out of a category."""
        name, category_name = normal_name(name), normal_name(category_name)
        with self.lock:
            category = self.categories[category_name]
            kept = tuple(member for member in category.files if member != name)
            self.categories[category_name] = dataclasses.replace(category, files=kept)
            if category.pageid is not None:
                self.categories_by_pageid[category.pageid] = self.categories[category_name]

    def source_text(self, page: FilePage) -> str:
        """The wikitext of the file's page: the world's, or the usual upload form's."""
        if page.wikitext is not None:
            return page.wikitext
        description = "".join(
            f"{{{{{lang}|1={text}}}}}" for lang, text in sorted(page.captions.items())
        )
        links = "".join(f"[[Category:{c.name}]]\n" for c in self.categories_of(page.name))
        return (
            "=={{int:filedesc}}==\n{{Information\n"
            f"|description={description}\n|date={page.timestamp[:10]}\n|source={{{{own}}}}\n"
            f"|author=[[User:{page.user}|{page.user}]]\n}}}}\n\n"
            "=={{int:license-header}}==\n{{self|cc-by-sa-4.0}}\n\n" + links
        )

    def upload(
        self,
        name: str,
        source: media.ByteSource,
        *,
        user: str,
        timestamp: str,
        categories: Iterable[str] = (),
    ) -> FilePage:
        """Someone uploads a file, or a new version of one (an ``overwrite`` in the log):
        the page keeps its id, its bytes, uploader and time are the new upload's."""
        name = normal_name(name)
        with self.lock:
            known = self.files.get(name)
            pageid = known.pageid if known else self._free_pageid(f"File:{name}")
            page = FilePage(
                name=name,
                pageid=pageid,
                source=source,
                timestamp=timestamp,
                user=user,
                captions=dict(known.captions) if known else {},
            )
            self.files[name] = page
            self.files_by_pageid[pageid] = page
            if known is None:
                self._mediainfo[page.mid] = MediaInfo(page.mid, False, [], 0, timestamp)
            action = "overwrite" if known else "upload"
            logid = max((event.logid for event in self.upload_log), default=0) + 1
            self.upload_log.append(LogEvent(logid=logid, action=action, page=page))
        for category in categories:
            self.categorise(name, category)
        return page

    def _free_pageid(self, title: str) -> int:
        pageid = _PAGEID_FLOOR + title_hash(title) % _PAGEID_SPAN
        while pageid in self.files_by_pageid or pageid in self.categories_by_pageid:
            pageid += 1
        return pageid

    def _file_member(self, name: str) -> Member:
        page = self.files[name]
        return Member(page.pageid, FILE_NS, page.title, "file", name.upper())

    def _subcat_member(self, name: str) -> Member:
        category = self.categories[name]
        assert category.pageid is not None  # the loader refuses page-less subcategories
        return Member(category.pageid, CATEGORY_NS, category.title, "subcat", name.upper())

    def delete_file(self, name: str) -> None:
        """An administrator deletes the file: its page, upload and structured data are gone
        (reads call it missing, writes find no entity) and it leaves its categories."""
        name = normal_name(name)
        with self.lock:
            page = self.files.pop(name)
            del self.files_by_pageid[page.pageid]
            self._mediainfo.pop(page.mid, None)
            for key, category in list(self.categories.items()):
                if name in category.files:
                    kept = tuple(f for f in category.files if f != name)
                    self.categories[key] = dataclasses.replace(category, files=kept)
                    if category.pageid is not None:
                        self.categories_by_pageid[category.pageid] = self.categories[key]

    # --- Wikidata -------------------------------------------------------------------------

    def item(self, qid: str) -> Item | None:
        return self.items.get(qid)

    def resolve(self, qid: str) -> tuple[Item | None, str | None]:
        """The item behind ``qid`` after one redirect, and the id it was redirected from."""
        item = self.items.get(qid)
        if item is None or item.missing:
            return None, None
        if item.redirect is None:
            return item, None
        target = self.items.get(item.redirect)
        if target is None or target.missing or target.redirect is not None:
            return None, None
        return target, qid

    # --- structured data ------------------------------------------------------------------

    def mediainfo(self, mid: str) -> MediaInfo | None:
        """The file's MediaInfo state; None when no file has that page id."""
        return self._mediainfo.get(mid)

    def file_of(self, mid: str) -> FilePage | None:
        if not mid.startswith("M") or not mid[1:].isdigit():
            return None
        return self.files_by_pageid.get(int(mid[1:]))

    def statements(self, mid: str, prop: str | None = None) -> list[dict[str, Any]]:
        """Deep copies of the file's statements (of one property if ``prop`` is given)."""
        with self.lock:
            state = self._mediainfo.get(mid)
            rows = state.statements if state is not None else []
            chosen = [s for s in rows if prop is None or s["mainsnak"]["property"] == prop]
            return copy.deepcopy(chosen)

    def save_statement(self, mid: str, statement: dict[str, Any]) -> tuple[int, bool]:
        """Add ``statement``, or replace the one with its id; returns (revision, replaced)."""
        with self.lock:
            state = self._mediainfo[mid]
            position = _index_of(state.statements, statement["id"])
            if position is None:
                state.statements.append(statement)
            else:
                state.statements[position] = statement
            return self._touch(state), position is not None

    def remove_statements(self, mid: str, guids: Iterable[str]) -> int:
        with self.lock:
            state = self._mediainfo[mid]
            doomed = set(guids)
            state.statements = [s for s in state.statements if s["id"] not in doomed]
            return self._touch(state)

    def _touch(self, state: MediaInfo) -> int:
        self._revision += 1
        state.exists = True
        state.lastrevid = self._revision
        state.modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._revision


def _first_upload(page: FilePage, logid: int) -> LogEvent:
    return LogEvent(logid=logid, action="upload", page=page)


def _index_of(statements: list[dict[str, Any]], guid: str) -> int | None:
    for position, statement in enumerate(statements):
        if statement["id"].lower() == guid.lower():
            return position
    return None


class _WorldLoader:
    """Turns the JSON of a world file into a :class:`World`, checking it as it goes."""

    def __init__(self, data: Mapping[str, Any], base_dir: Path) -> None:
        self.data = _normal_names(data)
        self.base_dir = base_dir
        self.pageids: dict[str, int] = {}

    def build(self) -> World:
        file_specs: Mapping[str, Any] = self.data.get("files", {})
        category_specs = self._category_specs(file_specs)
        self._assign_pageids(
            [f"File:{name}" for name in file_specs]
            + [f"Category:{name}" for name in category_specs]
        )
        files = [self._file(name, spec) for name, spec in file_specs.items()]
        return World(
            files=files,
            categories=[self._category(n, s) for n, s in category_specs.items()],
            items=self._items(),
            users=self._users(),
            change_tags=self.data.get("change_tags"),
            mediainfo=[self._mediainfo(page, file_specs[page.name]) for page in files],
            fixtures=self.data.get("fixtures"),
            redirects=self._redirects(file_specs),
        )

    def _redirects(self, file_specs: Mapping[str, Any]) -> dict[str, str]:
        redirects: dict[str, str] = self.data.get("redirects", {})
        for old, new in redirects.items():
            if new not in file_specs or old in file_specs:
                raise WorldError(f"redirect {old!r} → {new!r}: the target must be a file, not it")
        return redirects

    def _category_specs(self, file_specs: Mapping[str, Any]) -> dict[str, Any]:
        """Declared categories plus every subcategory they name (empty unless declared)."""
        specs = dict(self.data.get("categories", {}))
        for name, spec in list(specs.items()):
            missing = [f for f in spec.get("files", []) if f not in file_specs]
            if missing:
                raise WorldError(f"category {name!r} lists unknown files: {missing}")
            for subcat in spec.get("subcats", []):
                specs.setdefault(subcat, {"files": [], "subcats": []})
        _check_pageless(specs)
        return specs

    def _assign_pageids(self, titles: list[str]) -> None:
        """Page ids from a hash of the title; a collision moves the later title (sorted)."""
        taken: set[int] = set()
        for title in sorted(titles):
            pageid = _PAGEID_FLOOR + title_hash(title) % _PAGEID_SPAN
            while pageid in taken:
                pageid += 1
            taken.add(pageid)
            self.pageids[title] = pageid

    def _file(self, name: str, spec: Mapping[str, Any]) -> FilePage:
        if "/" in name or name.startswith(("File:", "Category:")) or not name:
            raise WorldError(f"bad file name {name!r}: give it without a prefix")
        pageid = self.pageids[f"File:{name}"]
        return FilePage(
            name=name,
            pageid=pageid,
            source=media.source_from_spec(dict(spec), self.base_dir),
            overrides={k: spec[k] for k in ("mime", "width", "height") if k in spec},
            timestamp=str(spec.get("timestamp") or timestamp_for(pageid)),
            user=str(spec.get("user", "FakeUploader")),
            captions=dict(spec.get("captions", {})),
            wikitext=spec.get("wikitext"),
        )

    def _category(self, name: str, spec: Mapping[str, Any]) -> Category:
        described = spec.get("page", True) is not False
        return Category(
            name=name,
            pageid=self.pageids[f"Category:{name}"] if described else None,
            files=tuple(spec.get("files", [])),
            subcats=tuple(spec.get("subcats", [])),
            hidden=bool(spec.get("hidden", False)),
        )

    def _mediainfo(self, page: FilePage, spec: Mapping[str, Any]) -> MediaInfo:
        statements = [
            wikibase.depicts_statement(page.mid, entry) for entry in spec.get("depicts", [])
        ]
        exists = bool(spec.get("mediainfo", True)) or bool(statements)
        return MediaInfo(
            mid=page.mid,
            exists=exists,
            statements=statements,
            lastrevid=100_000_000 + page.pageid,
            modified=page.timestamp,
        )

    def _items(self) -> list[Item]:
        return [self._item(qid, spec) for qid, spec in self.data.get("items", {}).items()]

    def _item(self, qid: str, spec: Mapping[str, Any]) -> Item:
        if not wikibase.ITEM_ID.match(qid):
            raise WorldError(f"bad item id {qid!r}")
        pageid = _PAGEID_FLOOR + title_hash(qid) % _PAGEID_SPAN
        return Item(
            qid=qid,
            pageid=pageid,
            labels=dict(spec.get("labels", {})),
            descriptions=dict(spec.get("descriptions", {})),
            aliases={lang: tuple(v) for lang, v in spec.get("aliases", {}).items()},
            instance_of=tuple(spec.get("P31", [])),
            image=spec.get("P18"),
            redirect=spec.get("redirect"),
            missing=bool(spec.get("missing", False)),
            lastrevid=1_500_000_000 + pageid % 100_000_000,
        )

    def _users(self) -> list[User]:
        specs = self.data.get("users") or {DEFAULT_USERNAME: {"id": 4242}}
        return [_user(name, spec) for name, spec in specs.items()]


def _normal_names(data: Mapping[str, Any]) -> dict[str, Any]:
    """The world with every file and category name in MediaWiki's form (:func:`normal_name`):
    a world may say ``Obama_1.jpg``; Commons would list, serve and upload ``Obama 1.jpg``."""
    normal = dict(data)
    normal["files"] = _renamed(data.get("files", {}), "file")
    categories = _renamed(data.get("categories", {}), "category")
    for name, spec in categories.items():
        members = {key: [normal_name(m) for m in spec.get(key, [])] for key in ("files", "subcats")}
        categories[name] = {**spec, **members}
    normal["categories"] = categories
    redirects = data.get("redirects", {})
    normal["redirects"] = {normal_name(old): normal_name(new) for old, new in redirects.items()}
    return normal


def _renamed(specs: Mapping[str, Any], kind: str) -> dict[str, Any]:
    renamed: dict[str, Any] = {}
    for name, spec in specs.items():
        key = normal_name(name)
        if key in renamed:
            raise WorldError(f"two {kind} names are one title once normalised: {key!r}")
        renamed[key] = spec
    return renamed


def _check_pageless(specs: Mapping[str, Any]) -> None:
    """A category is a subcategory through the category links on its description page."""
    subcats = {name for spec in specs.values() for name in spec.get("subcats", [])}
    for name, spec in specs.items():
        if spec.get("page", True) is False and name in subcats:
            raise WorldError(f"category {name!r} has no page, so it cannot be a subcategory")


def _user(name: str, spec: Mapping[str, Any]) -> User:
    groups = tuple(spec.get("groups", ("*", "user", "autoconfirmed")))
    return User(
        name=name,
        id=int(spec.get("id", 1000 + title_hash(name) % 1_000_000)),
        groups=groups,
        editcount=int(spec.get("editcount", 1234)),
        registered=str(spec.get("registered", "20150101000000")),
        blocked=bool(spec.get("blocked", False)),
    )
