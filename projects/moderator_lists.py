"""The lists moderators keep in the admin: withholdings and sensitive content (models of the
projects app, imported by ``projects.models``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from projects.list_entries import withheld_form


class ModeratorListQuerySet(models.QuerySet):
    def values_of(self, kind: str) -> frozenset[str]:
        """The values of one kind, as stored (normalised: titles, category names, Q-ids)."""
        return frozenset(self.filter(kind=kind).values_list("value", flat=True))


class ModeratorListEntry(models.Model):
    """An entry of a list moderators keep in the admin (withholdings, sensitive content):
    a kind, a value stored in the form the checks compare with, a reason, who set it, when.
    Each list names its own kinds (``Kind``) and says what its value is (``value``)."""

    reason = models.CharField(_("reason"), max_length=255)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("set by"),
    )
    set_at = models.DateTimeField(_("set at"), auto_now_add=True)

    objects = ModeratorListQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        abstract = True
        ordering = ["kind", "value"]

    kind: models.CharField
    value: models.CharField

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"  # type: ignore[attr-defined]

    def clean(self) -> None:
        """Store the value in the form the crawl and the checks compare with (a withholding's
        form: every list's kinds are withholding kinds)."""
        if not self.value or self.kind not in self.Kind.values:  # type: ignore[attr-defined]
            return
        try:
            self.value = withheld_form(self.kind, self.value)
        except ValidationError as error:
            raise ValidationError({"value": error.messages}) from error


class Withholding(ModeratorListEntry):
    """Something no project may touch: a person never tagged, a file or category never listed
    (MachineVision's withhold list and Wikidata id block list). Set in the admin only."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("Category")
        FILE = "file", _("File")
        PERSON = "person", _("Person")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(
        _("withheld"),
        max_length=255,
        help_text=_("A category name, a file title (File:…) or a Wikidata item id (Q…)."),
    )

    class Meta(ModeratorListEntry.Meta):
        verbose_name = _("withholding")
        verbose_name_plural = _("withholdings")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="withholding_unique"),
        ]


class Sensitivity(ModeratorListEntry):
    """Content that needs an individual look (MachineVision's "sensitive" hold): faces of
    files in such a category, or of a project about such a person (a minor, say), are
    never offered nor approved in bulk, only one at a time. Set in the admin only."""

    class Kind(models.TextChoices):
        CATEGORY = "category", _("Category")
        PERSON = "person", _("Person")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    value = models.CharField(
        _("sensitive"),
        max_length=255,
        help_text=_(
            "A category name (faces of files the crawl found in it) or a Wikidata item id "
            "(Q…: faces of projects about that person)."
        ),
    )

    class Meta(ModeratorListEntry.Meta):
        verbose_name = _("sensitive content")
        verbose_name_plural = _("sensitive content")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="sensitivity_unique"),
        ]
