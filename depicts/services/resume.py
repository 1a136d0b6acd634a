"""Resuming: what no worker will pick up by itself is queued again (:func:`edits_resume`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from depicts.models import DepictsEdit, DepictsEditQuerySet, WriteSwitch
from depicts.services.cancel import edits_of_retired_cancel
from depicts.services.common import State, claim_timeout, enqueue_writes
from projects.models import Project


@dataclass(frozen=True)
class Resumed:
    sends: list[int]
    reverts: list[int]


def edits_resume(
    *,
    stale_after: timedelta | None = None,
    edits: DepictsEditQuerySet | None = None,
    force: bool = False,
) -> Resumed:
    """Queue again what no worker will pick up by itself, once writes are on.

    1. Edits claimed by a worker that died (claimed longer ago than ``stale_after``, by
       default the claim timeout) go back to the queue; the stored statement id makes the
       retry safe even if that worker's write got through.
    2. Queued edits untouched for that long (any queued edit with ``force``, as when a
       switch is turned back on) get a new task: a broker may lose a message (kombu's
       filesystem transport deletes it once a worker took it), and a stopped switch leaves
       edits queued with no task.
    3. Edits not sent yet whose file was re-uploaded are cancelled
       (:func:`edits_of_retired_cancel`).
    Duplicate tasks are harmless: only one of them can claim the edit.
    """
    stale = stale_after if stale_after is not None else claim_timeout()
    edits = edits if edits is not None else DepictsEdit.objects.all()
    now = timezone.now()
    abandoned = _abandoned_back_to_queue(edits, stale)
    edits_of_retired_cancel(edits=edits)
    if not WriteSwitch.writes_allowed():
        return Resumed(sends=[], reverts=[])
    waiting = edits.filter(project__in=Project.objects.writable())
    if not force:
        waiting = waiting.filter(Q(updated_at__lte=now - stale) | Q(pk__in=abandoned))
    resumed = Resumed(
        sends=list(waiting.filter(state=State.QUEUED).values_list("pk", flat=True)),
        reverts=list(waiting.filter(state=State.REVERT_QUEUED).values_list("pk", flat=True)),
    )
    DepictsEdit.objects.filter(pk__in=resumed.sends + resumed.reverts).update(updated_at=now)
    enqueue_writes("send", resumed.sends)
    enqueue_writes("revert", resumed.reverts)
    return resumed


def _abandoned_back_to_queue(edits: DepictsEditQuerySet, stale: timedelta) -> list[int]:
    moved = []
    for claimed, back in ((State.SENDING, State.QUEUED), (State.REVERTING, State.REVERT_QUEUED)):
        ids = list(edits.stale(state=claimed, before=stale).values_list("pk", flat=True))
        DepictsEdit.objects.filter(pk__in=ids, state=claimed).update(
            state=back, claimed_at=None, updated_at=timezone.now()
        )
        moved += ids
    return moved
