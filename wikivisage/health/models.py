"""Worker health: the web process's pings and each Celery queue's heartbeat row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import models
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """A ping sent from the web process and answered by a worker: proof the queue works."""

    token = models.UUIDField(unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        # The table keeps the name it had in the projects app (see migrations/0001_initial).
        db_table = "projects_heartbeat"
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.token} → {self.worker or '…'}"


class QueueHealthQuerySet(models.QuerySet):
    """One row per Celery queue, updated in place: the table never grows past the queues."""

    def row(self, queue: str) -> QueueHealthQuerySet:
        self.get_or_create(queue=queue)
        return self.filter(queue=queue)

    def answered(self, *, queue: str, worker: str, lag: float | None) -> None:
        """A worker of ``queue`` took its heartbeat ``lag`` seconds after beat sent it."""
        self.row(queue).update(answered_at=timezone.now(), worker=worker[:255], lag=lag)

    def failed(self, *, queue: str, failure: str, window: float) -> None:
        """Count a task of ``queue`` that failed for good; a count older than ``window``
        seconds starts again at one. Two first failures at the same instant may both start
        it: the count is a gauge for people, not a ledger."""
        now = timezone.now()
        rows = self.row(queue)
        last = {"last_failure": failure[:255], "last_failure_at": now}
        since = now - timedelta(seconds=window)
        if not rows.filter(failures_since__gte=since).update(failures=F("failures") + 1, **last):
            rows.update(failures=1, failures_since=now, **last)

    def beat_started(self, queues: Iterable[str]) -> None:
        """Beat started and sent each of ``queues`` its first heartbeat: until a worker answers,
        the queue is starting, not stale (for the stale limit at most)."""
        for queue in queues:
            self.row(queue).update(beat_started_at=timezone.now())

    def stall_seen(self, queue: str) -> datetime:
        """When a watch first saw the stall of ``queue`` that goes on now."""
        rows = self.row(queue)
        rows.filter(stall_seen_at__isnull=True).update(stall_seen_at=timezone.now())
        return rows.values_list("stall_seen_at", flat=True).get()

    def stall_reported(self, queue: str) -> bool:
        """Claim the report of a stall of ``queue``: true once per stall, for one caller."""
        unreported = self.row(queue).filter(stall_reported_at__isnull=True)
        return bool(unreported.update(stall_reported_at=timezone.now()))

    def stall_over(self, queue: str) -> None:
        self.filter(queue=queue).update(stall_seen_at=None, stall_reported_at=None)


class QueueHealth(models.Model):
    """What beat's periodic heartbeat and the workers' failures say about one Celery queue."""

    class Queue(models.TextChoices):
        DEFAULT = "default", _("default")
        CRAWL = "crawl", _("crawl")
        DETECT = "detect", _("detect")
        LEARN = "learn", _("learn")
        WRITE = "write", _("write")

    queue = models.CharField(_("queue"), max_length=32, choices=Queue.choices, unique=True)
    answered_at = models.DateTimeField(_("last heartbeat answered"), null=True, blank=True)
    worker = models.CharField(_("answered by"), max_length=255, blank=True, default="")
    lag = models.FloatField(
        _("waited (seconds)"),
        null=True,
        blank=True,
        help_text=_("How long the last answered heartbeat waited in the queue."),
    )
    failures = models.PositiveIntegerField(_("failed tasks"), default=0)
    failures_since = models.DateTimeField(_("failures counted since"), null=True, blank=True)
    last_failure = models.CharField(_("last failure"), max_length=255, blank=True, default="")
    last_failure_at = models.DateTimeField(_("last failure at"), null=True, blank=True)
    beat_started_at = models.DateTimeField(_("beat started"), null=True, blank=True)
    stall_seen_at = models.DateTimeField(_("stall seen since"), null=True, blank=True)
    stall_reported_at = models.DateTimeField(
        _("stall reported to moderators"), null=True, blank=True
    )

    objects = QueueHealthQuerySet.as_manager()

    class Meta:
        db_table = "projects_queuehealth"
        verbose_name = _("queue health")
        verbose_name_plural = _("queue health")
        ordering = ["queue"]

    def __str__(self) -> str:
        return self.queue
