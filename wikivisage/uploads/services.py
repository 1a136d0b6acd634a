"""Telling uploaders of the suggestions on their files: at most once a day, only of
suggestions they were not told of, never after they opted out."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commons.oauth import wikimedia_accounts
from projects.models import Project, UploaderNotices
from projects.notifications import uploader_notify
from wikivisage.uploads.selectors import pending_for

NOTICE_INTERVAL = timedelta(days=1)
TOLD_LIMIT = 5000  # label ids kept of the last notice: more than any page shows


def uploaders_notify(*, now: datetime | None = None) -> int:
    """One notice to each uploader with suggestions they were not told of; returns how many.

    1. The site's users with a Wikimedia account, by account name (one query).
    2. The pending suggestions on their files, in every project allowing uploaders (one
       query: label id, project, uploader).
    3. Per user: nothing when they opted out, were told less than a day ago, or every
       suggestion was in their last notice; else a notification (:func:`_notice_send`).
    Run twice, the second run tells nobody: the first one stamped every user it told.
    """
    now = now or timezone.now()
    accounts = wikimedia_accounts()
    if not accounts:
        return 0
    rows = pending_for(uploaders=accounts).values_list("pk", "project_id", "face__image__uploader")
    pending: dict[int, dict[int, int]] = defaultdict(dict)  # user → label id → project id
    for label_id, project_id, uploader in rows.order_by():
        pending[accounts[uploader]][label_id] = project_id
    notices = UploaderNotices.objects.in_bulk(list(pending))
    told = 0
    for user_id, labels in pending.items():
        notice = notices.get(user_id)
        if _quiet(notice, labels, now):
            continue
        told += _notice_send(user_id, labels, now)
    return told


def _quiet(notice: UploaderNotices | None, labels: dict[int, int], now: datetime) -> bool:
    if notice is None:
        return False
    if notice.opted_out or (notice.told_at and now - notice.told_at < NOTICE_INTERVAL):
        return True
    return not set(labels) - set(notice.told or [])


@transaction.atomic
def _notice_send(user_id: int, labels: dict[int, int], now: datetime) -> int:
    """The notice and the stamp, together: it leads from the project holding most of the
    suggestions; an e-mail too if one of their projects tells uploaders by e-mail."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    projects = Counter(labels.values())
    project = Project.objects.get(pk=projects.most_common(1)[0][0])
    by_email = Project.objects.filter(pk__in=list(projects), uploaders_by_email=True).exists()
    made = uploader_notify(
        user=user,
        project=project,
        event=f"uploads:{now:%Y-%m-%d}",
        count=len(labels),
        by_email=by_email,
    )
    UploaderNotices.objects.update_or_create(
        user_id=user_id, defaults={"told_at": now, "told": sorted(labels)[-TOLD_LIMIT:]}
    )
    return int(made is not None)
