"""The one way services ask for background work: a task by its name, after commit.

Services never import tasks: a task module imports the services it calls, and importing back
would make a cycle. The task names (``"faces.detect.image"``) are the contract; they also route
each message to its queue (``wikivisage/celery.py``).

The message leaves when the surrounding transaction commits, so a worker never looks for a
row that is not there yet, and a rolled-back change queues nothing. A broker that is down is
handled here, once: the failure is logged and the request is dropped, because every piece of
queued work has a periodic sweep that finds what a lost message left behind
(``faces.detect.reclaim`` for images, ``faces.learn.pending`` for re-scorings,
``depicts.write.resume`` for edits, ``faces.crawl.recrawl_active`` for crawls).

Tests replace :data:`send` with a recorder (``tests/conftest.py``), and call the task
functions they mean to test.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from celery import Task, current_app
from django.db import transaction
from kombu.exceptions import OperationalError

from core.errors import TransientError
from core.retry import TASK_RETRY, RetryPolicy

logger = logging.getLogger(__name__)


def enqueue(task: str, *args: Any, countdown: float | None = None) -> None:
    """Run ``task`` with ``args`` in a worker, once the current transaction has committed."""
    transaction.on_commit(lambda: send(task, args, countdown))


def enqueue_each(task: str, ids: Sequence[int]) -> None:
    """One ``task`` message per id (a detection per image, a write per edit)."""
    for pk in list(ids):
        enqueue(task, pk)


def retry_later(task: Task, error: TransientError, *, policy: RetryPolicy = TASK_RETRY) -> NoReturn:
    """Raise the Celery retry of ``task`` after ``policy``'s backoff (``Retry-After`` a floor);
    past the policy's attempts, ``error`` itself. Every task that meets a transient error of an
    outside service (Wikimedia, the model service) retries this way: one formula, in place and
    in the queue."""
    attempt = task.request.retries
    if attempt + 1 >= policy.max_attempts:
        raise error
    countdown = policy.delay(attempt, error.retry_after, _rng)
    raise task.retry(countdown=countdown, exc=error, max_retries=policy.max_attempts - 1)


_rng = random.Random()


def send_to_broker(task: str, args: tuple[Any, ...], countdown: float | None) -> None:
    try:
        current_app.send_task(task, args=args, countdown=countdown)
    except OperationalError:
        # The sweeps queue it again later; the user's change is committed and safe.
        logger.warning("broker unreachable: %s%r not queued; a periodic sweep will", task, args)


send: Callable[[str, tuple[Any, ...], float | None], None] = send_to_broker
