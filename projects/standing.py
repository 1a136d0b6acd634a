"""A project's standing: the state in effect, who holds it there (its owner or a moderator),
and the sentences every page says about it. Read from a :class:`projects.models.Project`
(``Project.standing``); the values are those of ``Project.State`` and ``Project.Moderation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy


class Held(Protocol):
    """What a standing is read from: a project's owner side and moderator side."""

    state: str
    moderation: str
    writes_enabled: bool
    moderator_writes_stopped: bool


OWNER, MODERATOR = "owner", "moderator"


@dataclass(frozen=True)
class Standing:
    """A project's state in effect, and who put it there: the owner (``state``,
    ``writes_enabled``) or a moderator (``moderation``, ``moderator_writes_stopped``).

    A moderator's hold comes first: the owner cannot lift it. ``writes_stopped_by`` names who
    stopped the writes only where the state itself does not already stop them.
    """

    state: str  # a Project.State value
    by: str  # OWNER, MODERATOR, or "" (active)
    writes_stopped_by: str  # OWNER, MODERATOR, or ""

    @classmethod
    def of(cls, project: Held) -> Standing:
        if project.moderation != "none":
            return cls(state=project.moderation, by=MODERATOR, writes_stopped_by="")
        by = "" if project.state == "active" else OWNER
        return cls(state=project.state, by=by, writes_stopped_by=cls._writes_stopper(project))

    @staticmethod
    def _writes_stopper(project: Held) -> str:
        if project.moderator_writes_stopped:
            return MODERATOR
        # The owner's archive switches the writes off itself: its sentence says so.
        if not project.writes_enabled and project.state != "archived":
            return OWNER
        return ""

    @property
    def label(self) -> str:
        """A few words for the project page's header, the dashboard and the page's poll."""
        label = str(STATE_LABELS.get((self.state, self.by), self.state))
        if self.writes_stopped_by == MODERATOR:
            return pgettext("project state", "%(state)s, writes stopped by a moderator") % {
                "state": label
            }
        if self.writes_stopped_by == OWNER:
            return pgettext("project state", "%(state)s, writes off") % {"state": label}
        return label

    @property
    def holds_answers(self) -> str:
        """Why the project takes no answers, or "" when it takes them."""
        return str(NO_ANSWERS.get((self.state, self.by), ""))

    @property
    def holds_writes(self) -> str:
        """Why approved edits wait although the state lets them leave, or ""."""
        return str(WRITES_STOPPED.get(self.writes_stopped_by, ""))


STATE_LABELS = {
    ("active", ""): pgettext_lazy("project state", "Active"),
    ("paused", OWNER): pgettext_lazy("project state", "Paused by the owner"),
    ("paused", MODERATOR): pgettext_lazy("project state", "Paused by a moderator"),
    ("completed", OWNER): pgettext_lazy("project state", "Completed"),
    ("archived", OWNER): pgettext_lazy("project state", "Archived by the owner"),
    ("archived", MODERATOR): pgettext_lazy("project state", "Archived by a moderator"),
}
NO_ANSWERS = {
    ("paused", OWNER): _(
        "This project is paused by its owner: it takes no answers until its owner resumes it."
    ),
    ("paused", MODERATOR): _(
        "A moderator paused this project: it takes no answers and sends no edits until a "
        "moderator resumes it."
    ),
    ("completed", OWNER): _(
        "This project is completed: it takes no answers until its owner makes it active again."
    ),
    ("archived", OWNER): _(
        "This project is archived by its owner: it takes no answers and sends no edits until "
        "its owner restores it."
    ),
    ("archived", MODERATOR): _(
        "A moderator archived this project: it takes no answers and sends no edits until a "
        "moderator restores it."
    ),
}
WRITES_STOPPED = {
    MODERATOR: _(
        "A moderator stopped the writes of this project: approved edits wait until a "
        "moderator resumes them."
    ),
    OWNER: _(
        "The owner switched the writes of this project off: approved edits wait until the "
        "owner switches them on in the settings."
    ),
}
