"""What a group's send page shows: every person's approved edits, each under its person, to
be queued as one batch (``depicts.services.sending.edits_queue_many``)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User

from commons.oauth import wikimedia_username
from depicts.models import DepictsEdit, WriteSwitch
from depicts.selectors import EditPreview, EditStatus, edit_preview, edit_status, with_people
from projects.models import Project


@dataclass(frozen=True)
class PersonEdits:
    """One person of the group: their project, name and approved edits, newest first."""

    project: Project
    label: str
    approved: list[EditPreview]
    writes_stopped: bool  # the project's writes are stopped: its edits wait in the queue


@dataclass(frozen=True)
class SentEdit:
    """An edit of the batch just sent, with its person (its state, and a refusal's reason)."""

    person: str
    status: EditStatus


@dataclass(frozen=True)
class GroupSendPage:
    people: list[PersonEdits]
    wikimedia_account: str | None  # the Wikimedia user the edits are made as; None: unlinked
    batch: list[SentEdit]  # the batch the page was asked about, person by person

    @property
    def count(self) -> int:
        return sum(len(person.approved) for person in self.people)


def group_send_page(
    *, projects: Sequence[Project], user: User, language: str, batch: uuid.UUID | None = None
) -> GroupSendPage:
    """Every person's approved edits, in the group's order of people (one query for all),
    and what became of ``batch`` (one more)."""
    approved = DepictsEdit.objects.filter(
        project__in=[project.pk for project in projects], state=DepictsEdit.State.APPROVED
    )
    by_project: dict[int, list[DepictsEdit]] = defaultdict(list)
    for edit in with_people(approved):
        by_project[edit.project_id].append(edit)
    writes_allowed = WriteSwitch.writes_allowed()
    people = []
    for project in projects:
        label = project.label_in(language)
        previews = [edit_preview(edit, label) for edit in by_project[project.pk]]
        stopped = not (project.writes_on and writes_allowed)
        people.append(PersonEdits(project, label, previews, stopped))
    return GroupSendPage(
        people=people,
        wikimedia_account=wikimedia_username(user),
        batch=_batch(projects, batch, {person.project.pk: person.label for person in people}),
    )


def _batch(
    projects: Sequence[Project], batch: uuid.UUID | None, labels: dict[int, str]
) -> list[SentEdit]:
    if batch is None:
        return []
    edits = DepictsEdit.objects.filter(
        project__in=[project.pk for project in projects], batch=batch
    ).select_related("image", "sent_by")
    return [
        SentEdit(person=labels[edit.project_id], status=edit_status(edit))
        for edit in edits.order_by("project_id", "pk")
    ]


def approved_ids(projects: Sequence[Project]) -> list[int]:
    """The approved edits of the group's people: what its send page may post."""
    approved = DepictsEdit.objects.filter(
        project__in=[project.pk for project in projects], state=DepictsEdit.State.APPROVED
    )
    return list(approved.values_list("pk", flat=True))
