"""Faults the stand-in injects on request: what Wikimedia does to a client on a bad day.

Each kind answers the way production does (real-api/07-*.json):

- ``maxlag``: HTTP 200, ``error.code = "maxlag"`` with ``lag``, ``host``, ``type``, and the
  headers ``Retry-After`` and ``X-Database-Lag``;
- ``http429`` / ``http503``: the status alone (429 with ``Retry-After``), an HTML body;
- ``ratelimited``: core's ``ratelimited`` error;
- ``actionthrottled``: Wikibase's ``failed-save`` with ``messages[].name`` =
  ``actionthrottledtext`` (what wbsetclaim really answers past the edit rate limit);
- ``badtoken``: the csrf token is refused, whatever was sent;
- ``slow``: the answer comes ``seconds`` late;
- ``drop_after_write``: the write is applied, then the connection is closed with no answer.

A fault matches the next requests of its ``target`` (``api`` or ``upload``) and, if given,
its ``action``; ``times=None`` keeps it for every matching request.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from fakecommons.protocol import ApiError, Reply, wikibase_error

KINDS = (
    "maxlag",
    "http429",
    "http503",
    "ratelimited",
    "actionthrottled",
    "badtoken",
    "slow",
    "drop_after_write",
)
WRITE_ACTIONS = frozenset(
    {"wbsetclaim", "wbcreateclaim", "wbremoveclaims", "wbeditentity", "wbsetqualifier", "edit"}
)
UPLOAD_KINDS = frozenset({"http429", "http503", "slow"})
_THROTTLE_TEXT = (
    "As an anti-abuse measure, you are limited from performing this action too many times in "
    "a short space of time, and you have exceeded this limit.\nPlease try again in a few minutes."
)
_HTTP_ERROR_PAGE = (
    '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><title>Wikimedia Error</title>'
    "<p>Our servers are currently under maintenance or experiencing a technical issue.</p>"
    "</html>"
)


@dataclass
class Fault:
    kind: str
    remaining: int | None = 1
    action: str | None = None
    target: str = "api"
    seconds: float = 1.0  # slow: the delay; maxlag/429: the Retry-After
    lag: float = 7.5

    def matches(self, *, target: str, action: str | None) -> bool:
        if self.target != target or self.remaining == 0:
            return False
        if self.action is not None:
            return action == self.action
        # An unqualified drop_after_write waits for a write: dropping a read proves nothing.
        return self.kind != "drop_after_write" or action in WRITE_ACTIONS


@dataclass(frozen=True)
class FiredFault:
    kind: str
    action: str | None
    target: str
    time: float


@dataclass
class FaultPlan:
    """The faults still to fire, in the order they were injected; thread-safe."""

    pending: list[Fault] = field(default_factory=list)
    fired: list[FiredFault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, fault: Fault) -> Fault:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; known: {', '.join(KINDS)}")
        if fault.target == "upload" and fault.kind not in UPLOAD_KINDS:
            raise ValueError(f"{fault.kind} cannot happen on the upload server")
        with self._lock:
            self.pending.append(fault)
        return fault

    def take(self, *, target: str, action: str | None) -> Fault | None:
        """The first fault matching this request, counted as fired."""
        with self._lock:
            for fault in self.pending:
                if fault.matches(target=target, action=action):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    self.fired.append(FiredFault(fault.kind, action, target, time.time()))
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self.pending.clear()


def parse_spec(spec: str) -> Fault:
    """A fault from the command line: ``KIND[:TIMES[:ACTION]]``, TIMES ``*`` for always."""
    kind, _, rest = spec.partition(":")
    times_text, _, action = rest.partition(":")
    times = None if times_text == "*" else int(times_text or 1)
    target = "api"
    if action == "upload":
        target, action = "upload", ""
    return Fault(kind=kind, remaining=times, action=action or None, target=target)


def api_failure(fault: Fault) -> ApiError | Reply | None:
    """What to answer instead of the API's normal reply (None: answer normally)."""
    if fault.kind == "maxlag":
        return _maxlag(fault)
    if fault.kind in ("http429", "http503"):
        return http_failure(fault)
    if fault.kind == "ratelimited":
        return ApiError("ratelimited", _THROTTLE_TEXT.replace("\n", " "))
    if fault.kind == "actionthrottled":
        return wikibase_error("failed-save", _THROTTLE_TEXT, "actionthrottledtext")
    if fault.kind == "badtoken":
        return ApiError("badtoken", "Invalid CSRF token.")
    return None


def http_failure(fault: Fault) -> Reply:
    if fault.kind == "http429":
        headers = {"Retry-After": _seconds(fault.seconds)}
        return Reply(429, _HTTP_ERROR_PAGE.encode(), "text/html; charset=utf-8", headers)
    return Reply(503, _HTTP_ERROR_PAGE.encode(), "text/html; charset=utf-8", {})


def _maxlag(fault: Fault) -> ApiError:
    return ApiError(
        "maxlag",
        f"Waiting for 10.64.48.35: {fault.lag} seconds lagged.",
        extra={"host": "10.64.48.35", "lag": float(fault.lag), "type": "db"},
        headers={
            "Retry-After": _seconds(fault.seconds),
            "X-Database-Lag": str(int(fault.lag)),
        },
    )


def _seconds(value: float) -> str:
    # Retry-After takes whole seconds (RFC 9110); 0 would tell a client not to wait at all.
    return str(max(1, round(value)))
