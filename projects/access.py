"""The one access check every project page and endpoint goes through."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import router
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from core.prepared import PreparedRead

from .models import Project, ProjectGroup

MAX_ROW_ID = 2**63 - 1
"""The largest id a row can have (a signed 64-bit integer on SQLite and MariaDB alike)."""


def project_for(request: HttpRequest, pk: int, *, manage: bool = False) -> Project:
    """The project if the user may see it (404 if it does not exist, 403 if not theirs).

    Moderators (staff) see every project; ``manage`` asks for the owner (or a moderator).
    """
    project = project_with_owner(pk)
    user = request.user
    if user.is_staff:
        return project
    role = project.role_of(user) if user.is_authenticated else None
    if role is None or (manage and role != "owner"):
        raise PermissionDenied
    return project


def group_for(request: HttpRequest, pk: int) -> tuple[ProjectGroup, list[Project]]:
    """The group and its person projects if the user may work on it (404, 403 otherwise).

    As for a project: moderators see every group; anyone else needs a role in each of its
    projects (the owner has one in all), since one answer writes in every one of them.
    """
    group: ProjectGroup = get_object_or_404(ProjectGroup, pk=pk)
    projects = group.member_projects()
    user = request.user
    if user.is_staff:
        return group, projects
    if not user.is_authenticated:
        raise PermissionDenied
    # A group whose projects were all deleted is its owner's alone.
    if not projects and user.pk != group.owner_id:
        raise PermissionDenied
    if any(project.role_of(user) is None for project in projects):
        raise PermissionDenied
    return group, projects


def project_queryset(*, pk: int) -> QuerySet[Project]:
    """What ``get_object_or_404(Project.objects.select_related("owner"), pk=pk)`` reads
    (``get()``: no ordering, at most 21 rows)."""
    return Project.objects.select_related("owner").filter(pk=pk).order_by()[:21]


# Every project page and endpoint reads it (each answer of the classify page): compiled once
# per process (core.prepared), the id bound per request.
PROJECT = PreparedRead(
    build=project_queryset,
    values=lambda _connection, *, pk: {"project": pk},
    shape=lambda **_inputs: (),
)


def project_with_owner(pk: int) -> Project:
    """The project with its owner; 404 if there is none."""
    projects = PROJECT.objects(using=router.db_for_read(Project), pk=pk)
    if not projects:
        raise Http404("No Project matches the given query.")
    project: Project = projects[0]
    return project
