"""May this edit be written now, and if not, why: one answer for every step.

Approving a face (:func:`depicts.services.approval.edits_approve`), queueing the send page's choice
(``edits_queue``), the writer right before ``wbsetclaim`` (after the Wikidata item is
resolved and the file read) and an undo (``batch_revert``, ``edit_revert``) all ask
:func:`write_refusal`; the web's steps ask about their whole batch at once
(:func:`write_refusals`, the same checks, each fact read once for every edit of the batch, so
a grid page of 40 faces costs the policy's queries of one). Every fact is read from the
database when asked, never from the rows the caller loaded earlier, so a withholding, a hold
or a deactivation saved meanwhile counts.

A refusal is *final* (the edit is cancelled with its reason, or fails for a deleted file, as
before) or *not now* (a hold or a switch: the edit waits in its state and leaves when writes
resume). Undos take a statement away, so withholding, the new-upload wait and retired faces
never stop them; holds and the asker's deactivation do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q

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


class _Batch:
    """The rows one question about a batch of edits reads: each read once for the whole batch,
    when a check of any edit first needs it, and not before the question is asked; so asking
    about 48 edits costs the queries of asking about one."""

    def __init__(self, asked: Sequence[_Asked], actor: User | None) -> None:
        self.asked, self.actor = asked, actor

    @cached_property
    def projects(self) -> dict[int, dict[str, Any]]:
        found = Project.objects.filter(pk__in={a.edit.project_id for a in self.asked})
        rows = found.values("pk", "qid", "category")
        return {row["pk"]: {"qid": row["qid"], "category": row["category"]} for row in rows}

    @cached_property
    def images(self) -> dict[int, dict[str, Any]]:
        old_enough = Image.objects.filter(old_enough_q(), pk=OuterRef("pk"))
        images = Image.objects.filter(pk__in={a.edit.image_id for a in self.asked})
        rows = images.annotate(old_enough=Exists(old_enough)).values(
            "pk", "title", "sha1", "old_enough"
        )
        return {row["pk"]: dict(row) for row in rows}

    @cached_property
    def withholdings(self) -> list[tuple[str, str]]:
        """The withholdings that name any edit's person, file or categories, by value."""
        kind, named = Withholding.Kind, [a.named for a in self.asked]
        wanted = (
            Q(kind=kind.PERSON, value__in=set().union(*(n[kind.PERSON] for n in named)))
            | Q(kind=kind.FILE, value__in=set().union(*(n[kind.FILE] for n in named)))
            | Q(kind=kind.CATEGORY, value__in=set().union(*(n[kind.CATEGORY] for n in named)))
        )
        return list(
            Withholding.objects.filter(wanted).order_by("value").values_list("kind", "value")
        )

    @cached_property
    def inactive(self) -> list[int]:
        """Who of the approvers and the asker was deactivated, by id."""
        ids = {a.edit.approved_by_id for a in self.asked} | {getattr(self.actor, "pk", None)}
        gone = User.objects.filter(pk__in=ids - {None}, is_active=False).order_by("pk")
        return list(gone.values_list("pk", flat=True))

    @cached_property
    def retired(self) -> set[int]:
        ids = {a.edit.face_id for a in self.asked} - {None}
        return set(Face.objects.retired().filter(pk__in=ids).values_list("pk", flat=True))

    @cached_property
    def writable(self) -> set[int]:
        """The batch's projects whose edits may leave now (:func:`writes_allowed`)."""
        if not WriteSwitch.writes_allowed():
            return set()
        ids = {a.edit.project_id for a in self.asked}
        return set(Project.objects.writable().filter(pk__in=ids).values_list("pk", flat=True))


class _Asked:
    """One edit of a question to the policy; what its checks read comes from its batch."""

    def __init__(
        self, edit: DepictsEdit, step: Step, actor: User | None, file: FileState | None, qid: str
    ) -> None:
        self.edit, self.step, self.actor = edit, step, actor
        self.file = file  # read on Commons right before the write; None before
        self.person_qid = qid  # the item the writer resolved (after redirects); "" before
        self.batch: _Batch

    @property
    def project(self) -> dict[str, Any]:
        return self.batch.projects.get(self.edit.project_id, {})

    @property
    def image(self) -> dict[str, Any]:
        return self.batch.images.get(self.edit.image_id, {})

    @cached_property
    def named(self) -> dict[str, set[str]]:
        """The values a withholding of this edit's person, file or categories would hold."""
        edit, file = self.edit, self.file
        qids = {edit.qid, edit.written_qid, self.person_qid, self.project.get("qid")}
        titles = {self.image.get("title"), file.title if file else None}
        categories = {self.project.get("category"), *(file.categories if file else ())}
        kind = Withholding.Kind
        return {
            kind.PERSON: {str(qid) for qid in qids if qid},
            kind.FILE: {str(title) for title in titles if title},
            kind.CATEGORY: _categories(categories),
        }

    @cached_property
    def withheld(self) -> dict[str, list[str]]:
        """The withholdings that name this edit's person, file or categories, by kind."""
        found: dict[str, list[str]] = {}
        for held, value in self.batch.withholdings:
            if value in self.named[held]:
                found.setdefault(held, []).append(value)
        return found


def write_refusals(
    edits: Sequence[DepictsEdit], *, step: Step, actor: User | None = None
) -> list[Refusal | None]:
    """:func:`write_refusal` for each of ``edits`` (in their order), asked of the database in
    as many queries as for one edit: the web's steps (approve, queue) ask it per batch."""
    return _ask([_Asked(edit, step, actor, None, "") for edit in edits], actor)


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
    return _ask([_Asked(edit, step, actor, file, person_qid)], actor)[0]


def _ask(asked: Sequence[_Asked], actor: User | None) -> list[Refusal | None]:
    batch = _Batch(asked, actor)
    for one in asked:
        one.batch = batch
    return [_first_refusal(one) for one in asked]


def _first_refusal(asked: _Asked) -> Refusal | None:
    checks = _UNDO_CHECKS if asked.step == Step.UNDO else _CHECKS
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
    gone = next((pk for pk in asked.batch.inactive if pk in roles), None)
    if gone is None:
        return None
    return Refusal("deactivated", DEACTIVATED[roles[gone]])


def _file_exists(asked: _Asked) -> Refusal | None:
    if asked.file is None or asked.file.exists:
        return None
    return Refusal("file_deleted", FILE_DELETED, failed=True)


def _person_withheld(asked: _Asked) -> Refusal | None:
    """The person as approved, as the project names them, and as Wikidata resolved them."""
    if asked.edit.is_removal:
        return None  # taking a statement about them away is what withholding asks for
    qids = asked.withheld.get(Withholding.Kind.PERSON)
    return Refusal("person_withheld", f"{qids[0]} {PERSON_WITHHELD}") if qids else None


def _file_withheld(asked: _Asked) -> Refusal | None:
    """The file by its title here and its title on Commons now."""
    if asked.edit.is_removal or not asked.withheld.get(Withholding.Kind.FILE):
        return None
    return Refusal("file_withheld", "the file is withheld: nothing is written to it")


def _category_withheld(asked: _Asked) -> Refusal | None:
    """The project's category, and every category the file is in on Commons now."""
    names = asked.withheld.get(Withholding.Kind.CATEGORY)
    if asked.edit.is_removal or not names:
        return None
    return Refusal("category_withheld", f"the file is in the withheld category {names[0]}")


def _face_retired(asked: _Asked) -> Refusal | None:
    """The face was found on bytes the file no longer has: retired by a crawl that saw the
    re-upload, or the SHA1 Commons gives now is not the one the face was found on."""
    retired = asked.edit.face_id in asked.batch.retired
    known, now = asked.image.get("sha1"), asked.file.sha1 if asked.file else ""
    return (
        Refusal("face_retired", FACE_RETIRED)
        if retired or (known and now and known != now)
        else None
    )


def _new_upload(asked: _Asked) -> Refusal | None:
    """The file is still in the new-upload wait (``faces.models.new_upload_wait``)."""
    if asked.image.get("old_enough", True):
        return None
    hours = round(new_upload_wait().total_seconds() / 3600)
    reason = (
        f"the file was uploaded less than {hours} hours ago: nothing is written to a new "
        "upload before that wait is over; approve it again after it"
    )
    return Refusal("new_upload", reason)


def _held(asked: _Asked) -> Refusal | None:
    """A switch or a hold (the global switch, the owner's, a moderator's): not now."""
    if asked.edit.project_id in asked.batch.writable:
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


def _categories(names: Iterable[str | None]) -> set[str]:
    """Names as withholdings store them; a name Commons could not hold is simply skipped."""
    found = set()
    for name in names:
        try:
            found.add(normalise_category(name or ""))
        except ValidationError:
            continue
    return found
