"""A ping from the web process, answered by any worker of the default queue."""

from __future__ import annotations

import os
import socket
import uuid

from django.db import transaction
from django.utils import timezone

from core.enqueue import enqueue

from .models import Heartbeat

PING_TASK = "health.default.heartbeat"


def heartbeat_send() -> Heartbeat:
    """Record a ping and hand it to a worker once the row is committed."""
    with transaction.atomic():
        beat = Heartbeat.objects.create(token=uuid.uuid4())
        enqueue(PING_TASK, str(beat.token))
    return beat


def heartbeat_answer(*, token: str) -> None:
    worker = f"{socket.gethostname()}:{os.getpid()}"
    Heartbeat.objects.filter(token=token, answered_at__isnull=True).update(
        answered_at=timezone.now(), worker=worker
    )
