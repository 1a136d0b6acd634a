"""Reads of the projects' own tables, shaped for the project pages."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Membership, Project


def crawling(project: Project) -> bool:
    """The category is being listed: never finished, or a crawl is under way."""
    return project.crawled_at is None or project.crawl_cursor is not None


def project_members(*, project: Project) -> QuerySet[Membership]:
    return project.memberships.select_related("user").order_by("role", "user__username")
