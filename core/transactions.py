"""Transactions that MariaDB may refuse for a moment, run again.

Two reviewers answering at the same instant, or an answer beside the learner's run, can lock
the same rows in opposite orders: InnoDB then rolls one transaction back whole (a deadlock,
1213), or one waits past ``innodb_lock_wait_timeout`` (1205). Neither says anything about the
request itself, so the whole transaction is tried again, a bounded number of times, before
any error reaches the contributor. Only at the outermost level: inside an enclosing
transaction the rolled-back work is the caller's, and it is the caller that runs again.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import OperationalError, connection

logger = logging.getLogger(__name__)

DEADLOCK, LOCK_WAIT_TIMEOUT = 1213, 1205
TRANSIENT_CODES = frozenset({DEADLOCK, LOCK_WAIT_TIMEOUT})
ATTEMPTS = 5
# A short pause, longer each time and jittered, lets the other transaction finish first.
FIRST_PAUSE_SECONDS = 0.02

P = ParamSpec("P")
R = TypeVar("R")


def transient(error: OperationalError) -> bool:
    """Whether the database refused the transaction for a moment (not for what it holds)."""
    return bool(error.args) and error.args[0] in TRANSIENT_CODES


def retried(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` (which opens its own transaction) again after a deadlock or a lock wait
    timeout, up to ATTEMPTS times in all; ``func`` must be safe to repeat from the start."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        outermost = not connection.in_atomic_block
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except OperationalError as error:
                if not (outermost and transient(error)) or attempt == ATTEMPTS:
                    raise
                logger.info("%s: %s; attempt %d again", func.__qualname__, error, attempt + 1)
                time.sleep(FIRST_PAUSE_SECONDS * attempt * (1 + random.random()))
        raise AssertionError("unreachable")

    return run
