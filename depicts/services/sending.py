"""Sending: the send page queues what a person confirmed (:func:`edits_queue`; a group's send
page, every person's at once, :func:`edits_queue_many`); one ``write`` task per edit sends it
under the sender's own login (:func:`edit_send`). The writer's run of a claimed edit (claim,
the write policy right before the write, retries, the outcome) is shared with the undo
(``depicts.services.undo``).

Nothing reaches Commons that a person did not approve, and nothing is written twice: each
edit is claimed with one conditional UPDATE, and an addition carries the statement id chosen
at approval, so any retry first looks on Commons for the statement it may already have made.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from commons.client import ApiClient, BadToken, commons_client, wikidata_client
from commons.files import STANDARD_WIDTHS, fetch_file_infos, fetch_file_state
from commons.mediainfo import depicts_only, region_fractions, remove_claims, set_depicts_claim
from commons.oauth import user_auth
from commons.types import Person, Statement
from commons.wikidata import get_person
from core.errors import PermanentError, TransientError
from core.retry import IN_TASK_RETRY, RetryPolicy
from core.transactions import retried
from depicts import throttle
from depicts.models import DepictsEdit
from depicts.policy import FILE_DELETED, Refusal, Step, write_refusal, write_refusals
from depicts.services.common import (
    ADD,
    Sleep,
    State,
    cancel_refused,
    claim_timeout,
    depicts_of_page,
    enqueue_writes,
    find_statement,
    statements_by_page,
)
from faces.models import ProjectImage
from projects.models import Notification, Project
from projects.notifications import notify

logger = logging.getLogger(__name__)


# A write's request is not retried in place (a worker would sit on a claimed edit): the edit
# goes back to the queue, which runs it again after edit_retry()'s backoff, counted on the edit
# itself (``attempts``) so that a restarted worker does not start the count again.
WRITE_RETRY = IN_TASK_RETRY

MAX_ATTEMPTS = 6

RETRY_CAP_SECONDS = 900.0


def rate_limit_pause() -> float:
    """Commons said "ratelimited" without a Retry-After: pause the user's edits this long
    (twice the first backoff: a minute by default)."""
    return 2 * edit_retry().base_delay


def edit_retry() -> RetryPolicy:
    """The backoff of a failed edit (base: ``WIKIVISAGE_WRITE_RETRY_SECONDS``)."""
    base = min(float(settings.WIKIVISAGE_WRITE_RETRY_SECONDS), RETRY_CAP_SECONDS)
    return RetryPolicy(max_attempts=MAX_ATTEMPTS, base_delay=base, max_delay=RETRY_CAP_SECONDS)


# A throttle slot further away than this is not waited for in the worker: the task comes back.
MAX_INLINE_WAIT = 5.0

THROTTLE_CODES = frozenset({"ratelimited", "actionthrottled", "http-429"})


@dataclass(frozen=True)
class QueuedBatch:
    batch: uuid.UUID
    count: int
    refused: int = 0  # cancelled by the write policy, each with its reason


def edits_queue(*, project: Project, user: User, edit_ids: Iterable[int]) -> QueuedBatch:
    """The user confirmed a project's preview: :func:`edits_queue_many` of that project."""
    return edits_queue_many(projects=[project], user=user, edit_ids=edit_ids)


@retried
def edits_queue_many(
    *, projects: Sequence[Project], user: User, edit_ids: Iterable[int]
) -> QueuedBatch:
    """The user confirmed the preview: these approved edits of ``projects`` (one project's
    send page, or every person of a group) go out under their own login, as one batch.

    Raises NoWikimediaToken at once for a user who cannot sign edits, rather than failing
    every task of the batch later. An edit the write policy refuses for good is cancelled
    with its reason, in the batch, so the send page shows why it did not leave.
    """
    user_auth(user)
    batch, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        chosen = DepictsEdit.objects.filter(
            project__in=[project.pk for project in projects],
            pk__in=list(edit_ids),
            state=State.APPROVED,
        )
        refused = _refuse_chosen(chosen, user=user, batch=batch, now=now)
        count = chosen.update(
            state=State.QUEUED,
            sent_by=user,
            batch=batch,
            queued_at=now,
            updated_at=now,
            claimed_at=None,
            attempts=0,
            error="",
        )
        ids = list(
            DepictsEdit.objects.filter(batch=batch, state=State.QUEUED).values_list("pk", flat=True)
        )
        enqueue_writes("send", ids)
    return QueuedBatch(batch=batch, count=count, refused=refused)


def _refuse_chosen(
    chosen: QuerySet[DepictsEdit], *, user: User, batch: uuid.UUID, now: datetime
) -> int:
    fields = {"sent_by": user, "batch": batch, "queued_at": now}
    edits = list(chosen)
    refusals = write_refusals(edits, step=Step.QUEUE, actor=user)  # one question for all
    return sum(
        cancel_refused(edit, refusal, **fields)
        for edit, refusal in zip(edits, refusals, strict=True)
    )


@dataclass(frozen=True)
class SendOutcome:
    """Where an edit stands after one run; ``retry_in``: run again after that many seconds."""

    state: str
    retry_in: float | None = None


GONE = SendOutcome(state="")


@dataclass(frozen=True)
class ClaimedRun:
    """One claimed edit on its way: who acts, which states it moves between."""

    edit: DepictsEdit
    actor: User
    claimed: str  # the state that says "a worker holds it" (sending, reverting)
    back: str  # where it returns for a later try (queued, revert_queued)
    sleep: Sleep


class _Refused(Exception):
    """The write policy refused the edit for good (``depicts.policy``): it is never written."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


class _FileDeleted(Exception):
    """The file was deleted on Commons since it was crawled: nothing can be written to it."""


class _NotNow(Exception):
    """The write cannot leave now: writes were stopped, or the user's next slot is far off."""

    def __init__(self, retry_in: float | None, reason: str = "") -> None:
        super().__init__(reason)
        self.retry_in = retry_in
        self.reason = reason


def edit_send(*, edit_id: int, sleep: Sleep = time.sleep) -> SendOutcome:
    """Send one queued edit to Commons, once, whatever fails.

    1. Writes stopped (global switch, or the project's)? Leave it queued: sending resumes
       when they are switched on again (the write policy's "not now").
    2. Claim it (queued → sending) with one conditional UPDATE: of two workers holding the
       same task, one sends and the other returns. An edit whose worker died holding it for
       longer than the claim timeout is taken over.
    3. Under the sender's own OAuth token: resolve the item on Wikidata, read the file, and
       write only what is missing (:func:`_add`, :func:`_remove`).
    4. Right before the write, the write policy again (``depicts.policy``: people, holds,
       withholding of the person as resolved, of the file and of every category it is in on
       Commons now, the new-upload wait, a re-upload) and the user's throttle slot; a slot
       far off hands the edit back to the queue.
    5. A transient failure puts it back in the queue with backoff (``failed`` after
       MAX_ATTEMPTS); a permanent one marks this edit failed with the reason, and the rest
       of the batch carries on.
    """
    edit = load_edit(edit_id)
    if edit is None or edit.state not in (State.QUEUED, State.SENDING):
        return SendOutcome(edit.state) if edit else GONE
    if not_now(edit, Step.SEND, edit.sent_by):
        return SendOutcome(edit.state)
    if not DepictsEdit.objects.claim(
        pk=edit.pk, state=State.QUEUED, to=State.SENDING, stale_after=claim_timeout()
    ):
        return SendOutcome(state_of(edit.pk))
    outcome = run_claimed(edit, edit.sent_by, _send_claimed, State.SENDING, State.QUEUED, sleep)
    batch_check(edit=edit)
    return outcome


def batch_check(*, edit: DepictsEdit) -> bool:
    """Tell the members once the batch of ``edit`` is settled (nothing of it waits to be sent):
    how many went out, and how many failed, once per batch (the event). A group's batch holds
    the edits of several projects: the members of each are told of their project's part."""
    if edit.batch is None:
        return False
    batch = DepictsEdit.objects.filter(batch=edit.batch)
    if batch.filter(state__in=(State.QUEUED, State.SENDING)).exists():
        return False
    parts = batch.values("project_id").annotate(
        failed=Count("pk", filter=Q(state=State.FAILED)),
        sent=Count("pk", filter=~Q(state__in=(State.FAILED, State.CANCELLED))),
    )
    counts = {part.pop("project_id"): part for part in parts.order_by("project_id")}
    others = [pk for pk in counts if pk != edit.project_id]
    projects = {edit.project_id: edit.project, **Project.objects.in_bulk(others)}
    told = False
    for pk, part in counts.items():
        kind = Notification.Kind.SEND_FAILED if part["failed"] else Notification.Kind.SEND_FINISHED
        event = f"batch:{edit.batch}"
        told |= bool(notify(project=projects[pk], kind=kind, event=event, **part))
    return told


def load_edit(edit_id: int) -> DepictsEdit | None:
    return (
        DepictsEdit.objects.select_related("project", "image", "sent_by", "reverted_by")
        .filter(pk=edit_id)
        .first()
    )


def not_now(edit: DepictsEdit, step: Step, actor: User | None) -> bool:
    """A hold or a switch: the edit is not claimed at all (a final refusal is, to end it)."""
    refusal = write_refusal(edit, step=step, actor=actor)
    return refusal is not None and not refusal.final


def state_of(edit_id: int) -> str:
    return DepictsEdit.objects.filter(pk=edit_id).values_list("state", flat=True).first() or ""


def run_claimed(
    edit: DepictsEdit,
    actor: User | None,
    step: Callable[[ClaimedRun], str],
    claimed: str,
    back: str,
    sleep: Sleep,
) -> SendOutcome:
    """Run ``step`` on a claimed edit; failures are classified here for sends and reverts."""
    if actor is None or not actor.is_active:
        return _give_up(edit, claimed, State.CANCELLED, "the user who sent it was deactivated")
    run = ClaimedRun(edit=edit, actor=actor, claimed=claimed, back=back, sleep=sleep)
    try:
        return SendOutcome(step(run))
    except _Refused as refused:
        state = State.FAILED if refused.refusal.failed else State.CANCELLED
        return _give_up(edit, claimed, state, str(refused))
    except _FileDeleted:
        return _give_up(edit, claimed, State.FAILED, FILE_DELETED)
    except _NotNow as pause:
        DepictsEdit.objects.release(pk=edit.pk, state=claimed, to=back, error=pause.reason)
        return SendOutcome(back, retry_in=pause.retry_in)
    except TransientError as error:
        return _transient(run, error)
    except BadToken as error:
        # Refused twice by one client; a later run starts a new session with a fresh token.
        return _transient(run, TransientError(error.code, error.info))
    except (PermanentError, ValidationError, ValueError) as error:
        return _give_up(edit, claimed, State.FAILED, str(error))


def before_write(
    run: ClaimedRun, *, client: ApiClient | None = None, person: Person | None = None
) -> None:
    """Checked right before a write, from the database and Commons, not from what the run
    read before:

    1. A send asks Commons for the file as it is now (exists, SHA1, every category).
    2. The write policy (:func:`_enforce`): refused for good, the edit ends (_Refused);
       a hold or a switch, it goes back to the queue (_NotNow).
    3. The user's throttle slot is waited for, or the edit handed back when it is far off.
    """
    file = fetch_file_state(client, pageid=run.edit.image.pageid) if client else None
    _enforce(run, file=file, person_qid=person.qid if person else "")
    try:
        slot = throttle.reserve(user_id=run.actor.pk, max_wait=MAX_INLINE_WAIT)
    except throttle.ThrottleContention:
        raise _NotNow(1.0) from None
    if not slot.reserved:
        raise _NotNow(slot.wait)
    run.sleep(slot.wait)


def _enforce(run: ClaimedRun, **facts: Any) -> None:
    """The write policy (``depicts.policy.write_refusal``) for the claimed edit, now."""
    step = Step.UNDO if run.claimed == State.REVERTING else Step.SEND
    refusal = write_refusal(run.edit, step=step, actor=run.actor, **facts)
    if refusal is not None and refusal.final:
        raise _Refused(refusal)
    if refusal is not None:
        raise _NotNow(None, refusal.reason)


def _give_up(edit: DepictsEdit, claimed: str, state: str, reason: str) -> SendOutcome:
    # A revert that cannot be made leaves the statement, and so the edit, as they were.
    settled = State.SENT if claimed == State.REVERTING else state
    finish(edit, claimed, settled, error=reason)
    return SendOutcome(settled)


def _transient(run: ClaimedRun, error: TransientError) -> SendOutcome:
    if error.code in THROTTLE_CODES:
        throttle.hold_off(user_id=run.actor.pk, seconds=error.retry_after or rate_limit_pause())
    attempts = run.edit.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        reason = f"gave up after {attempts} tries: {error}"
        return _give_up(run.edit, run.claimed, State.FAILED, reason)
    DepictsEdit.objects.release(
        pk=run.edit.pk, state=run.claimed, to=run.back, error=str(error), failed=True
    )
    logger.info("edit %s: %s; try %d of %d", run.edit.pk, error, attempts, MAX_ATTEMPTS)
    return SendOutcome(run.back, retry_in=retry_delay(attempts, error.retry_after))


def retry_delay(attempt: int, retry_after: float | None, rng: random.Random | None = None) -> float:
    """The edit backoff before the ``attempt``-th try again (counted from 1)."""
    return edit_retry().delay(max(0, attempt - 1), retry_after, rng or _rng)


_rng = random.Random()


def finish(edit: DepictsEdit, claimed: str, state: str, **changes: object) -> bool:
    """Record the fate of a claimed edit; a no-op if the claim was lost meanwhile."""
    now = timezone.now()
    fields = {"error": "", **changes, "state": state, "claimed_at": None, "updated_at": now}
    if state in (State.SENT, State.ALREADY_PRESENT) and claimed == State.SENDING:
        fields["sent_at"] = now
    if state == State.REVERTED:
        fields["reverted_at"] = now
    done = DepictsEdit.objects.filter(pk=edit.pk, state=claimed).update(**fields) == 1
    if not done:
        logger.warning("edit %s left %s before its outcome %s was kept", edit.pk, claimed, state)
    return done


def _send_claimed(run: ClaimedRun) -> str:
    _enforce(run)  # before anything is asked of Wikimedia; again right before the write
    person = _resolve(run.edit.qid, run.sleep)
    auth = user_auth(run.actor)
    with commons_client(auth=auth, retry=WRITE_RETRY, sleep=run.sleep) as client:
        if run.edit.is_removal:
            return _remove(client, run, person)
        return _add(client, run, person)


def _resolve(qid: str, sleep: Sleep) -> Person:
    """The item to write: a redirect is followed; a deleted item raises PersonNotFound."""
    with wikidata_client(retry=WRITE_RETRY, sleep=sleep) as wikidata:
        return get_person(wikidata, qid=qid, languages=[settings.LANGUAGE_CODE])


def _add(client: ApiClient, run: ClaimedRun, person: Person) -> str:
    """Read the file's P180 first: ours already there, or the person already depicted, means
    nothing is written; otherwise one ``wbsetclaim`` under the stored statement id. A file
    deleted on Commons meanwhile fails the edit (_FileDeleted)."""
    edit = run.edit
    depicts = _depicts_of_existing(client, edit.image.pageid)
    written = {"written_qid": person.qid}
    if find_statement(depicts, edit.statement_id) is not None:
        # An earlier attempt got through but its outcome was never recorded.
        finish(edit, State.SENDING, State.SENT, **written)
        return State.SENT
    # Any rank counts: a deprecated P180 of this person is someone saying it is wrong.
    if any(statement.qid in (person.qid, edit.qid) for statement in depicts):
        finish(edit, State.SENDING, State.ALREADY_PRESENT, **written)
        return State.ALREADY_PRESENT
    before_write(run, client=client, person=person)
    result = set_depicts_claim(
        client,
        pageid=edit.image.pageid,
        qid=person.qid,
        statement_id=str(edit.statement_id),
        region=region_fractions(edit.region),
        summary=add_summary(person),
        tags=change_tags(),
    )
    finish(edit, State.SENDING, State.SENT, revision=result.revision, **written)
    return State.SENT


def _remove(client: ApiClient, run: ClaimedRun, person: Person) -> str:
    edit = run.edit
    doomed = [
        s.id for s in depicts_of_page(client, edit.image.pageid) if s.qid in (person.qid, edit.qid)
    ]
    if not doomed:
        finish(edit, State.SENDING, State.ALREADY_PRESENT, written_qid=person.qid)
        _no_longer_depicted(edit)
        return State.ALREADY_PRESENT
    before_write(run, client=client, person=person)
    removed = remove_claims(
        client,
        pageid=edit.image.pageid,
        statement_ids=doomed,
        summary=remove_summary(person),
        tags=change_tags(),
    )
    finish(edit, State.SENDING, State.SENT, written_qid=person.qid, removed_statements=removed)
    _own_statements_reverted(edit, removed)
    _no_longer_depicted(edit)
    return State.SENT


def _no_longer_depicted(removal: DepictsEdit) -> None:
    """The file no longer depicts the person on Commons: its faces leave the grid's "on
    Commons" view, and the page stops excluding the file from suggestions."""
    ProjectImage.objects.filter(project_id=removal.project_id, image_id=removal.image_id).update(
        depicts_person=False
    )


def _own_statements_reverted(removal: DepictsEdit, statement_ids: Sequence[str]) -> None:
    """Statements WikiVisage itself wrote that a removal took away: reverted, not learnt."""
    now = timezone.now()
    DepictsEdit.objects.filter(
        action=ADD, state=State.SENT, statement_id__in=list(statement_ids)
    ).update(state=State.REVERTED, reverted_by=removal.sent_by, reverted_at=now, updated_at=now)


def _depicts_of_existing(client: ApiClient, pageid: int) -> list[Statement]:
    """:func:`depicts_of_page` of a file that must still exist, or _FileDeleted.

    A deleted file's MediaInfo entity is "missing", but so is that of a file whose structured
    data was never edited (WIKIMEDIA-API.md §1.3): only then is the page itself asked for.
    """
    statements = statements_by_page(client, [pageid]).get(pageid)
    if statements is None:
        found = fetch_file_infos(client, pageids=[pageid], width=STANDARD_WIDTHS[0]).files
        if not any(info.pageid == pageid for info in found):
            raise _FileDeleted
        statements = []
    return depicts_only(statements)


# Edit summaries are written in English, as is usual on Commons, whatever the user's language.
def add_summary(person: Person) -> str:
    return f"WikiVisage: depicts {_person_link(person)} (face confirmed by a person)"


def remove_summary(person: Person) -> str:
    return f"WikiVisage: remove depicts {_person_link(person)} (a reviewer said it is not them)"


def _person_link(person: Person) -> str:
    label = (person.label or person.qid)[:100]
    return f"[[d:{person.qid}|{label}]]"


def change_tags() -> tuple[str, ...]:
    tag = settings.WIKIVISAGE_CHANGE_TAG
    return (tag,) if tag else ()
