"""What every ``api.php`` answer has in common: parameters, errors, formatversion 1 and 2.

MediaWiki answers API errors with HTTP 200 and ``{"error": {"code", "info", ...},
"servedby"}``; the help pointer is ``"*"`` in formatversion 1 and ``"docref"`` in 2, Wikibase
messages carry ``html`` as ``{"*": text}`` or as a string (real-api/README.md, "formatversion
1 vs 2").
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SERVED_BY = "mw-fakecommons1"
# Parameters every module understands, so they never draw "Unrecognized parameter".
GLOBAL_PARAMS = frozenset(
    {
        "action",
        "format",
        "formatversion",
        "maxlag",
        "assert",
        "assertuser",
        "utf8",
        "uselang",
        "errorformat",
        "errorlang",
        "servedby",
        "curtimestamp",
        "origin",
        "requestid",
        "smaxage",
        "maxage",
        "callback",
        "ascii",
        "responselanginfo",
        "variant",
        "crossorigin",
    }
)


@dataclass
class Reply:
    """An HTTP answer, before it is written to the socket."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def text(cls, body: str, *, status: int = 200, **headers: str) -> Reply:
        return cls(status, body.encode(), "text/plain; charset=utf-8", dict(headers))


class ApiError(Exception):
    """An API error; ``extra`` adds keys to the error object (``lag``, ``messages``…)."""

    def __init__(
        self,
        code: str,
        info: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {info}")
        self.code = code
        self.info = info
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def wikibase_error(code: str, info: str, message: str, **extra: Any) -> ApiError:
    """A Wikibase-module error: ``messages[]`` says which message the wiki used."""
    messages = [{"name": message, "parameters": [], "html": info}]
    return ApiError(code, info, extra={**extra, "messages": messages})


class Params:
    """The request's parameters (query string and body merged, as MediaWiki does).

    Modules read through :meth:`get`; whatever nobody read is reported back as an
    "Unrecognized parameter" warning, which is how a typo in the client surfaces.
    """

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.used: set[str] = set(GLOBAL_PARAMS)

    def get(self, name: str, default: str | None = None) -> str | None:
        self.used.add(name)
        return self.values.get(name, default)

    def has(self, name: str) -> bool:
        self.used.add(name)
        return name in self.values

    def multi(self, name: str) -> list[str]:
        """A multi-value parameter: ``a|b|c``, or U+001F-separated when it starts with one."""
        raw = self.get(name)
        if not raw:
            return []
        if raw.startswith("\x1f"):
            return raw[1:].split("\x1f")
        return raw.split("|")

    def integer(self, name: str, default: int) -> int:
        raw = self.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(
                "badinteger", f'Invalid value "{raw}" for integer parameter "{name}".'
            ) from None

    def accept(self, *names: str) -> None:
        """Parameters the real module takes that the stand-in ignores (no warning for them)."""
        self.used.update(names)

    def flag(self, name: str) -> bool:
        """A boolean parameter: present means true, whatever its value (even "false")."""
        return self.has(name)

    def unused(self) -> list[str]:
        return sorted(name for name in self.values if name not in self.used)


@dataclass(frozen=True)
class Format:
    """The differences between formatversion 1 and 2 that the served modules show."""

    v2: bool
    docref_url: str

    def flag(self) -> str | bool:
        """``batchcomplete``, ``missing``, ``anon``…: ``""`` in v1, ``true`` in v2."""
        return True if self.v2 else ""

    def bools(self, data: dict[str, Any], *, keep: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A module's booleans as each version prints them: formatversion 1 (ApiResult's BC
        transformation) prints true as ``""`` and leaves false out, except the ``keep`` keys
        (META_BC_BOOLS); 2 keeps them. Nested objects too."""
        if self.v2:
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, dict):
                out[key] = self.bools(value)
            elif isinstance(value, bool) and key not in keep:
                if value:
                    out[key] = ""
            else:
                out[key] = value
        return out

    def pages(self, pages: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
        """``query.pages``: an array in v2; in v1 an object keyed by page id (-1, -2… if none)."""
        if self.v2:
            return pages
        keyed: dict[str, Any] = {}
        negative = 0
        for page in pages:
            if "pageid" in page:
                keyed[str(page["pageid"])] = page
            else:
                negative -= 1
                keyed[str(negative)] = page
        return keyed

    def text(self, text: str, *, key: str) -> dict[str, str]:
        """A text payload object: ``{"*": text}`` in v1, ``{key: text}`` in v2."""
        return {key if self.v2 else "*": text}

    def error_body(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"code": error.code, "info": error.info, **error.extra}
        if "messages" in body and not self.v2:
            body["messages"] = [
                {**message, "html": {"*": message["html"]}} for message in body["messages"]
            ]
        help_text = f"See {self.docref_url} for API usage."
        body["docref" if self.v2 else "*"] = help_text
        return {"error": body, "servedby": SERVED_BY}


def json_reply(
    payload: Mapping[str, Any], *, gzip_ok: bool, headers: Mapping[str, str] | None = None
) -> Reply:
    """A JSON answer, gzipped when the client accepts it (API:Etiquette asks clients to)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    extra = dict(headers or {})
    if gzip_ok:
        body = gzip.compress(body, compresslevel=5)
        extra["Content-Encoding"] = "gzip"
    return Reply(200, body, "application/json; charset=utf-8", extra)
