"""Withholding's effect on work already queued: withheld items leave every project."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import transaction

from core.enqueue import enqueue_each
from faces.models import ProjectImage
from projects.models import Project, Withholding
from projects.services import projects_withhold


@transaction.atomic
def withholding_apply(*, withholding: Withholding, by: User) -> int:
    """What a new withholding takes away now; returns how many links or projects it touched.

    1. A file: its links to every project go, so its faces leave review and suggestions
       (the faces stay, shared with identical files, but no project reaches them).
    2. A person or a category: the projects about it are archived, as a moderator would.
    Later crawls and searches skip what is withheld; pending edits are the caller's (depicts
    sits above this app).
    """
    if withholding.kind == Withholding.Kind.FILE:
        deleted, _by_model = ProjectImage.objects.filter(image__title=withholding.value).delete()
        return deleted
    return projects_withhold(withholding=withholding, by=by)


def withholding_recrawl(*, withholding: Withholding) -> int:
    """A withheld category: every active project is crawled again from the start, at once.

    Which files are reached only through the category, only a crawl can tell (Commons is
    never asked inside a web request): each fresh pass skips the category and unlinks what
    it no longer meets (``pipeline._links_sweep``); a file also reached another way stays.
    Lists and searches check the categories of their files again. Returns how many projects.
    """
    if withholding.kind != Withholding.Kind.CATEGORY:
        return 0
    projects = Project.objects.active()
    ids = list(projects.values_list("pk", flat=True))
    # A crawl under way restarts too: its pass may have met files through the category.
    Project.objects.filter(pk__in=ids).update(crawl_cursor=None)
    enqueue_each("faces.crawl.project", ids)
    return len(ids)
