"""Request types the views of every app share."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest


class AuthenticatedRequest(HttpRequest):
    """A request past ``login_required``: its user is a real account."""

    user: User
