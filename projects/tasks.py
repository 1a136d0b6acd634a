"""Celery entry points of the projects app."""

from __future__ import annotations

import time

from celery import Task, shared_task

from commons.client import wikidata_client
from core.retry import IN_TASK_RETRY

from . import health, notifications, services
from .models import Project, QueueHealth

HEARTBEAT_SENT_AT = "wikivisage_sent_at"
"""The message header that carries when a heartbeat left (``wikivisage/celery.py`` sets it)."""


@shared_task(name="crawl.refresh_labels", ignore_result=True)
def refresh_labels() -> None:
    """With the periodic re-crawl: the labels of the active projects' persons, read from
    Wikidata again (``services.projects_labels_refresh``); a failure keeps the old ones
    until the next run, so nothing is retried here."""
    with wikidata_client(retry=IN_TASK_RETRY) as client:
        services.projects_labels_refresh(client=client, projects=Project.objects.active())


@shared_task(name="default.heartbeat", ignore_result=True)
def heartbeat(token: str) -> None:
    """Answer a ping from the web process (see ``services.heartbeat_send``)."""
    services.heartbeat_answer(token=token)


def queue_heartbeat(task: Task, queue: str) -> None:
    """Answer beat's heartbeat on ``queue``: which worker took it, how long it waited."""
    sent = task.request.get(HEARTBEAT_SENT_AT)
    # Beat and the worker may run on two machines: a clock a little behind is no wait.
    lag = max(0.0, time.time() - float(sent)) if sent is not None else None
    QueueHealth.objects.answered(queue=queue, worker=task.request.hostname or "", lag=lag)


# One task per queue, named after it ("detect.queue_heartbeat"), so that routing by name
# (wikivisage/celery.py) takes each to its own queue and only that queue's workers answer.
for _queue in QueueHealth.Queue.values:
    shared_task(name=f"{_queue}.queue_heartbeat", bind=True, ignore_result=True)(queue_heartbeat)


@shared_task(name="default.watch_write_queue", ignore_result=True)
def watch_write_queue() -> None:
    """Tell moderators once when the write queue stalls (``health.write_stall_watch``)."""
    health.write_stall_watch()


@shared_task(
    name="default.notification_email",
    ignore_result=True,
    # A mail server down or slow: try again later (smtplib's errors are OSErrors).
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=5,
)
def notification_email(notification_id: int) -> None:
    """E-mail one notification to its recipient (see ``notifications.notify``)."""
    notifications.notification_email(notification_id=notification_id)
