"""May this edit be written now, and if not, why: one answer for every step.

Approving a face (:func:`depicts.services.edits_approve`), queueing the send page's choice
(``edits_queue``), the writer right before ``wbsetclaim`` (after the Wikidata item is
resolved and the file read) and an undo (``batch_revert``, ``edit_revert``) all ask
:func:`write_refusal`. Every fact is read from the database when asked, never from the rows
the caller loaded earlier, so a withholding, a hold or a deactivation saved meanwhile counts.

A refusal is *final* (the edit is cancelled with its reason, or fails for a deleted file, as
before) or *not now* (a hold or a switch: the edit waits in its state and leaves when writes
resume). Undos take a statement away, so withholding, the new-upload wait and retired faces
never stop them; holds and the asker's deactivation do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from commons.identifiers import normalise_category
from commons.types import FileState
from depicts.models import DepictsEdit, WriteSwitch
from faces.models import Face, Image, new_upload_wait, old_enough_q
from projects.models import Project, Withholding


class Step(StrEnum):
    APPROVE = "approve"
    QUEUE = "queue"
    SEND = "send"
    UNDO = "undo"


@dataclass(frozen=True)
class Refusal:
    """Why an edit may not be written: ``code`` for programs, ``reason`` for people (kept in
    the edit's ``error``, shown on the send page and in the admin)."""

    code: str
    reason: str
    final: bool = True  # never (cancelled) rather than not now (back to the queue)
    failed: bool = False  # a final refusal that is a failure of the edit (the file is gone)


WRITES_STOPPED = "writes stopped"
PERSON_WITHHELD = "is withheld: nothing is written about this person"
FILE_DELETED = "the file no longer exists on Commons"
FACE_RETIRED = (
    "the file was re-uploaded with other bytes after this face was approved: its face and "
    "region belong to the old file; the new one is detected and asked about again"
)
DEACTIVATED = {
    "approver": "the user who approved it was deactivated",
    "sender": "the user who sent it was deactivated",
    "undo": "the user who asked for the undo was deactivated",
}
_ACTOR_ROLE = {
    Step.APPROVE: "approver",
    Step.QUEUE: "sender",
    Step.SEND: "sender",
    Step.UNDO: "undo",
}


@dataclass(frozen=True)
class _Asked:
    edit: DepictsEdit
    step: Step
    actor: User | None
    file: FileState | None  # read on Commons right before the write; None before
    person_qid: str  # the item the writer resolved (after redirects); "" before


def write_refusal(
    edit: DepictsEdit,
    *,
    step: Step,
    actor: User | None = None,
    file: FileState | None = None,
    person_qid: str = "",
) -> Refusal | None:
    """The first reason ``edit`` may not be written at ``step``, final reasons first; None
    when it may. ``actor``: who approves, queues, sends, or asks for the undo; ``file`` and
    ``person_qid``: what the writer found on Commons and Wikidata just before the write."""
    asked = _Asked(edit=edit, step=step, actor=actor, file=file, person_qid=person_qid)
    checks = _UNDO_CHECKS if step == Step.UNDO else _CHECKS
    return next((refusal for check in checks if (refusal := check(asked)) is not None), None)


def writes_allowed(*, project_id: int) -> bool:
    """Neither the global switch, nor the project's owner, nor a moderator stops writes."""
    project_on = Project.objects.writable().filter(pk=project_id).exists()
    return project_on and WriteSwitch.writes_allowed()


# --- the checks ------------------------------------------------------------------------------


def _people(asked: _Asked) -> Refusal | None:
    """Who approved and who sends (or who asked for an undo) must still be active."""
    roles = {} if asked.step == Step.UNDO else {asked.edit.approved_by_id: "approver"}
    if asked.actor is not None:
        roles[asked.actor.pk] = _ACTOR_ROLE[asked.step]
    gone = User.objects.filter(pk__in=list(roles), is_active=False).order_by("pk").first()
    if gone is None:
        return None
    return Refusal("deactivated", DEACTIVATED[roles[gone.pk]])


def _file_exists(asked: _Asked) -> Refusal | None:
    if asked.file is None or asked.file.exists:
        return None
    return Refusal("file_deleted", FILE_DELETED, failed=True)


def _person_withheld(asked: _Asked) -> Refusal | None:
    """The person as approved, as the project names them, and as Wikidata resolved them."""
    if asked.edit.is_removal:
        return None  # taking a statement about them away is what withholding asks for
    edit = asked.edit
    qids = {edit.qid, edit.written_qid, asked.person_qid, _project_qid(edit.project_id)} - {""}
    held = Withholding.objects.filter(kind=Withholding.Kind.PERSON, value__in=qids)
    qid = held.order_by("value").values_list("value", flat=True).first()
    if qid is None:
        return None
    return Refusal("person_withheld", f"{qid} {PERSON_WITHHELD}")


def _file_withheld(asked: _Asked) -> Refusal | None:
    if asked.edit.is_removal:
        return None
    titles = {_title(asked.edit.image_id), asked.file.title if asked.file else ""} - {""}
    held = Withholding.objects.filter(kind=Withholding.Kind.FILE, value__in=titles)
    if not held.exists():
        return None
    return Refusal("file_withheld", "the file is withheld: nothing is written to it")


def _category_withheld(asked: _Asked) -> Refusal | None:
    """The project's category, and every category the file is in on Commons now."""
    if asked.edit.is_removal:
        return None
    names: set[str | None] = set(asked.file.categories) if asked.file else set()
    names.add(
        Project.objects.filter(pk=asked.edit.project_id).values_list("category", flat=True).first()
    )
    held = Withholding.objects.filter(kind=Withholding.Kind.CATEGORY, value__in=_categories(names))
    name = held.order_by("value").values_list("value", flat=True).first()
    if name is None:
        return None
    return Refusal("category_withheld", f"the file is in the withheld category {name}")


def _face_retired(asked: _Asked) -> Refusal | None:
    """The face was found on bytes the file no longer has: retired by a crawl that saw the
    re-upload, or the SHA1 Commons gives now is not the one the face was found on."""
    edit = asked.edit
    retired = Face.objects.retired().filter(pk=edit.face_id).exists()
    known = Image.objects.filter(pk=edit.image_id).values_list("sha1", flat=True).first() or ""
    reuploaded = bool(asked.file and asked.file.sha1 and known and asked.file.sha1 != known)
    return Refusal("face_retired", FACE_RETIRED) if retired or reuploaded else None


def _new_upload(asked: _Asked) -> Refusal | None:
    """The file is still in the new-upload wait (``faces.models.new_upload_wait``)."""
    if Image.objects.filter(old_enough_q(), pk=asked.edit.image_id).exists():
        return None
    hours = round(new_upload_wait().total_seconds() / 3600)
    reason = (
        f"the file was uploaded less than {hours} hours ago: nothing is written to a new "
        "upload before that wait is over; approve it again after it"
    )
    return Refusal("new_upload", reason)


def _held(asked: _Asked) -> Refusal | None:
    """A switch or a hold (the global switch, the owner's, a moderator's): not now."""
    if writes_allowed(project_id=asked.edit.project_id):
        return None
    return Refusal("writes_stopped", WRITES_STOPPED, final=False)


Check = Callable[[_Asked], Refusal | None]
_CHECKS: tuple[Check, ...] = (
    _people,
    _file_exists,
    _person_withheld,
    _file_withheld,
    _category_withheld,
    _face_retired,
    _new_upload,
    _held,
)
_UNDO_CHECKS: tuple[Check, ...] = (_people, _held)


def _project_qid(project_id: int) -> str:
    return Project.objects.filter(pk=project_id).values_list("qid", flat=True).first() or ""


def _title(image_id: int) -> str:
    return Image.objects.filter(pk=image_id).values_list("title", flat=True).first() or ""


def _categories(names: Iterable[str | None]) -> set[str]:
    """Names as withholdings store them; a name Commons could not hold is simply skipped."""
    found = set()
    for name in names:
        try:
            found.add(normalise_category(name or ""))
        except ValidationError:
            continue
    return found
