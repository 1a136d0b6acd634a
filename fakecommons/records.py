"""What the stand-in remembers of its traffic: every request, every write, every breach
of etiquette — so a test can assert on what the client really sent.

Etiquette is Wikimedia's User-Agent policy (``<client>/<version> (<contact URL or e-mail>)
<library>/<version>``; generic library defaults and browser strings are blocked) and, for
``api.php``, ``maxlag=5`` on every request (WIKIMEDIA-API.md §1.5, §1.7). The policy is for
scripts: what a reader's browser fetches for a page (thumbnails, Special:FilePath) comes under
the browser's own User-Agent, so there a browser is no breach; a script still is held to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fakecommons.media import STANDARD_WIDTHS

MAXLAG = "5"
STANDARD_WIDTH_TEXTS = frozenset(str(width) for width in STANDARD_WIDTHS)
_PRODUCT = re.compile(r"^[A-Za-z][\w.\-]*/\S+")
_GENERIC = re.compile(
    r"^(python-requests|python-urllib\d?|python-httpx|aiohttp|curl|wget|okhttp|java|"
    r"go-http-client|axios|node-fetch|undici|libwww-perl|guzzlehttp|ruby|php)/[\w.\-]+$",
    re.IGNORECASE,
)
_CONTACT = re.compile(r"\([^)]*(https?://\S+|[\w.+\-]+@[\w\-]+\.[\w.\-]+)[^)]*\)")


@dataclass
class RecordedRequest:
    """One request as it arrived; ``status``, ``user`` and ``fault`` are filled after it."""

    method: str
    path: str
    site: str  # "commons", "wikidata", "upload", "commons-wiki", "meta" or "other"
    params: dict[str, str]
    headers: dict[str, str]
    time: float
    status: int = 0
    user: str | None = None
    fault: str | None = None
    etiquette: list[str] = field(default_factory=list)

    @property
    def action(self) -> str | None:
        return self.params.get("action")

    @property
    def user_agent(self) -> str:
        return self.headers.get("User-Agent", "")

    @property
    def is_api(self) -> bool:
        return self.site in ("commons", "wikidata")


@dataclass(frozen=True)
class WriteRecord:
    """One write the API accepted: which statement, what value, by whom, how."""

    action: str
    entity_id: str
    statement_id: str
    property: str
    value: Any
    user: str | None
    summary: str
    tags: tuple[str, ...]
    revision: int
    replaced: bool
    params: Mapping[str, str]
    time: float
    statement: Mapping[str, Any] | None = None


def user_agent_problems(user_agent: str) -> list[str]:
    """Why ``user_agent`` breaks the Wikimedia User-Agent policy (empty: it does not)."""
    if not user_agent.strip():
        return ["no User-Agent"]
    if is_browser(user_agent):
        return [f"browser User-Agent {user_agent!r}"]
    if _GENERIC.match(user_agent.strip()):
        return [f"generic library User-Agent {user_agent!r}"]
    problems = []
    if not _PRODUCT.match(user_agent):
        problems.append(f"User-Agent {user_agent!r} does not start with client/version")
    if not _CONTACT.search(user_agent):
        problems.append(f"User-Agent {user_agent!r} has no contact URL or e-mail in parentheses")
    return problems


def asset_etiquette_problems(user_agent: str) -> list[str]:
    """Why a fetch of a page asset (upload server, Special:FilePath) breaks the policy."""
    if is_browser(user_agent):
        return []
    return user_agent_problems(user_agent)


def is_browser(user_agent: str) -> bool:
    return user_agent.startswith("Mozilla/")


def api_etiquette_problems(request: RecordedRequest) -> list[str]:
    problems = user_agent_problems(request.user_agent)
    maxlag = request.params.get("maxlag")
    if maxlag != MAXLAG:
        problems.append("no maxlag" if maxlag is None else f"maxlag={maxlag}, not {MAXLAG}")
    width = request.params.get("iiurlwidth")
    if width is not None and width not in STANDARD_WIDTH_TEXTS:
        problems.append(f"iiurlwidth={width} is not a standard thumbnail width")
    return problems
