"""The per-user edit throttle, shared by every write worker through the database.

Commons limits edits per account (WIKIMEDIA-API.md §1.6), whichever worker sends them, so
the throttle lives in one row per user (:class:`depicts.models.WriteThrottle`): the time the
user's next edit may leave. A worker reserves a slot by moving that time forward with a
compare-and-swap on the row's ``version`` — a conditional UPDATE, which behaves the same on
SQLite and MariaDB and needs neither Redis nor a lock held across the wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from depicts.models import WriteThrottle

# Compare-and-swap rounds before giving up; each lost round means another worker reserved.
MAX_ROUNDS = 20


class ThrottleContention(RuntimeError):
    """Every round lost to other workers: the caller retries later."""


@dataclass(frozen=True)
class Slot:
    """A reserved moment for one edit: ``wait`` seconds from now (0 when it is now).

    ``reserved`` is False when the slot is further away than the caller would wait: nothing
    was reserved and the caller should come back after ``wait`` seconds.
    """

    wait: float
    reserved: bool


def edit_interval() -> timedelta:
    per_second = float(settings.WIKIVISAGE_EDITS_PER_SECOND)
    if per_second <= 0:
        raise ImproperlyConfigured("WIKIVISAGE_EDITS_PER_SECOND must be above 0")
    return timedelta(seconds=1 / per_second)


def reserve(*, user_id: int, max_wait: float, interval: timedelta | None = None) -> Slot:
    """Reserve the user's next edit slot, unless it is more than ``max_wait`` seconds away."""
    interval = interval if interval is not None else edit_interval()
    for _round in range(MAX_ROUNDS):
        row = _row(user_id)
        now = timezone.now()
        start = max(now, row.next_allowed_at)
        wait = (start - now).total_seconds()
        if wait > max_wait:
            return Slot(wait=wait, reserved=False)
        if _swap(row, start + interval):
            return Slot(wait=wait, reserved=True)
    raise ThrottleContention(f"no edit slot for user {user_id} after {MAX_ROUNDS} rounds")


def hold_off(*, user_id: int, seconds: float) -> None:
    """No edit of this user before ``seconds`` from now (Commons said ``ratelimited``).

    Only ever moves the time forward: a shorter pause must not cancel a longer one.
    """
    until = timezone.now() + timedelta(seconds=seconds)
    _row(user_id)
    WriteThrottle.objects.filter(user_id=user_id, next_allowed_at__lt=until).update(
        next_allowed_at=until, version=F("version") + 1
    )


def next_allowed_at(*, user_id: int) -> datetime | None:
    return (
        WriteThrottle.objects.filter(user_id=user_id)
        .values_list("next_allowed_at", flat=True)
        .first()
    )


def _row(user_id: int) -> WriteThrottle:
    row = WriteThrottle.objects.filter(user_id=user_id).first()
    if row is not None:
        return row
    try:
        # A savepoint: two workers creating the row at once must not break the caller's
        # transaction; the loser reads the winner's row.
        with transaction.atomic():
            return WriteThrottle.objects.create(user_id=user_id, next_allowed_at=timezone.now())
    except IntegrityError:
        return WriteThrottle.objects.get(user_id=user_id)


def _swap(row: WriteThrottle, next_at: datetime) -> bool:
    swapped = WriteThrottle.objects.filter(user_id=row.user_id, version=row.version).update(
        next_allowed_at=next_at, version=row.version + 1
    )
    return swapped == 1
