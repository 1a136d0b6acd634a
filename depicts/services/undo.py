"""Undo: a sent batch's additions are removed again (:func:`batch_revert`, :func:`edit_revert`),
each only if the statement is unchanged on Commons.
"""

from __future__ import annotations

import time
import uuid

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commons.client import commons_client
from commons.mediainfo import new_statement_id, pct_region, region_fractions, remove_claims
from commons.oauth import user_auth
from commons.types import Statement
from depicts.models import DepictsEdit
from depicts.policy import Step, write_refusal
from depicts.services.common import (
    ADD,
    EditNotAllowed,
    Sleep,
    State,
    claim_timeout,
    depicts_of_page,
    enqueue_writes,
    find_statement,
)
from depicts.services.sending import (
    GONE,
    WRITE_RETRY,
    ClaimedRun,
    SendOutcome,
    before_write,
    change_tags,
    finish,
    load_edit,
    not_now,
    run_claimed,
    state_of,
)
from projects.models import Project


def revert_summary(edit: DepictsEdit) -> str:
    qid = edit.written_qid or edit.qid
    return f"WikiVisage: undo depicts [[d:{qid}|{qid}]] added by WikiVisage"


def batch_revert(*, project: Project, batch: uuid.UUID, user: User) -> int:
    """Queue the removal of every statement a batch added; only its sender (or a moderator).

    The removals are sent by ``write`` tasks under ``user``'s login; a statement changed on
    Commons since it was written is left alone (:func:`edit_revert`).
    """
    batch_edits = DepictsEdit.objects.filter(project=project, batch=batch)
    if not user.is_staff and batch_edits.exclude(sent_by=user).exists():
        raise EditNotAllowed(f"only who sent batch {batch} (or a moderator) can undo it")
    user_auth(user)
    edits = batch_edits.filter(action=ADD, state=State.SENT).select_related("image")
    with transaction.atomic():
        ids = [edit.pk for edit in edits if not _undo_refused(edit, user)]
        count = DepictsEdit.objects.filter(pk__in=ids, state=State.SENT).update(
            state=State.REVERT_QUEUED,
            reverted_by=user,
            updated_at=timezone.now(),
            claimed_at=None,
            attempts=0,
            error="",
        )
        enqueue_writes("revert", ids)
    return count


def _undo_refused(edit: DepictsEdit, user: User) -> bool:
    """The write policy refuses this undo for good: the statement stays, with the reason."""
    refusal = write_refusal(edit, step=Step.UNDO, actor=user)
    if refusal is None or not refusal.final:
        return False
    DepictsEdit.objects.filter(pk=edit.pk, state=State.SENT).update(
        error=refusal.reason, updated_at=timezone.now()
    )
    return True


def edit_revert(*, edit_id: int, sleep: Sleep = time.sleep) -> SendOutcome:
    """Remove one statement WikiVisage wrote, by its stored id, if it is unchanged.

    The same gates as :func:`edit_send`: the write policy (holds and who asked; an undo
    takes a statement away, so withholding does not stop it), a claim (revert_queued →
    reverting), the throttle of the user who asked for the revert.
    """
    edit = load_edit(edit_id)
    if edit is None or edit.state not in (State.REVERT_QUEUED, State.REVERTING):
        return SendOutcome(edit.state) if edit else GONE
    if not_now(edit, Step.UNDO, edit.reverted_by):
        return SendOutcome(edit.state)
    if not DepictsEdit.objects.claim(
        pk=edit.pk, state=State.REVERT_QUEUED, to=State.REVERTING, stale_after=claim_timeout()
    ):
        return SendOutcome(state_of(edit.pk))
    outcome = run_claimed(
        edit, edit.reverted_by, _revert_claimed, State.REVERTING, State.REVERT_QUEUED, sleep
    )
    if outcome.state == State.REVERTED:
        undone_back_to_approved(edit_id=edit.pk)
    return outcome


def undone_back_to_approved(*, edit_id: int) -> bool:
    """An addition this undo removed waits on the send page again, approved and unsent.

    Undoing a batch takes its statements off Commons, not the reviewers' yes: without this
    the faces would vanish from the grid (they have an edit) and from the send page (it is
    no longer approved). The statement id is new (the old one is gone from Commons); who
    sent it, when, in which batch, and who undid it when, stay on the row as its record until
    it is sent again. A statement someone else had removed first (the revert found it gone,
    and said so in ``error``) stays reverted: that removal is a say on the face.
    """
    edit = DepictsEdit.objects.select_related("image").get(pk=edit_id)
    return bool(
        DepictsEdit.objects.filter(pk=edit_id, state=State.REVERTED, error="").update(
            state=State.APPROVED,
            statement_id=new_statement_id(edit.image.pageid),
            attempts=0,
            updated_at=timezone.now(),
        )
    )


def _revert_claimed(run: ClaimedRun) -> str:
    edit = run.edit
    with commons_client(auth=user_auth(run.actor), retry=WRITE_RETRY, sleep=run.sleep) as client:
        ours = find_statement(depicts_of_page(client, edit.image.pageid), edit.statement_id)
        if ours is None:
            finish(edit, State.REVERTING, State.REVERTED, error="already gone from Commons")
            return State.REVERTED
        if not is_unchanged(ours, edit):
            finish(edit, State.REVERTING, State.SENT, error="changed on Commons; left as it is")
            return State.SENT
        before_write(run)
        remove_claims(
            client,
            pageid=edit.image.pageid,
            statement_ids=[str(edit.statement_id)],
            summary=revert_summary(edit),
            tags=change_tags(),
        )
    finish(edit, State.REVERTING, State.REVERTED)
    return State.REVERTED


def is_unchanged(statement: Statement, edit: DepictsEdit) -> bool:
    """The statement is still exactly what WikiVisage wrote: value, region and rank."""
    region = region_fractions(edit.region)
    written_region = pct_region(region) if region is not None else None
    return (
        statement.qid == (edit.written_qid or edit.qid)
        and statement.region == written_region
        and statement.rank == "normal"
    )
