"""Reads of the projects' own tables, shaped for the project pages."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from .models import Membership, Project, ProjectGroup


def crawling(project: Project) -> bool:
    """The category is being listed: never finished, or a crawl is under way."""
    return project.crawled_at is None or project.crawl_cursor is not None


def project_members(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("role", "user__username")


def dashboard_groups(*, user: User | AnonymousUser) -> QuerySet[ProjectGroup]:
    """The groups of people whose projects the user works on (moderators: every group)."""
    if user.is_staff:
        return ProjectGroup.objects.all()
    visible = Project.objects.visible_to(user)
    return ProjectGroup.objects.filter(people__project__in=visible).distinct()
