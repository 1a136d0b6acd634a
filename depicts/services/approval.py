"""Approval: the review grid approves or rejects faces (:func:`edits_approve`,
:func:`edits_reject`); a statement a reviewer contradicted is offered for removal on the send
page (:func:`contradiction_settle`, :func:`removal_approve`); an edit is taken off the send
page (:func:`edit_withdraw`).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from commons.mediainfo import new_statement_id
from core.transactions import retried
from depicts.models import DepictsEdit
from depicts.policy import Step, write_refusal, write_refusals
from depicts.selectors import contradicted, statement_on_commons
from depicts.services.common import ADD, REMOVE, EditNotAllowed, State, cancel_refused
from faces.models import Face
from faces.selectors import twin_groups
from projects.models import Project


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
        cancel_refused(edit, refusal)
    return edits


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
        region=face.region_pct if project.write_face_region else "",
        approved_by=user,
        statement_id=new_statement_id(face.image.pageid),
    )


def _approve_again(project: Project, edit: DepictsEdit, face: Face, user: User) -> None:
    """An addition that was there already takes the latest face and approver, unless it is
    on its way or sent."""
    region = face.region_pct if project.write_face_region else ""
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
    labels follow, ``faces.services.twins``), so their edits go the same way."""
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
        cancel_refused(edit, write_refusal(edit, step=Step.APPROVE, actor=user))
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
    cancel_refused(edit, write_refusal(edit, step=Step.APPROVE, actor=user))
    return edit


def edit_withdraw(*, edit: DepictsEdit) -> None:
    """Take an edit off the send page (a proposal dismissed, an approval withdrawn)."""
    moved = DepictsEdit.objects.filter(
        pk=edit.pk, state__in=[State.PROPOSED, State.APPROVED]
    ).update(state=State.CANCELLED, updated_at=timezone.now())
    if not moved:
        raise EditNotAllowed(f"edit {edit.pk} is no longer waiting for confirmation")
