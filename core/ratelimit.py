"""A small fixed-window rate limit for the endpoints that cost the most.

Counted in Django's cache, per user (or client address, for anonymous requests) and per
endpoint. With the default per-process memory cache each web process counts on its own,
which is enough to stop a runaway script; a shared cache (Redis) makes the limit exact.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

View = Callable[..., HttpResponseBase]


def rate_limited(
    name: str, *, per_minute: int, methods: tuple[str, ...] = ()
) -> Callable[[View], View]:
    """Refuse more than ``per_minute`` calls of this view a minute, with 429 Too Many Requests.

    ``methods``: count only these (e.g. the POST of a login form, not the page itself); all
    by default.
    """

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            counted = not methods or request.method in methods
            if counted and over_limit(request, name, per_minute):
                return too_many(request)
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def current_minute() -> int:
    """The window the calls are counted in: minutes since the epoch."""
    return int(time.time() // 60)


def over_limit(request: HttpRequest, name: str, per_minute: int) -> bool:
    window = current_minute()
    who = f"user:{request.user.pk}" if request.user.is_authenticated else client_address(request)
    key = f"wikivisage:rate:{name}:{who}:{window}"
    # add() then incr(): the first call of a window creates the counter atomically.
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=70)
        count = 1
    return count > per_minute


def client_address(request: HttpRequest) -> str:
    """The address an anonymous request is counted under.

    Behind a front proxy (Toolforge's) REMOTE_ADDR is the proxy's, the same for everyone; the
    proxy appends the address it saw to WIKIVISAGE_CLIENT_IP_HEADER (X-Forwarded-For). Only
    that last entry is trusted: everything to its left came from the client, which can put
    any address there to get a fresh limit with each request.
    """
    header = settings.WIKIVISAGE_CLIENT_IP_HEADER
    forwarded = request.META.get(header, "") if header else ""
    last = forwarded.rsplit(",", 1)[-1].strip()
    return f"ip:{last or request.META.get('REMOTE_ADDR', '')}"


def too_many(request: HttpRequest) -> HttpResponse:
    message = _("Too many requests. Please wait a minute and try again.")
    if wants_json(request):
        response: HttpResponse = JsonResponse(
            {"error": "rate_limited", "message": message}, status=429
        )
    else:
        response = render(request, "429.html", {"message": message}, status=429)
    response["Retry-After"] = "60"
    return response


def wants_json(request: HttpRequest) -> bool:
    return request.path.endswith(".json") or "application/json" in request.headers.get("Accept", "")
