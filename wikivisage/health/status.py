"""Worker health per Celery queue: beat's heartbeats, the broker's backlog, failed tasks.

Reads for /health, /health.json and the admin, and the watch that tells moderators, once per
stall, that the write queue stopped moving (nothing reaches Commons while it stands).

Each queue has one :class:`~wikivisage.health.models.QueueHealth` row: beat sends
``health.<queue>.queue_heartbeat`` every ``WIKIVISAGE_HEARTBEAT_SECONDS``, a worker of that
queue writes who answered and how long the message waited (``wikivisage.health.tasks``);
the workers' ``task_failure`` signal counts the tasks that failed for good
(``wikivisage/celery.py``). The backlog is read from the broker at the time of the page,
never stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from celery import Celery, current_app
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from .models import Heartbeat, QueueHealth

logger = logging.getLogger(__name__)

QUEUES: tuple[str, ...] = tuple(QueueHealth.Queue.values)
WRITE = QueueHealth.Queue.WRITE.value

# A health page must answer even when the broker does not: it waits this long, then says so.
BROKER_TIMEOUT_SECONDS = 2


def queue_backlog(
    queues: Iterable[str] = QUEUES, *, app: Celery | None = None
) -> dict[str, int | None]:
    """Messages waiting in each queue, asked of the broker; ``None`` for each when it does not
    answer.

    Both brokers count through kombu's own queue size (``queue_declare``):
    Redis, the length of the list named after the queue under ``global_keyprefix`` (kombu
    prefixes every key it touches), plus its priority lists; the filesystem broker, the
    ``<time>_<uuid>.<queue>.msg`` files in ``data_folder_in``. A message a worker has taken
    (running, or held for its countdown) is no longer waiting.
    """
    queues = list(queues)
    app = app or current_app
    options = {  # Redis's; the filesystem broker ignores them
        "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        "socket_timeout": BROKER_TIMEOUT_SECONDS,
    }
    try:
        with app.connection_for_read(
            connect_timeout=BROKER_TIMEOUT_SECONDS, transport_options=options
        ) as connection:
            connection.ensure_connection(max_retries=0)  # one try: "unknown" beats a wait
            channel = connection.default_channel
            return {queue: _waiting(channel, queue) for queue in queues}
    except (OperationalError, OSError) as error:
        logger.warning("broker unreachable, backlog unknown: %s", error)
        return dict.fromkeys(queues)


def _waiting(channel: Any, queue: str) -> int:
    # Not passive: kombu's passive check asks Redis EXISTS without the global key prefix (it
    # prefixes LLEN, not EXISTS), so it finds no queue. On Redis and the filesystem broker a
    # declare writes nothing: it records the queue in the channel and counts its messages.
    try:
        return int(channel.queue_declare(queue=queue).message_count)
    except FileNotFoundError:
        return 0  # the filesystem broker's folder is made by the first process that sends


def last_heartbeat() -> Heartbeat | None:
    """The last ping a worker answered (``services.heartbeat_send``)."""
    return Heartbeat.objects.filter(answered_at__isnull=False).order_by("-answered_at").first()


def stale_seconds() -> int:
    return int(settings.WIKIVISAGE_HEARTBEAT_STALE_SECONDS)


def heartbeat_stale(answered_at: datetime | None, *, now: datetime | None = None) -> bool:
    """No heartbeat answered yet, or none for longer than the stale limit."""
    if answered_at is None:
        return True
    return (now or timezone.now()) - answered_at > timedelta(seconds=stale_seconds())


@dataclass(frozen=True)
class QueueStatus:
    queue: str
    answered_at: datetime | None
    worker: str
    lag: float | None  # how long the last answered heartbeat waited, in seconds
    backlog: int | None  # messages waiting now; None when the broker did not answer
    failures: int  # tasks that failed for good since failures_since
    failures_since: datetime | None
    last_failure: str
    stale: bool  # no heartbeat answered within WIKIVISAGE_HEARTBEAT_STALE_SECONDS
    starting: bool = False  # stale, but beat started less than the stale limit ago

    @property
    def waited(self) -> int | None:
        """The last heartbeat's wait, in whole seconds."""
        return None if self.lag is None else round(self.lag)

    @property
    def stalled(self) -> bool:
        """No worker answers, or the last answer came after more than the stale limit."""
        return self.stale or (self.lag or 0) > stale_seconds()

    def as_dict(self, *, internals: bool = True) -> dict[str, Any]:
        """States and counts; with ``internals`` (staff), also which worker answered (host
        name and pid) and the last failed task with its error, which tell an outsider how
        the service is built."""
        data = {
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "waited_seconds": self.lag,
            "backlog": self.backlog,
            "failures": self.failures,
            "failures_since": self.failures_since.isoformat() if self.failures_since else None,
            "stale": self.stale,
            "starting": self.starting,
            "stalled": self.stalled,
        }
        if internals:
            data["worker"] = self.worker or None
            data["last_failure"] = self.last_failure or None
        return data


def queue_statuses(*, backlog: bool = True) -> list[QueueStatus]:
    """Every queue, in a fixed order, with or without asking the broker for its backlog."""
    rows = {row.queue: row for row in QueueHealth.objects.filter(queue__in=QUEUES)}
    waiting = queue_backlog(QUEUES) if backlog else dict.fromkeys(QUEUES)
    now = timezone.now()
    return [_status(queue, rows.get(queue), waiting[queue], now) for queue in QUEUES]


def _status(queue: str, row: QueueHealth | None, backlog: int | None, now: datetime) -> QueueStatus:
    row = row or QueueHealth(queue=queue)
    window = timedelta(seconds=settings.WIKIVISAGE_FAILURE_WINDOW_SECONDS)
    counting = row.failures_since is not None and row.failures_since >= now - window
    stale = heartbeat_stale(row.answered_at, now=now)
    return QueueStatus(
        queue=queue,
        answered_at=row.answered_at,
        worker=row.worker,
        lag=row.lag,
        backlog=backlog,
        failures=row.failures if counting else 0,
        failures_since=row.failures_since if counting else None,
        last_failure=row.last_failure,
        stale=stale,
        starting=stale and _just_started(row, now),
    )


def _just_started(row: QueueHealth, now: datetime) -> bool:
    """Beat started less than the stale limit ago and no worker answered since: a fresh start
    (``make run``) waiting for its first answer, not a queue without workers."""
    started = row.beat_started_at
    if started is None or (row.answered_at is not None and row.answered_at >= started):
        return False
    return now - started <= timedelta(seconds=stale_seconds())


def write_queue_stalled() -> QueueStatus | None:
    """The write queue's status when it stalled (for the admin's banner), else ``None``."""
    (status,) = [s for s in queue_statuses(backlog=False) if s.queue == WRITE]
    return status if status.stalled else None


def write_stall_watch() -> bool:
    """Tell the site's admins and staff once per stall of the write queue; true if told now.

    1. Healthy again: the stall is over, and the next one will be reported.
    2. Stalled: remember when a watch first saw it. A stall younger than the stale limit is
       not reported: after a restart, beat's first heartbeat and this watch leave together,
       and the watch may run before a write worker had its turn to answer.
    3. The first watcher to claim the report (a conditional UPDATE) sends the mail.
    """
    stalled = write_queue_stalled()
    if stalled is None:
        QueueHealth.objects.stall_over(WRITE)
        return False
    seen = QueueHealth.objects.stall_seen(WRITE)
    if timezone.now() - seen < timedelta(seconds=stale_seconds()):
        return False
    if not QueueHealth.objects.stall_reported(WRITE):
        return False
    _mail_stall(stalled)
    return True


def _mail_stall(status: QueueStatus) -> None:
    """One mail to the site's ADMINS and every active staff user with an address."""
    if status.answered_at is None:
        seen = _("No write worker has answered a heartbeat yet.")
    else:
        seen = _("A write worker last answered a heartbeat at %(time)s (%(worker)s).") % {
            "time": status.answered_at.isoformat(timespec="seconds"),
            "worker": status.worker,
        }
    advice = _("Approved edits are not reaching Commons. See /health for every queue.")
    staff = get_user_model().objects.filter(is_staff=True, is_active=True).exclude(email="")
    recipients = {admin[1] for admin in settings.ADMINS}
    recipients.update(staff.values_list("email", flat=True))
    if recipients:
        subject = settings.EMAIL_SUBJECT_PREFIX + _("The write queue has stalled")
        send_mail(subject, f"{seen}\n\n{advice}", None, sorted(recipients), fail_silently=True)
