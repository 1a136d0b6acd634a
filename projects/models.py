"""Projects: a Wikidata person looked for in a Commons category, and who works on it."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

from commons.identifiers import validate_qid
from projects.groups import GroupPerson as GroupPerson
from projects.groups import ProjectGroup as ProjectGroup
from projects.listed_files import ListedFile as ListedFile
from projects.moderator_lists import ModeratorListEntry as ModeratorListEntry
from projects.moderator_lists import Sensitivity as Sensitivity
from projects.moderator_lists import Withholding as Withholding
from projects.standing import Standing

DEFAULT_MIN_ANSWERS = 3
"""Answers before suggestions: a first yes and two more answers near the boundary are
enough for the learner's estimates to mean something (evaluate_learning measures it)."""


CRAWL_CHAIN_LOST = timedelta(hours=6)
"""A crawl's tasks each run ten minutes at most and queue the next: a crawl under way whose
last task started this long ago lost its chain (a worker killed with the message)."""


class ProjectQuerySet(models.QuerySet):
    def files_held(self) -> int:
        """How many files these projects hold together (a file in two counts twice: each
        project crawls, detects and scores it)."""
        return int(self.aggregate(n=models.Count("project_images"))["n"] or 0)

    def visible_to(self, user: User | AnonymousUser) -> ProjectQuerySet:
        if not user.is_authenticated:
            return self.none()
        if user.is_staff:
            return self
        return self.filter(Q(owner=user) | Q(memberships__user=user)).distinct()

    def active(self) -> ProjectQuerySet:
        return self.filter(state=Project.State.ACTIVE, moderation=Project.Moderation.NONE)

    def without_running_crawl(self) -> ProjectQuerySet:
        """Projects whose crawl is not under way: no crawl task ever started, the last one
        finished the crawl (``crawled_at`` after it), or the chain of tasks is lost (the
        last started longer than CRAWL_CHAIN_LOST ago; a new one continues it). A crawl
        under way queues its own next task: a second chain would crawl it twice."""
        lost = timezone.now() - CRAWL_CHAIN_LOST
        finished = Q(crawl_cursor__isnull=True, crawled_at__gte=F("crawl_task_at"))
        return self.filter(Q(crawl_task_at__isnull=True) | Q(crawl_task_at__lt=lost) | finished)

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
        # The owner's archive; a moderator's is ``moderation`` (``Project.standing`` says whose).
        ARCHIVED = "archived", _("Archived")

    class Scope(models.TextChoices):
        """Where the photos come from: a category crawled to ``crawl_depth``, a list of
        files given once (``ListedFile`` rows), a Commons search (``search_query``) or the
        uploads of one user (``uploads_user``); the last two are run again at each crawl."""

        CATEGORY = "category", _("Category")
        FILES = "files", _("List of files")
        SEARCH = "search", _("Commons search")
        UPLOADS = "uploads", _("Uploads of a user")

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
    scope = models.CharField(
        _("scope"), max_length=16, choices=Scope.choices, default=Scope.CATEGORY
    )
    # NULL for a list of files: NULLs never collide in the unique constraint below, on
    # MariaDB too (which ignores a unique constraint that carries a condition).
    category = models.CharField(  # noqa: DJ001 (NULL on purpose, see above)
        _("Commons category"), max_length=255, null=True, blank=True
    )
    # CirrusSearch refuses a query longer than 300 characters.
    search_query = models.CharField(_("Commons search"), max_length=300, blank=True, default="")
    uploads_user = models.CharField(_("uploader"), max_length=255, blank=True, default="")
    listed_count = models.PositiveIntegerField(
        _("listed files"), default=0, help_text=_("How many files the list names.")
    )
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
    share_confirmed_faces = models.BooleanField(
        _("Propose this person to other groups"),
        default=False,
        help_text=_(
            "When a face in another contributor's group of people matches none of its people, "
            "the faces your reviewers confirmed here may propose this person: the group sees "
            "the person and how many faces were confirmed, never the photos, the project or "
            "its owner. Their answers are stored in their own group, never here."
        ),
    )
    allow_uploaders = models.BooleanField(
        _("Uploaders may answer"),
        default=True,
        help_text=_(
            "Whoever uploaded a photo to Commons may confirm or reject the suggestions on it "
            "from their “My uploads” page; their answers count here as a member's would."
        ),
    )
    uploaders_by_email = models.BooleanField(
        _("Tell uploaders by e-mail"),
        default=False,
        help_text=_(
            "Uploaders are told on this site, at most once a day, of suggestions on their "
            "photos; with this on, also by e-mail when their Wikimedia account shares its "
            "address (the OAuth consumer's private-info grant). They can opt out."
        ),
    )
    crawl_cursor = models.JSONField(
        _("crawl cursor"),
        null=True,
        blank=True,
        help_text=_("Where an interrupted crawl continues; empty when no crawl is under way."),
    )
    crawled_at = models.DateTimeField(_("last crawl finished"), null=True, blank=True)
    crawl_task_at = models.DateTimeField(_("last crawl task started"), null=True, blank=True)
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
    owner_limit_hit = models.PositiveIntegerField(
        _("owner's files stopped at"),
        null=True,
        blank=True,
        help_text=_(
            "The most files one user's projects hold together, when the last crawl stopped "
            "there; empty when it did not."
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
            # Each scope has its own parameter, and only that one.
            models.CheckConstraint(
                condition=(
                    Q(scope="files", category__isnull=True, search_query="", uploads_user="")
                    | (
                        Q(scope="category", category__isnull=False, search_query="")
                        & Q(uploads_user="")
                        & ~Q(category="")
                    )
                    | (
                        Q(scope="search", category__isnull=True, uploads_user="")
                        & ~Q(search_query="")
                    )
                    | (
                        Q(scope="uploads", category__isnull=True, search_query="")
                        & ~Q(uploads_user="")
                    )
                ),
                name="project_scope_has_its_parameter",
            ),
            models.CheckConstraint(
                condition=Q(distance_threshold__gt=0), name="project_threshold_positive"
            ),
        ]

    def __str__(self) -> str:
        if self.scope == self.Scope.FILES:
            return f"{self.person_label} — {self.listed_count} listed files"
        if self.scope == self.Scope.CATEGORY:
            return f"{self.person_label} — {self.category}"
        return f"{self.person_label} — {self.scope_text}"

    @property
    def scope_text(self) -> str:
        """Where the project looks, as its pages and the admin say it."""
        if self.scope == self.Scope.FILES:
            return ngettext(
                "%(count)s listed file", "%(count)s listed files", self.listed_count
            ) % {"count": self.listed_count}
        if self.scope == self.Scope.SEARCH:
            return _("Commons search: %(query)s") % {"query": self.search_query}
        if self.scope == self.Scope.UPLOADS:
            return _("Uploads of User:%(user)s") % {"user": self.uploads_user}
        return _("Category: %(category)s") % {"category": self.category}

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

    @property
    def standing(self) -> Standing:
        """The state in effect and who holds the project there: every page says it from this."""
        return Standing.of(self)

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
    # Each member's own choice, set on the project page (projects.notifications).
    notify_on_site = models.BooleanField(_("notifications on the site"), default=True)
    notify_by_email = models.BooleanField(_("notifications by e-mail"), default=False)
    notify_language = models.CharField(
        _("language of the e-mails"),
        max_length=8,
        blank=True,
        default="",
        help_text=_("The member's language when they asked for e-mails; empty: the site's."),
    )

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}) in {self.project_id}"


class NotificationQuerySet(models.QuerySet):
    def shown_to(self, user: User | AnonymousUser) -> NotificationQuerySet:
        """The user's notifications on the site (those told by e-mail only are not)."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(recipient=user, on_site=True)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def mark_read(self) -> int:
        return self.unread().update(read_at=timezone.now())


class Notification(models.Model):
    """Something that happened in a project, told to one member: on the site, and by e-mail
    to those who asked for it.

    The row keeps the kind and its figures, never a sentence: :meth:`text` writes it in the
    language of whoever reads it, when they read it. ``event`` names what happened (a batch,
    the number of photos processed): one member is told of one event once, however often the
    code that notices it runs.
    """

    class Kind(models.TextChoices):
        PROCESSING_FINISHED = "processing_finished", _("Photos processed")
        SUGGESTIONS_READY = "suggestions_ready", _("Suggestions ready")
        SEND_FINISHED = "send_finished", _("Edits sent")
        SEND_FAILED = "send_failed", _("Edits not sent")
        UPLOADS_SUGGESTED = "uploads_suggested", _("Suggestions on your uploads")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("project")
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    event = models.CharField(_("event"), max_length=100)
    params = models.JSONField(_("figures"), default=dict, blank=True)
    on_site = models.BooleanField(_("shown on the site"), default=True)
    email = models.BooleanField(_("sent by e-mail"), default=False)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = NotificationQuerySet.as_manager()  # type: ignore[django-manager-missing]

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "project", "event"], name="notification_once_per_event"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.event}) → {self.recipient_id}"

    def get_absolute_url(self) -> str:
        """Where the notification leads: the suggestion grid, or the project page."""
        if self.kind == self.Kind.SUGGESTIONS_READY:
            return reverse("projects:suggestions", args=[self.project_id])
        if self.kind == self.Kind.UPLOADS_SUGGESTED:
            return reverse("uploads")
        return reverse("projects:detail", args=[self.project_id])

    def figure(self, name: str) -> int:
        """A stored figure; a missing or unreadable one reads as 0, never as an error."""
        try:
            return max(0, int(self.params.get(name, 0)))
        except (TypeError, ValueError, AttributeError):
            return 0

    def text(self) -> str:
        """The sentence, in the active language (the reader's), with the person's label in it."""
        person = self.project.label_in(get_language())
        if self.kind == self.Kind.PROCESSING_FINISHED:
            count = self.figure("count")
            return ngettext(
                "%(count)d photo of %(person)s is processed: its faces wait for your answers.",
                "All %(count)d photos of %(person)s are processed: their faces wait for your "
                "answers.",
                count,
            ) % {"count": count, "person": person}
        if self.kind == self.Kind.SUGGESTIONS_READY:
            count = self.figure("count")
            return ngettext(
                "The learner suggests %(count)d face as %(person)s: it waits for your review.",
                "The learner suggests %(count)d faces as %(person)s: they wait for your review.",
                count,
            ) % {"count": count, "person": person}
        if self.kind == self.Kind.UPLOADS_SUGGESTED:
            count = self.figure("count")
            return ngettext(
                "%(count)d face on a photo you uploaded may show someone a project looks for: "
                "confirm or reject it on your uploads page.",
                "%(count)d faces on photos you uploaded may show people projects look for: "
                "confirm or reject them on your uploads page.",
                count,
            ) % {"count": count}
        sent, failed = self.figure("sent"), self.figure("failed")
        if self.kind == self.Kind.SEND_FAILED:
            return ngettext(
                "%(failed)d edit about %(person)s could not be sent (%(sent)d sent); the send "
                "page says why.",
                "%(failed)d edits about %(person)s could not be sent (%(sent)d sent); the send "
                "page says why.",
                failed,
            ) % {"failed": failed, "sent": sent, "person": person}
        return ngettext(
            "%(count)d edit about %(person)s was sent to Commons.",
            "%(count)d edits about %(person)s were sent to Commons.",
            sent,
        ) % {"count": sent, "person": person}


class UploaderNotices(models.Model):
    """What one user hears of the suggestions on the files they uploaded (``wikivisage.uploads``):
    their opt-out, and the last notice, so they are told at most once a day and only of
    suggestions they were not told of. A user with no row was never told and did not opt out."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="uploader_notices",
    )
    opted_out = models.BooleanField(_("no notices about my uploads"), default=False)
    told_at = models.DateTimeField(_("last told"), null=True, blank=True)
    # The suggestions (model label ids) the last notice was about: a later notice needs one
    # that is not among them.
    told = models.JSONField(_("suggestions told of"), default=list, blank=True)

    class Meta:
        verbose_name = _("notices about uploads")
        verbose_name_plural = _("notices about uploads")

    def __str__(self) -> str:
        return f"{self.user_id}: {'off' if self.opted_out else self.told_at}"
