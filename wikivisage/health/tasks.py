"""Celery entry points of worker health."""

from __future__ import annotations

import time

from celery import Task, shared_task

from . import services, status
from .models import QueueHealth

HEARTBEAT_SENT_AT = "wikivisage_sent_at"
"""The message header that carries when a heartbeat left (``wikivisage/celery.py`` sets it)."""


@shared_task(name=services.PING_TASK, ignore_result=True)
def heartbeat(token: str) -> None:
    """Answer a ping from the web process (see ``services.heartbeat_send``)."""
    services.heartbeat_answer(token=token)


def queue_heartbeat_name(queue: str) -> str:
    """The heartbeat task of ``queue``: its name routes it there (``wikivisage/celery.py``)."""
    return f"health.{queue}.queue_heartbeat"


def queue_heartbeat(task: Task, queue: str) -> None:
    """Answer beat's heartbeat on ``queue``: which worker took it, how long it waited."""
    sent = task.request.get(HEARTBEAT_SENT_AT)
    # Beat and the worker may run on two machines: a clock a little behind is no wait.
    lag = max(0.0, time.time() - float(sent)) if sent is not None else None
    QueueHealth.objects.answered(queue=queue, worker=task.request.hostname or "", lag=lag)


# One task per queue ("health.detect.queue_heartbeat"), so that routing by name takes each to
# its own queue and only that queue's workers answer.
for _queue in QueueHealth.Queue.values:
    shared_task(name=queue_heartbeat_name(_queue), bind=True, ignore_result=True)(queue_heartbeat)


@shared_task(name="health.default.watch_write_queue", ignore_result=True)
def watch_write_queue() -> None:
    """Tell moderators once when the write queue stalls (``status.write_stall_watch``)."""
    status.write_stall_watch()
