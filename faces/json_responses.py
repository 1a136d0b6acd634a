"""The JSON plumbing of the review endpoints (classify, a group's "who is this?"): the
body a page posts, and the refusals every endpoint answers in one shape."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _


def json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return {}
    return data if isinstance(data, dict) else {}


def refused(code: str, message: str, status: int = 409, **extra: Any) -> JsonResponse:
    return JsonResponse({"error": code, "message": message, **extra}, status=status)


def invalid(form: Any) -> JsonResponse:
    text = " ".join(str(m) for errors in form.errors.values() for m in errors)
    return refused(
        "invalid", _("The request was not understood: %(errors)s") % {"errors": text}, status=400
    )


def not_found() -> JsonResponse:
    return refused("not_found", _("This face or photo is not part of this project."), 404)
