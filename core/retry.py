"""The one retry policy: exponential backoff with equal jitter, capped. Django-free.

Used in place by the doors to outside services (``commons.client``, ``faces.modelclient``)
and by the task queue (``core.enqueue.retry_later``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.errors import TransientError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with equal jitter, capped; ``Retry-After`` is a floor, not a hint."""

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError(f"not a usable retry policy: {self}")

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        jittered = backoff / 2 + rng.uniform(0, backoff / 2)
        return min(self.max_delay, max(jittered, retry_after or 0.0))

    def gives_up(self, attempt: int, error: TransientError) -> bool:
        # A server asking for a longer pause than our cap gets it from the task queue instead
        # of from a worker sleeping in place.
        too_long = (error.retry_after or 0.0) > self.max_delay
        return attempt + 1 >= self.max_attempts or too_long


# In place, for a command or a page (a person waits, a few seconds at most).
DEFAULT_RETRY = RetryPolicy()
# Inside a task a client does not retry in place: the queue retries the whole task later
# with TASK_RETRY (core.enqueue.retry_later). A worker never sleeps holding an image or an
# edit, and the attempts of the two never multiply.
IN_TASK_RETRY = RetryPolicy(max_attempts=1)
TASK_RETRY = RetryPolicy(max_attempts=9, base_delay=30.0, max_delay=1800.0)
