"""Telling a project's members what happened: on the site, and by e-mail to those who asked.

Apps above this one call :func:`notify` where they notice an event (the pipeline when the
photos are processed, the learner when suggestions appear, the writer when a batch is sent).
The rows keep a kind and figures; the sentence is written when it is read, in the reader's
language (``Notification.text``). An e-mail leaves from a worker of the ``default`` queue
after commit, so a slow mail server never holds the transaction of the task that noticed
the event.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core.enqueue import enqueue

from .models import Membership, Notification, Project, UploaderNotices

logger = logging.getLogger(__name__)

EMAIL_TASK = "projects.default.notification_email"


def notify(*, project: Project, kind: str, event: str, **params: int | str) -> list[Notification]:
    """Tell the members of ``project`` who want to hear of it, once per ``event``.

    1. Each active member with notifications on the site or by e-mail gets one row, unique
       for (member, project, event): the same event noticed twice (a task run again, two
       workers finishing at once) makes nothing new. ``event`` names the occurrence, e.g.
       ``batch:<uuid>`` or ``processed:120``; ``params`` are the figures the text shows.
    2. Each new row whose member asked for e-mail is queued for one e-mail, after commit.
    Returns the rows made now.
    """
    listening = Q(notify_on_site=True) | Q(notify_by_email=True)
    members = project.memberships.filter(listening, user__is_active=True)
    made = []
    for member in members.only("user_id", "notify_on_site", "notify_by_email"):
        notification, created = Notification.objects.get_or_create(
            recipient_id=member.user_id,
            project=project,
            event=event[:100],
            defaults={
                "kind": kind,
                "params": params,
                "on_site": member.notify_on_site,
                "email": member.notify_by_email,
            },
        )
        if created:
            made.append(notification)
            if notification.email:
                enqueue(EMAIL_TASK, notification.pk)
    return made


def uploader_notify(
    *, user: User, project: Project, event: str, count: int, by_email: bool
) -> Notification | None:
    """Tell an uploader of ``count`` suggestions on their files (``wikivisage.uploads``), once
    per ``event``; ``project`` is where the notice leads from (the page lists all of them).
    An e-mail is queued, after commit, when ``by_email`` and the user has an address. Returns
    the row made now, None when this event was told before."""
    notification, created = Notification.objects.get_or_create(
        recipient=user,
        project=project,
        event=event[:100],
        defaults={
            "kind": Notification.Kind.UPLOADS_SUGGESTED,
            "params": {"count": count},
            "email": by_email and bool(user.email),
        },
    )
    if not created:
        return None
    if notification.email:
        enqueue(EMAIL_TASK, notification.pk)
    return notification


def uploader_opt_out_set(*, user: User, opted_out: bool) -> None:
    """The user's own choice: no notices at all about suggestions on their uploads."""
    UploaderNotices.objects.update_or_create(user=user, defaults={"opted_out": opted_out})


def membership_notifications_set(
    *, membership: Membership, on_site: bool, by_email: bool, language: str
) -> None:
    """A member's own choice; the language they chose in is that of their e-mails."""
    membership.notify_on_site = on_site
    membership.notify_by_email = by_email
    membership.notify_language = language if language in dict(settings.LANGUAGES) else ""
    membership.save(update_fields=["notify_on_site", "notify_by_email", "notify_language"])


def notification_open(*, notification: Notification) -> None:
    """The reader followed it: read from now on (a second opening changes nothing)."""
    Notification.objects.filter(pk=notification.pk).mark_read()


def notifications_read(*, user: User) -> int:
    """Every notification of ``user`` read at once; returns how many were unread."""
    return Notification.objects.shown_to(user).mark_read()


# --- e-mail ---------------------------------------------------------------------------------


def project_address(project_id: int) -> str:
    """The project page's full address, for a reader outside the site (an e-mail)."""
    return _site_address(reverse("projects:detail", args=[project_id]))


def _site_address(path: str) -> str:
    return settings.WIKIVISAGE_TOOL_URL.rstrip("/") + path


def notification_email(*, notification_id: int) -> bool:
    """Send the e-mail of one notification, at most once; False when there is nothing to send.

    1. Claim the row (``emailed_at`` set with one conditional UPDATE): of two workers given
       the same message, one sends.
    2. Write it in the member's language, with the project's full address.
    3. A mail server that fails gives the claim back and re-raises, for the task's retry.
    """
    notification = (
        Notification.objects.select_related("recipient", "project")
        .filter(pk=notification_id, email=True, emailed_at__isnull=True)
        .first()
    )
    if notification is None or not notification.recipient.email:
        return False
    claim = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True)
    if not claim.update(emailed_at=timezone.now()):
        return False
    subject, body = _email_text(notification)
    try:
        send_mail(subject, body, None, [notification.recipient.email])
    except OSError:
        # smtplib's errors are OSErrors too: the claim is given back for the next try.
        Notification.objects.filter(pk=notification.pk).update(emailed_at=None)
        raise
    return True


def _email_text(notification: Notification) -> tuple[str, str]:
    language = (
        Membership.objects.filter(
            project_id=notification.project_id, user_id=notification.recipient_id
        )
        .values_list("notify_language", flat=True)
        .first()
    ) or settings.LANGUAGE_CODE
    with translation.override(language):
        person = notification.project.label_in(language)
        subject = _("WikiVisage: %(what)s (%(person)s)") % {
            "what": notification.get_kind_display(),
            "person": person,
        }
        body = "\n\n".join([notification.text(), *_email_footer(notification)])
    return subject, body + "\n"


def _email_footer(notification: Notification) -> list[str]:
    """Where the e-mail leads, and why its reader receives it."""
    if notification.kind == Notification.Kind.UPLOADS_SUGGESTED:
        return [
            _site_address(notification.get_absolute_url()),
            _(
                "You receive this e-mail because you uploaded these photos to Wikimedia "
                "Commons and the project's owner asked to tell uploaders by e-mail. To stop "
                "these notices, switch them off on your uploads page."
            ),
        ]
    return [
        project_address(notification.project_id),
        _(
            "You receive this e-mail because you asked for e-mails about this project. "
            "To stop them, untick “by e-mail” on the project page."
        ),
    ]
