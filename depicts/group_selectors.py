"""What a group's send page shows: every person's approved edits, each under its person, to
be queued as one batch (``depicts.services.sending.edits_queue_many``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User

from commons.oauth import wikimedia_username
from depicts.models import DepictsEdit, WriteSwitch
from depicts.selectors import EditPreview, edit_preview, with_people
from projects.models import Project


@dataclass(frozen=True)
class PersonEdits:
    """One person of the group: their project, name and approved edits, newest first."""

    project: Project
    label: str
    approved: list[EditPreview]
    writes_stopped: bool  # the project's writes are stopped: its edits wait in the queue


@dataclass(frozen=True)
class GroupSendPage:
    people: list[PersonEdits]
    wikimedia_account: str | None  # the Wikimedia user the edits are made as; None: unlinked

    @property
    def count(self) -> int:
        return sum(len(person.approved) for person in self.people)


def group_send_page(*, projects: Sequence[Project], user: User, language: str) -> GroupSendPage:
    """Every person's approved edits, in the group's order of people (one query for all)."""
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
    return GroupSendPage(people=people, wikimedia_account=wikimedia_username(user))


def approved_ids(projects: Sequence[Project]) -> list[int]:
    """The approved edits of the group's people: what its send page may post."""
    approved = DepictsEdit.objects.filter(
        project__in=[project.pk for project in projects], state=DepictsEdit.State.APPROVED
    )
    return list(approved.values_list("pk", flat=True))
