"""What the workflows of a depicts edit share: its states, the write tasks they queue, a
refused edit's cancellation, and the reads of a file's statements on Commons.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from commons.client import ApiClient
from commons.mediainfo import DEPICTS, fetch_statements
from commons.types import Statement
from core.enqueue import enqueue_each
from depicts.models import DepictsEdit
from depicts.policy import Refusal

State = DepictsEdit.State

ADD, REMOVE = DepictsEdit.Action.ADD, DepictsEdit.Action.REMOVE

DEFAULT_CLAIM_TIMEOUT = 600  # seconds; longer than the write task's hard time limit

Sleep = Callable[[float], None]


class EditNotAllowed(Exception):
    """The edit is not in a state where this can be done to it."""


def cancel_refused(edit: DepictsEdit, refusal: Refusal | None, **fields: object) -> bool:
    """Cancel a waiting edit the write policy refused for good, with the reason; a refusal
    that only means "not now" leaves it waiting."""
    if refusal is None or not refusal.final:
        return False
    changes = {"state": State.CANCELLED, "error": refusal.reason, "claimed_at": None, **fields}
    moved = DepictsEdit.objects.filter(pk=edit.pk, state=edit.state).update(
        updated_at=timezone.now(), **changes
    )
    edit.refresh_from_db()
    return bool(moved)


WRITE_TASKS = {"send": "depicts.write.edit", "revert": "depicts.write.revert"}


def enqueue_writes(kind: str, edit_ids: Sequence[int]) -> None:
    enqueue_each(WRITE_TASKS[kind], edit_ids)


def claim_timeout() -> timedelta:
    seconds = getattr(settings, "WIKIVISAGE_WRITE_CLAIM_TIMEOUT", DEFAULT_CLAIM_TIMEOUT)
    return timedelta(seconds=seconds)


def depicts_of_page(client: ApiClient, pageid: int) -> list[Statement]:
    statements = statements_by_page(client, [pageid]).get(pageid) or []
    return [statement for statement in statements if statement.property == DEPICTS]


def find_statement(statements: Iterable[Statement], statement_id: str | None) -> Statement | None:
    # Old statement ids may carry a lower-case entity prefix (mediainfo.statement_exists).
    wanted = (statement_id or "").casefold()
    return next((s for s in statements if wanted and s.id.casefold() == wanted), None)


def statements_by_page(client: ApiClient, pageids: Sequence[int]) -> dict[int, list[Statement]]:
    """Every statement of each file; a file whose entity is missing has no key at all:
    a file we wrote to has an entity, so "missing" means the page was deleted."""
    return fetch_statements(client, pageids=pageids, missing_as_empty=False)
