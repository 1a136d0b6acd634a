"""Groups of people: one scope, several Wikidata people, one ordinary project per person
(models of the projects app, imported by ``projects.models``).

A group adds nothing to what a project is: each person's project crawls, learns, is
approved and sent exactly as a project of one person. The group only ties them together so
that one question ("who is this?") can answer for all of them at once.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MIN_PEOPLE = 2
MAX_PEOPLE = 12


class ProjectGroup(models.Model):
    """A group of people looked for in one scope: the owner of all its projects."""

    name = models.CharField(_("name"), max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="project_groups",
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("group of people")
        verbose_name_plural = _("groups of people")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:group", args=[self.pk])

    def member_projects(self) -> list[Any]:
        """The person projects, in the order the people were given."""
        people = self.people.select_related("project", "project__owner").order_by("position")
        return [person.project for person in people]


class GroupPerson(models.Model):
    """One person of a group: their own single-person project over the group's scope."""

    group = models.ForeignKey(
        ProjectGroup, on_delete=models.CASCADE, related_name="people", verbose_name=_("group")
    )
    # A project is in one group at most; deleting the project takes it out of its group.
    project = models.OneToOneField(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="group_person",
        verbose_name=_("project"),
    )
    position = models.PositiveSmallIntegerField(_("position"))
    served = models.PositiveIntegerField(
        _("questions served"),
        default=0,
        help_text=_("“Who is this?” questions asked for this person: the people take turns."),
    )

    class Meta:
        verbose_name = _("person of a group")
        verbose_name_plural = _("people of a group")
        constraints = [
            models.UniqueConstraint(fields=["group", "position"], name="group_person_position"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.position}: {self.project_id}"
