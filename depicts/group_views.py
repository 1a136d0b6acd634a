"""A group's send page: every person's approved edits previewed together and, once the user
confirms, queued as one batch (one P180 per file and person, each with its own region).

Who may use it is who may use each person's own send page (``projects.access.group_for``:
a role in every project of the group, or a moderator); the write policy decides per edit as
it does there (``depicts.services.sending.edits_queue_many``)."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from commons.oauth import NoWikimediaToken
from core.ratelimit import rate_limited
from depicts import group_selectors
from depicts.services import sending
from projects.access import group_for
from projects.models import Project, ProjectGroup

from .views import NO_TOKEN_MESSAGE, SendForm


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
    form = SendForm(request.POST, edit_ids=group_selectors.approved_ids(projects))
    back = reverse("projects:group-send", args=[group.pk])
    if not form.is_valid():
        messages.error(request, _("Choose the edits to send; some have left meanwhile."))
        return redirect(back)
    try:
        queued = sending.edits_queue_many(
            projects=projects, user=cast(User, request.user), edit_ids=form.cleaned_data["edit"]
        )
    except NoWikimediaToken:
        messages.error(request, NO_TOKEN_MESSAGE)
        return redirect(back)
    text = ngettext(
        "%(count)d statement queued in one batch.",
        "%(count)d statements queued in one batch.",
        queued.count,
    ) % {"count": queued.count}
    messages.success(request, text)
    if queued.refused:
        refused = ngettext(
            "%(count)d edit cannot be written: the send page of its person says why.",
            "%(count)d edits cannot be written: the send pages of their people say why.",
            queued.refused,
        ) % {"count": queued.refused}
        messages.warning(request, refused)
    return redirect(f"{back}?batch={queued.batch}")
