"""Edits WikiVisage makes on Commons, each one approved by a person first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DepictsEditQuerySet(models.QuerySet):
    def claim(self, *, pk: int, state: str, to: str, stale_after: timedelta | None = None) -> bool:
        """Move one edit from ``state`` to ``to`` if nobody else did first (one UPDATE).

        With ``stale_after``, an edit left in ``to`` by a worker that died mid-way (claimed
        longer ago than that) is taken over too.
        """
        now = timezone.now()
        wanted = Q(state=state)
        if stale_after is not None:
            wanted |= Q(state=to, claimed_at__lt=now - stale_after)
        taken = self.filter(wanted, pk=pk).update(state=to, claimed_at=now, updated_at=now)
        return taken == 1

    def release(
        self, *, pk: int, state: str, to: str, error: str = "", failed: bool = False
    ) -> bool:
        """Hand a claimed edit back (``state`` → ``to``) for a later try; ``failed`` counts it."""
        changes: dict[str, Any] = {"state": to, "claimed_at": None, "error": error}
        changes["updated_at"] = timezone.now()
        if failed:
            changes["attempts"] = models.F("attempts") + 1
        return self.filter(pk=pk, state=state).update(**changes) == 1

    def stale(self, *, state: str, before: timedelta) -> DepictsEditQuerySet:
        return self.filter(state=state, claimed_at__lt=timezone.now() - before)


class DepictsEdit(models.Model):
    """One P180 statement to add to (or remove from) one file, from approval to its fate.

    The statement id (``M<pageid>$<uuid>``) of an addition is chosen when the edit is
    approved, so a retried write can look on Commons for exactly the statement it may already
    have made. A removal learns the ids it removes only when it is sent (``removed_statements``).

    States: a removal starts ``proposed``; ``approved`` → ``queued`` (the user confirmed) →
    ``sending`` (claimed by one worker) → ``sent`` | ``already_present`` | ``failed``.
    A sent addition can be undone: ``revert_queued`` → ``reverting`` → ``reverted``; one
    removed on Commons by someone else becomes ``removed``.
    """

    class Action(models.TextChoices):
        ADD = "add", _("Add statement")
        REMOVE = "remove", _("Remove statement")

    class State(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        APPROVED = "approved", _("Approved")
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        ALREADY_PRESENT = "already_present", _("Already present")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")
        REVERT_QUEUED = "revert_queued", _("Revert queued")
        REVERTING = "reverting", _("Reverting")
        REVERTED = "reverted", _("Reverted")
        REMOVED = "removed", _("Removed on Commons")

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
    statement_id = models.CharField(
        _("statement id"),
        max_length=80,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Chosen at approval for an addition; empty for a removal."),
    )
    written_qid = models.CharField(
        _("item written"),
        max_length=16,
        blank=True,
        default="",
        help_text=_("The Wikidata item after following redirects, as written to Commons."),
    )
    removed_statements = models.JSONField(
        _("statements removed"), default=list, blank=True, help_text=_("Removals only.")
    )
    batch = models.UUIDField(_("batch"), null=True, blank=True, db_index=True, editable=False)
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
    reverted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reverted_edits",
        verbose_name=_("reverted by"),
    )
    revision = models.PositiveBigIntegerField(_("Commons revision"), null=True, blank=True)
    approved_at = models.DateTimeField(_("approved at"), default=timezone.now)
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("claimed by a worker at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    reverted_at = models.DateTimeField(_("reverted at"), null=True, blank=True)
    checked_at = models.DateTimeField(
        _("last checked on Commons"),
        null=True,
        blank=True,
        help_text=_("When WikiVisage last looked for this statement on Commons."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = DepictsEditQuerySet.as_manager()

    class Meta:
        verbose_name = _("depicts edit")
        verbose_name_plural = _("depicts edits")
        ordering = ["-approved_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "image", "qid", "action"], name="depicts_edit_unique"
            ),
            models.CheckConstraint(
                condition=Q(action="remove") | Q(statement_id__isnull=False),
                name="depicts_edit_add_has_statement_id",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "state"], name="edit_state_idx"),
            models.Index(fields=["state", "checked_at"], name="edit_check_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.qid} on {self.image}"

    @property
    def is_removal(self) -> bool:
        return self.action == self.Action.REMOVE

    @property
    def state_text(self) -> str:
        """The state as a person reads it; "already present" means "already gone" for a removal."""
        if self.is_removal and self.state == self.State.ALREADY_PRESENT:
            return str(_("Already absent"))
        return str(self.get_state_display())


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


class WriteThrottle(models.Model):
    """When a user's next edit may leave: one row per user, shared by every write worker.

    A worker reserves the next slot with a compare-and-swap on ``version`` (a conditional
    UPDATE), which works the same on SQLite and MariaDB and needs no lock server.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="write_throttle",
    )
    next_allowed_at = models.DateTimeField(_("next edit allowed at"), default=timezone.now)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("write throttle")
        verbose_name_plural = _("write throttles")

    def __str__(self) -> str:
        return f"{self.user_id} until {self.next_allowed_at:%H:%M:%S.%f}"
