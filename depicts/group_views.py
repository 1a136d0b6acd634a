"""A group's send page: every person's approved edits previewed together and, once the user
confirms, queued as one batch (one P180 per file and person, each with its own region).

Who may use it is who may use each person's own send page (``projects.access.group_for``:
a role in every project of the group, or a moderator); the write policy decides per edit as
it does there (``depicts.services.sending.edits_queue_many``)."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.views.decorators.http import require_http_methods

from core.ratelimit import rate_limited
from depicts import group_selectors
from projects.access import group_for
from projects.models import Project, ProjectGroup

from .views import queue_confirmed


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@rate_limited("send", per_minute=10, methods=("POST",))
def group_send(request: HttpRequest, pk: int) -> HttpResponse:
    """GET (and HEAD): the preview of every person's approved edits; POST: queue the ticked
    ones as one batch."""
    group, projects = group_for(request, pk)
    if request.method == "POST":
        return _group_confirm(request, group, projects)
    page = group_selectors.group_send_page(
        projects=projects,
        user=cast(User, request.user),
        language=get_language(),
        batch=_batch(request.GET.get("batch", "")),
    )
    context = {"group": group, "page": page}
    return render(request, "depicts/group_send.html", context)


def _batch(text: str) -> uuid.UUID | None:
    """The batch the page follows (the one just sent); a malformed one is no batch."""
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _group_confirm(
    request: HttpRequest, group: ProjectGroup, projects: list[Project]
) -> HttpResponse:
    return queue_confirmed(
        request,
        projects=projects,
        approved=group_selectors.approved_ids(projects),
        back=reverse("projects:group-send", args=[group.pk]),
        queued_text=lambda count: ngettext(
            "%(count)d statement queued in one batch.",
            "%(count)d statements queued in one batch.",
            count,
        ),
        refused_text=lambda count: ngettext(
            "%(count)d edit cannot be written: the send page of its person says why.",
            "%(count)d edits cannot be written: the send pages of their people say why.",
            count,
        ),
    )
