"""The read API's endpoints: GET and HEAD only, JSON in and out, rate limited, cacheable for a
minute, readable by scripts on Commons' pages (CORS for https://commons.wikimedia.org only).

Every answer, errors included, leaves through :func:`api_endpoint`, which sets those headers
in one place; what an answer may contain is :mod:`wikivisage.api.selectors`' business.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from commons.identifiers import normalise_file_title
from core.ratelimit import over_limit, too_many

from . import selectors
from .selectors import PublicSuggestion

ALLOWED_ORIGIN = "https://commons.wikimedia.org"
MAX_AGE = 60
PER_MINUTE = 120  # per client address: a gadget asks once per file page viewed
LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{1,8})*")
MAX_PAGE = 10_000


class BadRequest(Exception):
    """Input the API cannot answer: a 400 with ``code`` and ``message`` as JSON."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


Endpoint = Callable[..., HttpResponse]


def api_endpoint(view: Endpoint) -> Endpoint:
    """GET/HEAD only, the rate limit, 400s as JSON, then CORS and caching on the answer."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse
        if request.method not in ("GET", "HEAD"):
            response = error(405, "method_not_allowed", _("Only GET and HEAD are answered."))
            response["Allow"] = "GET, HEAD"
        elif over_limit(request, "api", PER_MINUTE):
            response = too_many(request)
        else:
            try:
                response = view(request, *args, **kwargs)
            except BadRequest as bad:
                response = error(400, bad.code, bad.message)
        return _headers(request, response)

    return wrapped


def _headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    if request.headers.get("Origin") == ALLOWED_ORIGIN:
        response["Access-Control-Allow-Origin"] = ALLOWED_ORIGIN
    patch_vary_headers(response, ["Origin"])  # a cache must not hand one origin's answer on
    if response.status_code in (200, 400, 404):
        patch_cache_control(response, max_age=MAX_AGE)
    else:  # 405, 429: about this caller, now
        patch_cache_control(response, no_store=True)
    return response


def error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


@api_endpoint
def file_suggestions(request: HttpRequest) -> HttpResponse:
    """A file's pending suggestions, by its title (``?title=File:…``)."""
    title = _title(request.GET.get("title", ""))
    language = _language(request)
    found = selectors.file_suggestions(title=title, language=language)
    rows = [_suggestion_json(request, suggestion) for suggestion in found]
    return JsonResponse({"title": title, "suggestions": rows})


@api_endpoint
def project_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """A public project's pending suggestions, a page at a time (``?page=N``)."""
    page_number, language = _page(request), _language(request)
    page = selectors.project_page(pk=pk, page=page_number, language=language)
    if page is None:
        return error(404, "not_found", _("No public project has this id."))
    body = {
        "project": _project_json(request, page.project.pk),
        "page": page.page,
        "next": _next_url(request, pk, page.page) if page.has_next else None,
        "suggestions": [_suggestion_json(request, s) for s in page.suggestions],
    }
    return JsonResponse(body)


def _title(value: str) -> str:
    if not value.strip():
        raise BadRequest("missing_title", _("Give the file's title: ?title=File:Example.jpg"))
    try:
        return normalise_file_title(value)
    except ValidationError as invalid:
        raise BadRequest("bad_title", invalid.messages[0]) from invalid


def _language(request: HttpRequest) -> str:
    language = request.GET.get("lang", "en")
    if not LANGUAGE.fullmatch(language):
        raise BadRequest("bad_lang", _("lang is a language code such as en or pt-br."))
    return language


def _page(request: HttpRequest) -> int:
    text = request.GET.get("page", "1")
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(
            "bad_page", _("page is a whole number from 1 to %(most)d.") % {"most": MAX_PAGE}
        )
    return int(text)


def _suggestion_json(request: HttpRequest, suggestion: PublicSuggestion) -> dict[str, Any]:
    return {
        "file": {"title": suggestion.file_title, "pageid": suggestion.pageid},
        "person": {"qid": suggestion.qid, "label": suggestion.label},
        "region": suggestion.region,
        "score": suggestion.score,
        "confirmed": suggestion.confirmed,
        "project": _project_json(request, suggestion.project_id),
    }


def _project_json(request: HttpRequest, pk: int) -> dict[str, Any]:
    return {"id": pk, "url": request.build_absolute_uri(reverse("projects:detail", args=[pk]))}


def _next_url(request: HttpRequest, pk: int, page: int) -> str:
    path = reverse("api:project-suggestions", args=[pk])
    query = request.GET.copy()
    query["page"] = str(page + 1)
    return request.build_absolute_uri(f"{path}?{query.urlencode()}")
