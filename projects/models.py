"""Projects: a Wikidata person looked for in a Commons category, and who works on it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from commons.identifiers import normalise_category, normalise_qid, validate_qid

DEFAULT_MIN_ANSWERS = 3
"""Answers before suggestions: a first yes and two more answers near the boundary are
enough for the learner's estimates to mean something (evaluate_learning measures it)."""


class ProjectQuerySet(models.QuerySet):
    def visible_to(self, user: User | AnonymousUser) -> ProjectQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(Q(owner=user) | Q(memberships__user=user)).distinct()

    def active(self) -> ProjectQuerySet:
        return self.filter(state=Project.State.ACTIVE, moderation=Project.Moderation.NONE)

    def writable(self) -> ProjectQuerySet:
        """Projects whose edits may leave: neither the owner nor a moderator stopped them."""
        return self.filter(
            writes_enabled=True, moderator_writes_stopped=False, moderation=Project.Moderation.NONE
        )

    def moderate(self, *, by: User, **changes: object) -> int:
        """A moderator's decision (``moderation``, ``moderator_writes_stopped``), with who
        and when; the admin's actions are its only callers, the owner's form never is."""
        return self.update(moderated_by=by, moderated_at=timezone.now(), **changes)


class Project(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        COMPLETED = "completed", _("Completed")
        # No longer set: a moderator's archive is ``moderation`` (migration 0005 moved it).
        ARCHIVED = "archived", _("Archived")

    class Moderation(models.TextChoices):
        """A moderator's hold, apart from the owner's own state: only the admin changes it."""

        NONE = "none", _("None")
        PAUSED = "paused", _("Paused by a moderator")
        ARCHIVED = "archived", _("Archived by a moderator")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_projects",
        verbose_name=_("owner"),
    )
    members: models.ManyToManyField = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="Membership",
        related_name="projects",
        blank=True,
        verbose_name=_("members"),
    )
    qid = models.CharField(_("Wikidata item"), max_length=16, validators=[validate_qid])
    person_labels = models.JSONField(
        _("cached labels"), default=dict, blank=True, help_text=_("Language code → label.")
    )
    person_image = models.CharField(
        _("Wikidata image (P18)"), max_length=255, blank=True, default=""
    )
    category = models.CharField(_("Commons category"), max_length=255)
    crawl_depth = models.PositiveSmallIntegerField(
        _("subcategory depth"), default=2, validators=[MaxValueValidator(10)]
    )
    distance_threshold = models.FloatField(
        _("distance threshold"),
        default=0.6,
        validators=[MinValueValidator(0.1), MaxValueValidator(1.2)],
    )
    min_answers = models.PositiveSmallIntegerField(
        _("answers before suggestions"),
        default=DEFAULT_MIN_ANSWERS,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Yes or no answers the learner needs before it proposes faces; the person's "
            "existing depicts statements count as answers."
        ),
    )
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.ACTIVE, db_index=True
    )
    write_face_region = models.BooleanField(_("write the face region (P2677)"), default=True)
    writes_enabled = models.BooleanField(
        _("writes enabled"),
        default=True,
        help_text=_("Switch off to stop every write of this project at once."),
    )
    moderation = models.CharField(
        _("moderation"),
        max_length=16,
        choices=Moderation.choices,
        default=Moderation.NONE,
        db_index=True,
        help_text=_("Paused or archived by a moderator: no answers and no writes."),
    )
    moderator_writes_stopped = models.BooleanField(
        _("writes stopped by a moderator"),
        default=False,
        help_text=_("Set by a moderator; the owner's own switch cannot undo it."),
    )
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("moderated by"),
    )
    moderated_at = models.DateTimeField(_("moderated at"), null=True, blank=True)
    moderation_reason = models.CharField(
        _("moderator's reason"), max_length=255, blank=True, default=""
    )
    description = models.TextField(_("instructions for reviewers"), blank=True, default="")
    share_evidence = models.BooleanField(
        _("Share answers with other projects"),
        default=False,
        help_text=_(
            "Your reviewers' yes answers then count as evidence against those faces in other "
            "projects about another person that share photos with this one and opted in too; "
            "their answers count here in the same way. Nothing else is shared."
        ),
    )
    crawl_cursor = models.JSONField(
        _("crawl cursor"),
        null=True,
        blank=True,
        help_text=_("Where an interrupted crawl continues; empty when no crawl is under way."),
    )
    crawled_at = models.DateTimeField(_("last crawl finished"), null=True, blank=True)
    # Why a crawl or search took less than Commons holds: the bound it stopped at (the
    # setting may change later; the page names the number that applied).
    crawl_limit_hit = models.PositiveIntegerField(
        _("crawl stopped at"),
        null=True,
        blank=True,
        help_text=_(
            "The most files a project takes, when the last crawl stopped there; empty when it "
            "listed the whole category."
        ),
    )
    bootstrap_limit_hit = models.PositiveIntegerField(
        _("depicts search stopped at"),
        null=True,
        blank=True,
        help_text=_(
            "The most files the search for existing depicts statements adds, when the last "
            "search stopped there; empty when it took every file found."
        ),
    )
    learning = models.JSONField(
        _("learner's state"),
        default=dict,
        blank=True,
        help_text=_("Estimated precision and recall, score histogram; written by the learner."),
    )
    rescore_pending = models.BooleanField(
        _("re-scoring queued"),
        default=False,
        help_text=_("Set when a learn task is queued, so bursts of answers queue one."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # django-stubs cannot follow this manager through the forward references above.
    objects = ProjectQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "qid", "category"], name="project_unique_per_owner"
            ),
            models.CheckConstraint(
                condition=Q(distance_threshold__gt=0), name="project_threshold_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_label} — {self.category}"

    @property
    def person_label(self) -> str:
        labels = self.person_labels or {}
        return labels.get("en") or next(iter(labels.values()), self.qid)

    def label_in(self, language: str) -> str:
        labels = self.person_labels or {}
        return labels.get(language) or self.person_label

    @property
    def accepts_answers(self) -> bool:
        return self.state == self.State.ACTIVE and self.moderation == self.Moderation.NONE

    @property
    def under_moderation(self) -> bool:
        """A moderator holds the project (paused, archived, or its writes stopped)."""
        return self.moderation != self.Moderation.NONE or self.moderator_writes_stopped

    @property
    def writes_on(self) -> bool:
        """The row's side of :meth:`ProjectQuerySet.writable` (the global switch aside)."""
        return (
            self.writes_enabled
            and not self.moderator_writes_stopped
            and self.moderation == self.Moderation.NONE
        )

    def pause(self) -> None:
        self.state = self.State.PAUSED
        self.save(update_fields=["state", "updated_at"])

    def role_of(self, user: User) -> str | None:
        """``owner``, ``reviewer`` or None; the owner's role never depends on a Membership row."""
        if user.pk == self.owner_id:
            return Membership.Role.OWNER
        membership = self.memberships.filter(user=user).first()
        return membership.role if membership else None


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        REVIEWER = "reviewer", _("Reviewer")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REVIEWER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.project_id}"


class Heartbeat(models.Model):
    """A ping sent from the web process and answered by a worker: proof the queue works."""

    token = models.UUIDField(unique=True)
    sent_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["-sent_at"]

    def __str__(self) -> str:
        return f"{self.token} → {self.worker or '…'}"


class WithholdingQuerySet(models.QuerySet):
    def values_of(self, kind: str) -> frozenset[str]:
        """The withheld values of one kind: titles or Q-ids, as stored (normalised)."""
        return frozenset(self.filter(kind=kind).values_list("value", flat=True))


class Withholding(models.Model):
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

    objects = WithholdingQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("withholding")
        verbose_name_plural = _("withholdings")
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="withholding_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"

    def clean(self) -> None:
        """Store the value in the form the crawl and the checks compare with."""
        if not self.value or self.kind not in self.Kind.values:
            return
        try:
            self.value = withheld_form(self.kind, self.value)
        except ValidationError as error:
            raise ValidationError({"value": error.messages}) from error


def withheld_form(kind: str, value: str) -> str:
    """``value`` as a withholding of ``kind`` stores it: a category name without namespace,
    a file title with ``File:``, a Q-id in capitals."""
    if kind == Withholding.Kind.CATEGORY:
        return normalise_category(value)
    if kind == Withholding.Kind.PERSON:
        return normalise_qid(value)
    name = " ".join(value.strip().replace("_", " ").split())
    name = name.removeprefix("File:").removeprefix("file:").strip()
    if not name:
        raise ValidationError(_("Give the title of a Commons file."))
    return "File:" + name[0].upper() + name[1:]
