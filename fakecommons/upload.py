"""The upload server: originals at ``/upload/<h1>/<h2>/<Name>`` and thumbnails at
``/upload/thumb/<h1>/<h2>/<Name>/<W>px-<Name>``, as upload.wikimedia.org lays them out.

Only the standard widths render (others answer 400, as Wikimedia is moving to do, T414805);
a bitmap is never scaled up (400 "Image was not scaled"). A file Pillow cannot decode is
served at its thumbnail URL as its raw bytes, the way a thumbnailer passing a file through
would hand a client broken input.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import unquote

from PIL import Image

from fakecommons import media
from fakecommons.protocol import Reply
from fakecommons.world import FilePage, World

_THUMB_WIDTH = re.compile(r"^(?:lossy-)?(?:page\d+-)?(\d+)px-")
_CACHE = "public, max-age=2592000"


@dataclass(frozen=True)
class UploadAnswer:
    reply: Reply
    problem: str | None = None  # an etiquette breach to record against the request


@dataclass
class UploadServer:
    world: World
    _thumbs: dict[tuple[str, int], bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str) -> UploadAnswer:
        """``path`` is what follows ``/upload``."""
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if len(parts) == 5 and parts[0] == "thumb":
            return self._thumbnail(parts[1:])
        if len(parts) == 3:
            page = self._page(parts[0], parts[1], parts[2])
            return UploadAnswer(_bytes(page.data(), page.facts().mime) if page else _not_found())
        return UploadAnswer(_not_found())

    def prerender(self, widths: Iterable[int]) -> int:
        """Render now every thumbnail of ``widths`` that a client could ask for; the count.

        Serving a rendered thumbnail is a dictionary lookup: a benchmark that prerenders
        measures the app's work, not the stand-in's thumbnailing on the same cores.
        """
        jobs = [
            (page, width)
            for page in self.world.files.values()
            for width in widths
            if width in media.STANDARD_WIDTHS and page.facts().width > width
        ]
        with ThreadPoolExecutor() as pool:  # Pillow's resize and encode release the GIL
            list(pool.map(lambda job: self._render(job[0], job[1]), jobs))
        return len(jobs)

    def _page(self, h1: str, h2: str, dbkey: str) -> FilePage | None:
        page = self.world.file(dbkey)  # the world normalises: underscores are spaces
        if page is None or media.hash_path(page.dbkey) != f"{h1}/{h2}":
            return None
        return page

    def _thumbnail(self, parts: list[str]) -> UploadAnswer:
        page = self._page(parts[0], parts[1], parts[2])
        match = _THUMB_WIDTH.match(parts[3])
        if page is None or match is None:
            return UploadAnswer(_not_found())
        width, facts = int(match.group(1)), page.facts()
        if parts[3] != media.thumb_file_name(page.dbkey, facts.mime, width):
            return UploadAnswer(_not_found())
        if width not in media.STANDARD_WIDTHS:
            text = f"Error generating thumbnail: {width}px is not a standard thumbnail width."
            return UploadAnswer(
                Reply.text(text, status=400), f"non-standard thumbnail width {width}"
            )
        if facts.is_bitmap and 0 < facts.width <= width:
            text = (
                "Error generating thumbnail: Image was not scaled, is the requested width "
                "bigger than the source?"
            )
            return UploadAnswer(Reply.text(text, status=400))
        return UploadAnswer(_bytes(self._render(page, width), media.mime_for_name(parts[3])))

    def _render(self, page: FilePage, width: int) -> bytes:
        """The thumbnail's bytes, rendered once; a file no thumbnailer can scale as it is."""
        key = (page.name, width)
        with self._lock:
            cached = self._thumbs.get(key)
        if cached is None:
            data, mime = page.data(), page.facts().mime
            if mime in media.THUMB_FORMAT and media.can_scale(data):
                cached = media.render_thumbnail(data, width=width, mime=mime)
            else:
                cached = data
            with self._lock:
                self._thumbs[key] = cached
        return cached


def file_type_icon() -> Reply:
    """The 120x120 icon Commons gives audio files instead of a thumbnail."""
    out = io.BytesIO()
    Image.new("RGB", (120, 120), (200, 200, 200)).save(out, format="PNG")
    return _bytes(out.getvalue(), "image/png")


def _bytes(data: bytes, mime: str) -> Reply:
    return Reply(200, data, mime, {"Cache-Control": _CACHE})


def _not_found() -> Reply:
    return Reply.text("File not found", status=404)
