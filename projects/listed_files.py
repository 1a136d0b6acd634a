"""The lines of a project over a list of files (models of the projects app, imported by
``projects.models``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ListedFileQuerySet(models.QuerySet):
    def problems(self) -> ListedFileQuerySet:
        """Lines Commons did not give an image for, in the order the contributor gave them."""
        return self.exclude(state__in=[ListedFile.State.PENDING, ListedFile.State.FOUND]).order_by(
            "position"
        )

    def counts(self) -> dict[str, int]:
        """Lines by state, every state present (zero when none), and ``problems``: the lines
        that gave no image (neither found nor still waiting to be looked up)."""
        rows = self.order_by().values_list("state").annotate(n=models.Count("pk"))
        counted = {str(state): int(n) for state, n in rows}
        counts = {state: counted.get(state, 0) for state in ListedFile.State.values}
        waiting = (ListedFile.State.PENDING, ListedFile.State.FOUND)
        counts["problems"] = sum(n for state, n in counts.items() if state not in waiting)
        return counts


class ListedFile(models.Model):
    """One line of a project's list of files: what the contributor gave, and what Commons
    said of it at the last crawl. Lines are fixed at creation; a crawl only updates them."""

    class State(models.TextChoices):
        PENDING = "pending", _("Not looked up yet")
        FOUND = "found", _("Image found")
        MISSING = "missing", _("No such file on Commons")
        NOT_FILE = "not_file", _("Not a file")
        NOT_IMAGE = "not_image", _("Not an image")
        INVALID = "invalid", _("Not a valid title")
        WITHHELD = "withheld", _("Withheld")
        OVER_LIMIT = "over_limit", _("Beyond the project's file limit")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="listed_files"
    )
    position = models.PositiveIntegerField(_("line"))
    line = models.CharField(_("as given"), max_length=1000)
    title = models.CharField(_("title"), max_length=300, blank=True, default="")
    pageid = models.PositiveBigIntegerField(_("page id"), null=True, blank=True)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING
    )
    detail = models.CharField(_("detail"), max_length=255, blank=True, default="")
    checked_at = models.DateTimeField(_("looked up"), null=True, blank=True)

    objects = ListedFileQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("listed file")
        verbose_name_plural = _("listed files")
        ordering = ["project", "position"]
        constraints = [
            models.UniqueConstraint(fields=["project", "position"], name="listed_file_position"),
        ]

    def __str__(self) -> str:
        return f"{self.line} ({self.state}) in {self.project_id}"
