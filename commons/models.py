"""Edits WikiVisage makes on Commons, each one approved by a person first."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DepictsEdit(models.Model):
    """One P180 statement to add to (or remove from) one file, from approval to its fate.

    The statement id (``M<pageid>$<uuid>``) is chosen when the edit is created, so a retried
    write can look on Commons for exactly the statement it may already have made.
    """

    class Action(models.TextChoices):
        ADD = "add", _("Add statement")
        REMOVE = "remove", _("Remove statement")

    class State(models.TextChoices):
        APPROVED = "approved", _("Approved")
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        ALREADY_PRESENT = "already_present", _("Already present")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REVERTED = "reverted", _("Reverted")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="depicts_edits"
    )
    image = models.ForeignKey("faces.Image", on_delete=models.CASCADE, related_name="depicts_edits")
    face = models.ForeignKey(
        "faces.Face", on_delete=models.SET_NULL, null=True, blank=True, related_name="depicts_edits"
    )
    qid = models.CharField(_("Wikidata item"), max_length=16)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices, default=Action.ADD)
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.APPROVED, db_index=True
    )
    statement_id = models.CharField(_("statement id"), max_length=80, unique=True)
    region = models.CharField(_("face region (P2677)"), max_length=64, blank=True, default="")
    error = models.TextField(_("error"), blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="approved_edits",
        verbose_name=_("approved by"),
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sent_edits",
        verbose_name=_("sent by"),
    )
    revision = models.PositiveBigIntegerField(_("Commons revision"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("depicts edit")
        verbose_name_plural = _("depicts edits")
        ordering = ["-approved_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "image", "qid", "action"], name="depicts_edit_unique"
            ),
        ]
        indexes = [models.Index(fields=["project", "state"], name="edit_state_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.qid} on {self.image}"


class WriteSwitch(models.Model):
    """The global kill switch: one row; when off, no write task sends anything."""

    writes_enabled = models.BooleanField(_("writes enabled"), default=True)
    reason = models.CharField(_("reason"), max_length=255, blank=True, default="")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("write switch")
        verbose_name_plural = _("write switch")

    def __str__(self) -> str:
        return str(_("Writes enabled")) if self.writes_enabled else str(_("Writes stopped"))

    @classmethod
    def get(cls) -> WriteSwitch:
        switch, _created = cls.objects.get_or_create(pk=1)
        return switch

    @classmethod
    def writes_allowed(cls) -> bool:
        return cls.objects.filter(pk=1, writes_enabled=False).first() is None
