"""What an API module needs to answer one request: the world, the caller, the URLs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fakecommons import media
from fakecommons.protocol import Format, Params
from fakecommons.records import WriteRecord
from fakecommons.world import FilePage, User, World


@dataclass(frozen=True)
class Rendition:
    """The image a client gets for a file at a requested width: where, and how big."""

    url: str
    width: int
    height: int


@dataclass(frozen=True)
class Urls:
    """Every URL the stand-in hands out, rooted at its own address."""

    base: str

    @property
    def commons_api(self) -> str:
        return f"{self.base}/commons/w/api.php"

    @property
    def wikidata_api(self) -> str:
        return f"{self.base}/wikidata/w/api.php"

    @property
    def meta(self) -> str:
        return f"{self.base}/meta/w/index.php"

    @property
    def upload(self) -> str:
        return f"{self.base}/upload"

    def api(self, site: str) -> str:
        return self.commons_api if site == "commons" else self.wikidata_api

    def original(self, page: FilePage) -> str:
        dbkey = page.dbkey
        return f"{self.upload}/{media.hash_path(dbkey)}/{media.quote_segment(dbkey)}"

    def thumbnail(self, page: FilePage, width: int) -> str:
        dbkey, mime = page.dbkey, page.facts().mime
        name = media.thumb_file_name(dbkey, mime, width)
        folder = f"{self.upload}/thumb/{media.hash_path(dbkey)}/{media.quote_segment(dbkey)}"
        return f"{folder}/{media.quote_segment(name)}"

    def rendition(self, page: FilePage, width: int) -> Rendition:
        """What a client shown the file at ``width`` gets: bitmaps are never scaled up, audio
        gets an icon (File::transform)."""
        facts = page.facts()
        if facts.is_audio:
            return Rendition(self.icon(page), 120, 120)
        if facts.is_bitmap and 0 < facts.width <= width:
            return Rendition(self.original(page), facts.width, facts.height)
        # Unknown dimensions (a file no decoder reads) scale as a square: the URL is what
        # matters, and the upload server hands out the raw bytes there.
        height = media.thumb_height(facts.width or 1, facts.height or 1, width)
        return Rendition(self.thumbnail(page, width), width, height)

    def icon(self, page: FilePage) -> str:
        extension = page.name.rpartition(".")[2].lower() or "file"
        return f"{self.base}/commons/w/resources/assets/file-type-icons/fileicon-{extension}.png"

    @property
    def commons_wiki(self) -> str:
        """Commons' article path (``/wiki``): description pages and special pages."""
        return f"{self.base}/commons/wiki"

    def description(self, title: str) -> str:
        return f"{self.commons_wiki}/{media.quote_title(title)}"

    def file_path(self, name: str, width: int | None = None) -> str:
        """Special:FilePath of a file (name without ``File:``), as a page would link it."""
        url = f"{self.commons_wiki}/Special:FilePath/{media.quote_title(name)}"
        return url if width is None else f"{url}?width={width}"

    def short_description(self, pageid: int) -> str:
        return f"{self.base}/commons/w/index.php?curid={pageid}"


@dataclass
class ApiContext:
    """One ``api.php`` request on its way through the modules."""

    site: str  # "commons" or "wikidata"
    method: str
    params: Params
    fmt: Format
    world: World
    urls: Urls
    user: User | None
    csrf_token: str
    record_write: Callable[[WriteRecord], None]
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def user_name(self) -> str | None:
        return self.user.name if self.user else None

    def warn(self, module: str, text: str) -> None:
        self.warnings.setdefault(module, []).append(text)

    def rendered_warnings(self) -> dict[str, Any]:
        return {
            module: self.fmt.text("\n".join(texts), key="warnings")
            for module, texts in self.warnings.items()
        }
