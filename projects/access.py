"""The one access check every project page and endpoint goes through."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from .models import Project

MAX_ROW_ID = 2**63 - 1
"""The largest id a row can have (a signed 64-bit integer on SQLite and MariaDB alike)."""


def project_for(request: HttpRequest, pk: int, *, manage: bool = False) -> Project:
    """The project if the user may see it (404 if it does not exist, 403 if not theirs).

    Moderators (staff) see every project; ``manage`` asks for the owner (or a moderator).
    """
    project: Project = get_object_or_404(Project.objects.select_related("owner"), pk=pk)
    user = request.user
    if user.is_staff:
        return project
    role = project.role_of(user) if user.is_authenticated else None
    if role is None or (manage and role != "owner"):
        raise PermissionDenied
    return project
