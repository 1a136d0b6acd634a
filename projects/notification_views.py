"""Pages of the notifications: the reader's list, opening one, all read, a member's choice.

Thin like the other views: the list reads the reader's own rows only (another person's
notification is a 404, never a 403 that would confirm it exists); every change is a POST.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from core.http import AuthenticatedRequest
from core.ratelimit import rate_limited

from . import notifications
from .access import project_for
from .models import Membership, Notification

PAGE_SIZE = 25


@login_required
@require_safe
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    """The reader's notifications, newest first; a page number that is not one shows page 1
    (or the last page, when past it)."""
    rows = Notification.objects.shown_to(request.user).select_related("project")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "notifications/list.html", {"page": page})


@login_required
@require_safe
@rate_limited("bell", per_minute=120)
def notification_count(request: AuthenticatedRequest) -> JsonResponse:
    """The bell's number, polled by every page while it is open (static/js/bell.js)."""
    unread = Notification.objects.shown_to(request.user).unread().count()
    label = ngettext("%(n)s unread", "%(n)s unread", unread) % {"n": unread}
    return JsonResponse({"unread": unread, "label": label})


@login_required
@require_POST
def notification_open(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(Notification.objects.shown_to(request.user), pk=pk)
    notifications.notification_open(notification=notification)
    return redirect(notification.get_absolute_url())


@login_required
@require_POST
def notifications_read_all(request: AuthenticatedRequest) -> HttpResponse:
    notifications.notifications_read(user=request.user)
    messages.success(request, _("All notifications are marked as read."))
    return redirect("notifications:list")


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["notify_on_site", "notify_by_email"]


@login_required
@require_POST
@rate_limited("manage", per_minute=30)
def notification_settings(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """A member's own choice for this project (a moderator who is no member has none)."""
    project = project_for(request, pk)
    membership = project.memberships.filter(user=request.user).first()
    if membership is None:
        messages.error(request, _("Only the members of a project are told of its news."))
        return redirect("projects:detail", project.pk)
    form = NotificationSettingsForm(request.POST, instance=membership)
    if form.is_valid():
        notifications.membership_notifications_set(
            membership=membership,
            on_site=form.cleaned_data["notify_on_site"],
            by_email=form.cleaned_data["notify_by_email"],
            language=get_language(),
        )
        messages.success(request, _("Your notification settings are saved."))
    return redirect("projects:detail", project.pk)
