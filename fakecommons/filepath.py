"""``/commons/wiki/Special:FilePath/<name>``: a redirect to a file or to a thumbnail of it.

Special:FilePath (SpecialRedirect::dispatchFile) answers 302 with the original's URL; given
``width``, it asks File::transform for a rendition and uses its URL unless the transform
fails (then the original again). Commons renders thumbnails at standard widths only
(T414805), so the width asked for is rounded up to the next standard one; beyond the largest
there is none, and the original is served. A file that does not exist is a 404 page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote

from fakecommons.context import Urls
from fakecommons.media import STANDARD_WIDTHS
from fakecommons.protocol import Reply
from fakecommons.query import parse_title
from fakecommons.world import FILE_NS, FilePage, World

WIKI_PREFIX = "/commons/wiki/"
HTML = "text/html; charset=utf-8"
_INTEGER = re.compile(r"\s*[+-]?\d+")


def serve(*, world: World, urls: Urls, path: str, params: Mapping[str, str]) -> Reply:
    """The answer to a GET of ``path`` (which starts with :data:`WIKI_PREFIX`)."""
    title = unquote(path[len(WIKI_PREFIX) :])
    special, _, name = title.partition("/")
    # Special page names are case-insensitive: Special:Filepath is the same page.
    if special.lower() != "special:filepath":
        return Reply(404, b"<p>There is no page with this title.</p>", HTML)
    page = _file(world, name or params.get("file", ""))
    if page is None:
        return Reply(404, b"<p>No file by this name exists.</p>", HTML)
    target = _target(urls, page, _php_int(params.get("width")))
    return Reply(302, b"", HTML, {"Location": target})


def _file(world: World, name: str) -> FilePage | None:
    """Title::newFromText(name, NS_FILE): ``File:`` may be given or left out."""
    ns, text = parse_title(name)
    if ns == 0:
        ns, text = parse_title(f"File:{name}")
    return world.file(text) if ns == FILE_NS and text else None


def _target(urls: Urls, page: FilePage, width: int) -> str:
    if width <= 0:  # absent (-1), or a width File::transform refuses
        return urls.original(page)
    standard = next((w for w in STANDARD_WIDTHS if w >= width), None)
    if standard is None:
        return urls.original(page)
    return urls.rendition(page, standard).url


def _php_int(raw: str | None) -> int:
    """WebRequest::getInt('width', -1): PHP's intval, so ``"300px"`` is 300 and ``"x"`` 0."""
    if raw is None:
        return -1
    match = _INTEGER.match(raw)
    return int(match.group()) if match else 0
