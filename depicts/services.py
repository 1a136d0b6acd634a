"""Depicts edits from approval to Commons and back.

The review grid approves or rejects faces (:func:`edits_approve`, :func:`edits_reject`); a
statement on Commons that a reviewer contradicted is offered for removal on the send page
(:func:`contradicted`, :func:`contradiction_settle`); the send page queues what a person
confirmed (:func:`edits_queue`); one ``write`` task per edit sends it under the sender's own
login (:func:`edit_send`); a sent batch can be undone (:func:`batch_revert`,
:func:`edit_revert`); a periodic check learns from statements that someone else removed on
Commons (:func:`sent_edits_check`).

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
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from commons.client import ApiClient, BadToken, commons_client, wikidata_client
from commons.files import STANDARD_WIDTHS, fetch_file_infos, fetch_file_state
from commons.mediainfo import (
    DEPICTS,
    depicts_only,
    fetch_statements,
    new_statement_id,
    pct_region,
    region_fractions,
    remove_claims,
    set_depicts_claim,
)
from commons.oauth import user_auth
from commons.types import Person, Statement
from commons.wikidata import get_person
from core.enqueue import enqueue_each
from core.errors import PermanentError, TransientError
from core.retry import IN_TASK_RETRY, RetryPolicy
from core.transactions import retried
from depicts import throttle
from depicts.models import DepictsEdit, DepictsEditQuerySet, WriteSwitch
from depicts.policy import (
    FACE_RETIRED,
    FILE_DELETED,
    Refusal,
    Step,
    write_refusal,
    write_refusals,
    writes_allowed,  # noqa: F401 (the services' name for it, as callers know it)
)
from faces.models import Face, Label, ProjectImage
from faces.selectors import twin_groups
from projects.models import Notification, Project
from projects.notifications import notify

logger = logging.getLogger(__name__)

State = DepictsEdit.State
ADD, REMOVE = DepictsEdit.Action.ADD, DepictsEdit.Action.REMOVE

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
DEFAULT_CLAIM_TIMEOUT = 600  # seconds; longer than the write task's hard time limit

Sleep = Callable[[float], None]


class EditNotAllowed(Exception):
    """The edit is not in a state where this can be done to it."""


# --- approval (called by the review grid) -------------------------------------------------


@retried
@transaction.atomic
def edits_approve(*, project: Project, faces: Sequence[Face], user: User) -> list[DepictsEdit]:
    """One addition per file for the approved faces, ready for the send page.

    Idempotent: approving again returns the same edit; an edit still waiting takes the latest
    face and approver, and one already sent is left alone. A pending removal of the same
    statement (proposed when a face of the file was rejected) is withdrawn. An edit the write
    policy refuses for good (``depicts.policy``) is cancelled at once with its reason.
    """
    # The last face given for a file is its edit's face, as approving one after the other did.
    latest = {face.image_id: face for face in faces}
    edits = _approve_faces(project, list(latest.values()), user)
    _withdraw(project, image_ids=list(latest), action=REMOVE, face=None)
    approved = [edit for edit in edits if edit.state == State.APPROVED]
    # Asked once for them all: the policy's queries do not grow with the grid's page.
    for edit, refusal in zip(
        approved, write_refusals(approved, step=Step.APPROVE, actor=user), strict=True
    ):
        _cancel_refused(edit, refusal)
    return edits


def _cancel_refused(edit: DepictsEdit, refusal: Refusal | None, **fields: object) -> bool:
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


def face_region(face: Face) -> str:
    """The P2677 value of a face box, exactly as the writer will send it."""
    return pct_region((face.left, face.top, face.width, face.height))


def _approve_faces(project: Project, faces: Sequence[Face], user: User) -> list[DepictsEdit]:
    """The addition of each face's file (one face per file), in the faces' order: the files
    without one get theirs in one INSERT; the others are approved again one by one."""
    additions = DepictsEdit.objects.filter(project=project, qid=project.qid, action=ADD)
    ids = [face.image_id for face in faces]
    found = {edit.image_id: edit for edit in additions.filter(image_id__in=ids)}
    new = {f.image_id: _new_addition(project, f, user) for f in faces if f.image_id not in found}
    # A file approved meanwhile by someone else keeps its row (the unique constraint).
    DepictsEdit.objects.bulk_create(new.values(), ignore_conflicts=True)
    created = set()
    for edit in additions.filter(image_id__in=list(new)):
        found[edit.image_id] = edit
        if edit.statement_id == new[edit.image_id].statement_id:
            created.add(edit.image_id)
    for face in faces:
        if face.image_id not in created:
            _approve_again(project, found[face.image_id], face, user)
    return [found[image_id] for image_id in ids]


def _new_addition(project: Project, face: Face, user: User) -> DepictsEdit:
    return DepictsEdit(
        project=project,
        image_id=face.image_id,
        qid=project.qid,
        action=ADD,
        face=face,
        region=face_region(face) if project.write_face_region else "",
        approved_by=user,
        statement_id=new_statement_id(face.image.pageid),
    )


def _approve_again(project: Project, edit: DepictsEdit, face: Face, user: User) -> None:
    """An addition that was there already takes the latest face and approver, unless it is
    on its way or sent."""
    region = face_region(face) if project.write_face_region else ""
    if edit.state in (State.APPROVED, State.CANCELLED, State.FAILED):
        _reapprove(edit, face=face, region=region, user=user)
    elif edit.state == State.REVERTED:
        # The reverted statement id is gone from Commons; a new statement gets a new id.
        edit.statement_id = new_statement_id(face.image.pageid)
        _reapprove(edit, face=face, region=region, user=user)


REAPPROVED_FIELDS = [
    "face", "region", "approved_by", "state", "approved_at", "error", "attempts",
    "sent_by", "reverted_by", "batch", "reverted_at", "statement_id",
]  # fmt: skip


def _reapprove(edit: DepictsEdit, *, face: Face, region: str, user: User) -> None:
    """Approve again an edit that was not on its way; a send or revert that a worker took
    meanwhile wins (a conditional UPDATE, not a full-row save over the worker's state)."""
    seen = edit.state
    edit.face, edit.region, edit.approved_by = face, region, user
    edit.state, edit.approved_at, edit.error, edit.attempts = State.APPROVED, timezone.now(), "", 0
    edit.sent_by = edit.reverted_by = edit.batch = edit.reverted_at = None
    values = {name: getattr(edit, name) for name in REAPPROVED_FIELDS}
    if not DepictsEdit.objects.filter(pk=edit.pk, state=seen).update(**values):
        edit.refresh_from_db()


@retried
@transaction.atomic
def edits_reject(*, project: Project, faces: Sequence[Face], user: User) -> list[DepictsEdit]:
    """Rejected faces are never written: their unsent additions are cancelled, and those of
    the same faces in identical files of the project (``faces.selectors.twin_groups``).

    A rejected face whose P180 is already on Commons (a bootstrap "yes", or a statement
    WikiVisage sent) gets a *proposed* removal; it goes through the same approve → preview
    → send path as an addition and is never sent on its own. Returns those proposals.
    """
    proposals: dict[int, DepictsEdit] = {}
    for face in [*faces, *_twins(project, faces)]:
        _withdraw(project, image_ids=[face.image_id], action=ADD, face=face)
        if Face.objects.filter(statement_on_commons(project), pk=face.pk).exists():
            edit = _propose_removal(project, face, user)
            proposals[edit.pk] = edit
    return list(proposals.values())


def _twins(project: Project, faces: Sequence[Face]) -> list[Face]:
    """The same faces in identical files of the project: rejected with them (their human
    labels follow, ``faces.services.review``), so their edits go the same way."""
    given = {face.pk for face in faces}
    groups = twin_groups(project=project, face_ids=list(given))
    ids = {pk for group in groups for pk in group} - given
    return list(Face.objects.filter(pk__in=ids).select_related("image")) if ids else []


def _withdraw(project: Project, *, image_ids: Sequence[int], action: str, face: Face | None) -> int:
    # A queued edit not yet claimed is still ours to cancel; a claimed one is on its way.
    edits = DepictsEdit.objects.filter(
        project=project,
        image_id__in=list(image_ids),
        qid=project.qid,
        action=action,
        state__in=[State.PROPOSED, State.APPROVED, State.QUEUED],
    )
    if face is not None:
        edits = edits.filter(face=face)
    return edits.update(state=State.CANCELLED, claimed_at=None, updated_at=timezone.now())


# --- statements on Commons (shapes shared by the grid, the send page and the services) ----

REMOVAL_PENDING = (State.PROPOSED, State.APPROVED, State.QUEUED, State.SENDING)


def statement_on_commons(project: Project, *, face: str = "pk", image: str = "image_id") -> Q:
    """Faces whose P180 of the project's person stands on Commons, as far as WikiVisage knows:
    a bootstrap yes on a file still recorded as depicting the person, or an addition that
    WikiVisage sent. ``face`` and ``image`` name the outer query's columns."""
    bootstrap_yes = Label.objects.filter(
        project=project,
        face_id=OuterRef(face),
        source=Label.Source.BOOTSTRAP,
        verdict=Label.Verdict.YES,
    )
    still_depicted = ProjectImage.objects.filter(
        project=project, image_id=OuterRef(image), depicts_person=True
    )
    ours = DepictsEdit.objects.filter(
        project=project, face_id=OuterRef(face), action=ADD, state=State.SENT
    )
    return Q(Exists(bootstrap_yes), Exists(still_depicted)) | Q(Exists(ours))


def removals_of(project: Project, *, image: str, states: Sequence[str] | None = None) -> Exists:
    """A removal of the person's statement from the outer row's file (in ``states``, if given)."""
    edits = DepictsEdit.objects.filter(
        project=project, image_id=OuterRef(image), qid=project.qid, action=REMOVE
    )
    return Exists(edits.filter(state__in=list(states)) if states is not None else edits)


def contradicted(project: Project) -> QuerySet[Label]:
    """A reviewer's "no" on a face whose statement stands on Commons, with no removal of it
    yet (proposed, sent, or dismissed): what the send page offers to remove. A "no" answered
    in the classify page leads here; the grid proposes its removals itself."""
    return (
        Label.objects.filter(project=project, source=Label.Source.HUMAN, verdict=Label.Verdict.NO)
        .filter(statement_on_commons(project, face="face_id", image="face__image_id"))
        .exclude(removals_of(project, image="face__image_id"))
    )


def _propose_removal(project: Project, face: Face, user: User) -> DepictsEdit:
    edit, created = DepictsEdit.objects.get_or_create(
        project=project,
        image=face.image,
        qid=project.qid,
        action=REMOVE,
        defaults={"face": face, "approved_by": user, "state": State.PROPOSED},
    )
    if not created and edit.state in (State.CANCELLED, State.FAILED):
        edit.face, edit.approved_by, edit.state, edit.error = face, user, State.PROPOSED, ""
        edit.save(update_fields=["face", "approved_by", "state", "error", "updated_at"])
    return edit


@transaction.atomic
def contradiction_settle(*, project: Project, face: Face, user: User, remove: bool) -> DepictsEdit:
    """A person decides about a statement a reviewer contradicted (:func:`contradicted`).

    ``remove``: its removal is created approved and joins the send page, to be sent like any
    approved edit; otherwise it is created cancelled, so the statement stays and is not
    offered again. Raises EditNotAllowed when the face is no longer contradicted (someone
    decided meanwhile, or the answer changed).
    """
    if not contradicted(project).filter(face=face).exists():
        raise EditNotAllowed(f"face {face.pk} has no contradicted statement waiting")
    edit, created = DepictsEdit.objects.get_or_create(
        project=project,
        image=face.image,
        qid=project.qid,
        action=REMOVE,
        defaults={
            "face": face,
            "approved_by": user,
            "state": State.APPROVED if remove else State.CANCELLED,
        },
    )
    if not created:
        raise EditNotAllowed(f"the statement of face {face.pk} was decided meanwhile")
    if edit.state == State.APPROVED:
        _cancel_refused(edit, write_refusal(edit, step=Step.APPROVE, actor=user))
    return edit


def removal_approve(*, edit: DepictsEdit, user: User) -> DepictsEdit:
    """A person agrees that the statement should go: the removal joins the send page, unless
    the write policy refuses it for good (then it is cancelled with its reason)."""
    moved = DepictsEdit.objects.filter(pk=edit.pk, state=State.PROPOSED).update(
        state=State.APPROVED, approved_by=user, approved_at=timezone.now()
    )
    if not moved:
        raise EditNotAllowed(f"edit {edit.pk} is not a proposed removal")
    edit.refresh_from_db()
    _cancel_refused(edit, write_refusal(edit, step=Step.APPROVE, actor=user))
    return edit


def edit_withdraw(*, edit: DepictsEdit) -> None:
    """Take an edit off the send page (a proposal dismissed, an approval withdrawn)."""
    moved = DepictsEdit.objects.filter(
        pk=edit.pk, state__in=[State.PROPOSED, State.APPROVED]
    ).update(state=State.CANCELLED, updated_at=timezone.now())
    if not moved:
        raise EditNotAllowed(f"edit {edit.pk} is no longer waiting for confirmation")


REVERT_CANCELLED = "undo cancelled before it was sent; the statement stays on Commons"
UNSENT = (State.PROPOSED, State.APPROVED, State.QUEUED)


def edits_of_retired_cancel(*, edits: QuerySet[DepictsEdit] | None = None) -> int:
    """Cancel the unsent edits whose face was retired (its file re-uploaded, ``Face.retire``).

    Called by the periodic ``write.resume``, for the edits nobody approves, queues or sends
    meanwhile (those steps ask the write policy, ``depicts.policy``). An edit already sent
    stays as it is on Commons.
    """
    edits = edits if edits is not None else DepictsEdit.objects.all()
    retired = Face.objects.retired().values("pk")
    return edits.filter(state__in=UNSENT, face__in=retired).update(
        state=State.CANCELLED, error=FACE_RETIRED, claimed_at=None, updated_at=timezone.now()
    )


FILE_LEFT_PROJECT = (
    "the file left the project before this edit was sent (withheld, or no longer in the "
    "project's category tree or list)"
)


def edits_of_unlinked_cancel(*, project_id: int | None = None) -> int:
    """Cancel the unsent additions about files that left their project (a crawl no longer
    reached them: ``faces.services.pipeline._links_sweep``); undos still go. An edit
    already sent stays as it is on Commons."""
    edits = DepictsEdit.objects.filter(action=ADD, state__in=UNSENT)
    if project_id is not None:
        edits = edits.filter(project_id=project_id)
    linked = ProjectImage.objects.filter(project=OuterRef("project"), image=OuterRef("image"))
    return edits.exclude(Exists(linked)).update(
        state=State.CANCELLED, error=FILE_LEFT_PROJECT, claimed_at=None, updated_at=timezone.now()
    )


@transaction.atomic
def edits_cancel(*, edits: QuerySet[DepictsEdit]) -> int:
    """Moderation: cancel every selected edit that has not left yet.

    An undo not sent yet leaves its statement on Commons, so its edit goes back to ``sent``
    (a later undo can still take it), not ``cancelled``.
    """
    now = timezone.now()
    cancelled = edits.filter(state__in=[State.PROPOSED, State.APPROVED, State.QUEUED]).update(
        state=State.CANCELLED, claimed_at=None, updated_at=now
    )
    kept = edits.filter(state=State.REVERT_QUEUED).update(
        state=State.SENT, reverted_by=None, error=REVERT_CANCELLED, claimed_at=None, updated_at=now
    )
    return cancelled + kept


@transaction.atomic
def users_deactivate(*, users: QuerySet[User]) -> int:
    """Moderation: deactivate accounts and cancel every edit of theirs not sent yet: what
    they approved or sent, and the undos they asked for (an undo of their edits that someone
    else asked for still goes)."""
    ids = list(users.values_list("pk", flat=True))
    count = User.objects.filter(pk__in=ids).update(is_active=False)
    theirs = Q(approved_by__in=ids) | Q(sent_by__in=ids)
    undos = Q(reverted_by__in=ids, state=State.REVERT_QUEUED)
    edits_cancel(edits=DepictsEdit.objects.filter((theirs & ~Q(state=State.REVERT_QUEUED)) | undos))
    return count


# --- sending (the send page) ---------------------------------------------------------------


@dataclass(frozen=True)
class QueuedBatch:
    batch: uuid.UUID
    count: int
    refused: int = 0  # cancelled by the write policy, each with its reason


@retried
def edits_queue(*, project: Project, user: User, edit_ids: Iterable[int]) -> QueuedBatch:
    """The user confirmed the preview: these approved edits go out under their own login.

    Raises NoWikimediaToken at once for a user who cannot sign edits, rather than failing
    every task of the batch later. An edit the write policy refuses for good is cancelled
    with its reason, in the batch, so the send page shows why it did not leave.
    """
    user_auth(user)
    batch, now = uuid.uuid4(), timezone.now()
    with transaction.atomic():
        chosen = DepictsEdit.objects.filter(
            project=project, pk__in=list(edit_ids), state=State.APPROVED
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
        _enqueue("send", ids)
    return QueuedBatch(batch=batch, count=count, refused=refused)


def _refuse_chosen(
    chosen: QuerySet[DepictsEdit], *, user: User, batch: uuid.UUID, now: datetime
) -> int:
    fields = {"sent_by": user, "batch": batch, "queued_at": now}
    edits = list(chosen)
    refusals = write_refusals(edits, step=Step.QUEUE, actor=user)  # one question for all
    return sum(
        _cancel_refused(edit, refusal, **fields)
        for edit, refusal in zip(edits, refusals, strict=True)
    )


WRITE_TASKS = {"send": "depicts.write.edit", "revert": "depicts.write.revert"}


def _enqueue(kind: str, edit_ids: Sequence[int]) -> None:
    enqueue_each(WRITE_TASKS[kind], edit_ids)


def claim_timeout() -> timedelta:
    seconds = getattr(settings, "WIKIVISAGE_WRITE_CLAIM_TIMEOUT", DEFAULT_CLAIM_TIMEOUT)
    return timedelta(seconds=seconds)


# --- the writer ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOutcome:
    """Where an edit stands after one run; ``retry_in``: run again after that many seconds."""

    state: str
    retry_in: float | None = None


GONE = SendOutcome(state="")


@dataclass(frozen=True)
class _Run:
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
    edit = _load(edit_id)
    if edit is None or edit.state not in (State.QUEUED, State.SENDING):
        return SendOutcome(edit.state) if edit else GONE
    if _not_now(edit, Step.SEND, edit.sent_by):
        return SendOutcome(edit.state)
    if not DepictsEdit.objects.claim(
        pk=edit.pk, state=State.QUEUED, to=State.SENDING, stale_after=claim_timeout()
    ):
        return SendOutcome(_state_of(edit.pk))
    outcome = _run_claimed(edit, edit.sent_by, _send_claimed, State.SENDING, State.QUEUED, sleep)
    batch_check(edit=edit)
    return outcome


def batch_check(*, edit: DepictsEdit) -> bool:
    """Tell the members once the batch of ``edit`` is settled (nothing of it waits to be sent):
    how many went out, and how many failed, once per batch (the event)."""
    if edit.batch is None:
        return False
    batch = DepictsEdit.objects.filter(batch=edit.batch)
    if batch.filter(state__in=(State.QUEUED, State.SENDING)).exists():
        return False
    counts = batch.aggregate(
        failed=Count("pk", filter=Q(state=State.FAILED)),
        sent=Count("pk", filter=~Q(state__in=(State.FAILED, State.CANCELLED))),
    )
    kind = Notification.Kind.SEND_FAILED if counts["failed"] else Notification.Kind.SEND_FINISHED
    return bool(notify(project=edit.project, kind=kind, event=f"batch:{edit.batch}", **counts))


def _load(edit_id: int) -> DepictsEdit | None:
    return (
        DepictsEdit.objects.select_related("project", "image", "sent_by", "reverted_by")
        .filter(pk=edit_id)
        .first()
    )


def _not_now(edit: DepictsEdit, step: Step, actor: User | None) -> bool:
    """A hold or a switch: the edit is not claimed at all (a final refusal is, to end it)."""
    refusal = write_refusal(edit, step=step, actor=actor)
    return refusal is not None and not refusal.final


def _state_of(edit_id: int) -> str:
    return DepictsEdit.objects.filter(pk=edit_id).values_list("state", flat=True).first() or ""


def _run_claimed(
    edit: DepictsEdit,
    actor: User | None,
    step: Callable[[_Run], str],
    claimed: str,
    back: str,
    sleep: Sleep,
) -> SendOutcome:
    """Run ``step`` on a claimed edit; failures are classified here for sends and reverts."""
    if actor is None or not actor.is_active:
        return _give_up(edit, claimed, State.CANCELLED, "the user who sent it was deactivated")
    run = _Run(edit=edit, actor=actor, claimed=claimed, back=back, sleep=sleep)
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


def _before_write(
    run: _Run, *, client: ApiClient | None = None, person: Person | None = None
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


def _enforce(run: _Run, **facts: Any) -> None:
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
    _finish(edit, claimed, settled, error=reason)
    return SendOutcome(settled)


def _transient(run: _Run, error: TransientError) -> SendOutcome:
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


def _finish(edit: DepictsEdit, claimed: str, state: str, **changes: object) -> bool:
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


def _send_claimed(run: _Run) -> str:
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


def _add(client: ApiClient, run: _Run, person: Person) -> str:
    """Read the file's P180 first: ours already there, or the person already depicted, means
    nothing is written; otherwise one ``wbsetclaim`` under the stored statement id. A file
    deleted on Commons meanwhile fails the edit (_FileDeleted)."""
    edit = run.edit
    depicts = _depicts_of_existing(client, edit.image.pageid)
    written = {"written_qid": person.qid}
    if _find(depicts, edit.statement_id) is not None:
        # An earlier attempt got through but its outcome was never recorded.
        _finish(edit, State.SENDING, State.SENT, **written)
        return State.SENT
    # Any rank counts: a deprecated P180 of this person is someone saying it is wrong.
    if any(statement.qid in (person.qid, edit.qid) for statement in depicts):
        _finish(edit, State.SENDING, State.ALREADY_PRESENT, **written)
        return State.ALREADY_PRESENT
    _before_write(run, client=client, person=person)
    result = set_depicts_claim(
        client,
        pageid=edit.image.pageid,
        qid=person.qid,
        statement_id=str(edit.statement_id),
        region=region_fractions(edit.region),
        summary=add_summary(person),
        tags=change_tags(),
    )
    _finish(edit, State.SENDING, State.SENT, revision=result.revision, **written)
    return State.SENT


def _remove(client: ApiClient, run: _Run, person: Person) -> str:
    edit = run.edit
    doomed = [s.id for s in _depicts(client, edit.image.pageid) if s.qid in (person.qid, edit.qid)]
    if not doomed:
        _finish(edit, State.SENDING, State.ALREADY_PRESENT, written_qid=person.qid)
        _no_longer_depicted(edit)
        return State.ALREADY_PRESENT
    _before_write(run, client=client, person=person)
    removed = remove_claims(
        client,
        pageid=edit.image.pageid,
        statement_ids=doomed,
        summary=remove_summary(person),
        tags=change_tags(),
    )
    _finish(edit, State.SENDING, State.SENT, written_qid=person.qid, removed_statements=removed)
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


def _depicts(client: ApiClient, pageid: int) -> list[Statement]:
    statements = _statements_by_page(client, [pageid]).get(pageid) or []
    return [statement for statement in statements if statement.property == DEPICTS]


def _depicts_of_existing(client: ApiClient, pageid: int) -> list[Statement]:
    """:func:`_depicts` of a file that must still exist, or _FileDeleted.

    A deleted file's MediaInfo entity is "missing", but so is that of a file whose structured
    data was never edited (WIKIMEDIA-API.md §1.3): only then is the page itself asked for.
    """
    statements = _statements_by_page(client, [pageid]).get(pageid)
    if statements is None:
        found = fetch_file_infos(client, pageids=[pageid], width=STANDARD_WIDTHS[0]).files
        if not any(info.pageid == pageid for info in found):
            raise _FileDeleted
        statements = []
    return depicts_only(statements)


def _find(statements: Iterable[Statement], statement_id: str | None) -> Statement | None:
    # Old statement ids may carry a lower-case entity prefix (mediainfo.statement_exists).
    wanted = (statement_id or "").casefold()
    return next((s for s in statements if wanted and s.id.casefold() == wanted), None)


# Edit summaries are written in English, as is usual on Commons, whatever the user's language.
def add_summary(person: Person) -> str:
    return f"WikiVisage: depicts {_person_link(person)} (face confirmed by a person)"


def remove_summary(person: Person) -> str:
    return f"WikiVisage: remove depicts {_person_link(person)} (a reviewer said it is not them)"


def revert_summary(edit: DepictsEdit) -> str:
    qid = edit.written_qid or edit.qid
    return f"WikiVisage: undo depicts [[d:{qid}|{qid}]] added by WikiVisage"


def _person_link(person: Person) -> str:
    label = (person.label or person.qid)[:100]
    return f"[[d:{person.qid}|{label}]]"


def change_tags() -> tuple[str, ...]:
    tag = settings.WIKIVISAGE_CHANGE_TAG
    return (tag,) if tag else ()


# --- undo ----------------------------------------------------------------------------------


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
        _enqueue("revert", ids)
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
    edit = _load(edit_id)
    if edit is None or edit.state not in (State.REVERT_QUEUED, State.REVERTING):
        return SendOutcome(edit.state) if edit else GONE
    if _not_now(edit, Step.UNDO, edit.reverted_by):
        return SendOutcome(edit.state)
    if not DepictsEdit.objects.claim(
        pk=edit.pk, state=State.REVERT_QUEUED, to=State.REVERTING, stale_after=claim_timeout()
    ):
        return SendOutcome(_state_of(edit.pk))
    outcome = _run_claimed(
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


def _revert_claimed(run: _Run) -> str:
    edit = run.edit
    with commons_client(auth=user_auth(run.actor), retry=WRITE_RETRY, sleep=run.sleep) as client:
        ours = _find(_depicts(client, edit.image.pageid), edit.statement_id)
        if ours is None:
            _finish(edit, State.REVERTING, State.REVERTED, error="already gone from Commons")
            return State.REVERTED
        if not is_unchanged(ours, edit):
            _finish(edit, State.REVERTING, State.SENT, error="changed on Commons; left as it is")
            return State.SENT
        _before_write(run)
        remove_claims(
            client,
            pageid=edit.image.pageid,
            statement_ids=[str(edit.statement_id)],
            summary=revert_summary(edit),
            tags=change_tags(),
        )
    _finish(edit, State.REVERTING, State.REVERTED)
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


# --- resuming --------------------------------------------------------------------------------


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
    _enqueue("send", resumed.sends)
    _enqueue("revert", resumed.reverts)
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


# --- reverts learnt ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckSummary:
    checked: int
    removed: int


def sent_edits_check(*, client: ApiClient, limit: int = 500) -> CheckSummary:
    """Re-read statements WikiVisage wrote; one removed (or changed to another item) on
    Commons by someone else is recorded and becomes a "no" for the project.

    The least recently checked edits go first, so every run makes progress on a large set.
    A file deleted on Commons says nothing about the face and is skipped.
    """
    edits = list(
        DepictsEdit.objects.filter(action=ADD, state=State.SENT)
        .select_related("image")
        .order_by(F("checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    pages = _statements_by_page(client, sorted({edit.image.pageid for edit in edits}))
    removed, seen = 0, []
    for edit in edits:
        statements = pages.get(edit.image.pageid)
        if statements is None:
            seen.append(edit.pk)  # checked, and to the back of the line with the others
            continue
        ours = _find(statements, edit.statement_id)
        if ours is not None and ours.qid in (edit.written_qid, edit.qid):
            seen.append(edit.pk)
        elif edit_removed_on_commons(edit=edit):
            removed += 1
    DepictsEdit.objects.filter(pk__in=seen).update(checked_at=timezone.now())
    return CheckSummary(checked=len(edits), removed=removed)


@transaction.atomic
def edit_removed_on_commons(*, edit: DepictsEdit) -> bool:
    """Record that someone removed our statement, and learn "no" from it.

    The "no" is a ``bootstrap`` label (what Commons says about the face), not a ``human``
    one: the reviewer's own answer and its history stay as they gave them, and the learner
    sees the community's later verdict next to it.
    """
    moved = DepictsEdit.objects.filter(pk=edit.pk, state=State.SENT).update(
        state=State.REMOVED,
        error="removed or changed on Commons by someone else",
        updated_at=timezone.now(),
    )
    if not moved:
        return False
    ProjectImage.objects.filter(project_id=edit.project_id, image_id=edit.image_id).update(
        depicts_person=False
    )
    if edit.face_id is not None:
        Label.objects.update_or_create(
            project_id=edit.project_id,
            face_id=edit.face_id,
            source=Label.Source.BOOTSTRAP,
            defaults={"verdict": Label.Verdict.NO, "score": None, "priority": None, "user": None},
        )
        _rescore(edit.project_id)
    return True


def _rescore(project_id: int) -> None:
    from faces.services.rescoring import request_rescore

    request_rescore(project_id=project_id)


def _statements_by_page(client: ApiClient, pageids: Sequence[int]) -> dict[int, list[Statement]]:
    """Every statement of each file; a file whose entity is missing has no key at all:
    a file we wrote to has an entity, so "missing" means the page was deleted."""
    return fetch_statements(client, pageids=pageids, missing_as_empty=False)
