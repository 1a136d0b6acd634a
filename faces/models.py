"""Images of Commons, the faces found in them, and what people (and the model) said of them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from commons.mediainfo import pct_region
from faces import label_sql

ENCODING_DIMENSIONS = 128
ENCODING_BYTES = ENCODING_DIMENSIONS * 4  # float32


def new_upload_wait() -> timedelta:
    """How long a newly uploaded file waits before its faces are detected: many new files are
    deleted within days, so MachineVision waits 48 h before labelling one
    ($wgMachineVisionNewUploadLabelingJobDelay). Zero: no wait."""
    return timedelta(hours=settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS)


def upload_cutoff(now: datetime) -> datetime | None:
    """The upload time a file must be past to be old enough at ``now``, or None when the
    condition does not compare with the time (no wait, or new uploads switched off)."""
    wait = new_upload_wait()
    if not settings.WIKIVISAGE_PROCESS_NEW_UPLOADS or not wait:
        return None
    return now - wait


def old_enough_q(image: str = "", *, now: datetime | None = None) -> Q:
    """Images past that wait, as a condition on the image reached through ``image`` (a
    prefix such as ``"image__"``). An unknown upload time (rows from before it was stored)
    counts as old enough.

    With ``WIKIVISAGE_PROCESS_NEW_UPLOADS`` off, a new upload is never old enough: a file
    counts only if it was already past the wait when WikiVisage first met it (``created_at``),
    so files younger than that when a crawl found them, and files re-uploaded since, stay
    undetected for as long as the switch is off (MachineVision can turn off the labelling of
    new uploads in the same way). ``now``: the time to compare with (a read prepared once,
    ``core.prepared``, binds it per request); the current time if not given."""
    field = f"{image}uploaded_at"
    unknown = Q(**{f"{field}__isnull": True})
    if not settings.WIKIVISAGE_PROCESS_NEW_UPLOADS:
        return unknown | Q(**{f"{field}__lte": F(f"{image}created_at") - new_upload_wait()})
    cutoff = upload_cutoff(now or timezone.now())
    if cutoff is None:
        return Q()
    return unknown | Q(**{f"{field}__lte": cutoff})


def is_old_enough(image: Image) -> bool:
    """:func:`old_enough_q` for one image already read (no query)."""
    if image.uploaded_at is None:
        return True
    wait = new_upload_wait()
    if not settings.WIKIVISAGE_PROCESS_NEW_UPLOADS:
        return image.created_at is not None and image.uploaded_at <= image.created_at - wait
    return image.uploaded_at <= timezone.now() - wait


class ImageQuerySet(models.QuerySet):
    def claimable(self, *, stale_after: timedelta) -> ImageQuerySet:
        """Pending images, and images whose worker died mid-way (claim older than the timeout),
        past the wait for new uploads (:func:`old_enough_q`).

        The wait is part of the claim, the one conditional UPDATE every detection goes
        through (a task by id, ``processproject``, the turns, the sweep): no path can detect
        a file younger than the wait, whatever queued it."""
        stale = timezone.now() - stale_after
        return self.filter(
            Q(state=Image.State.PENDING) | Q(state=Image.State.PROCESSING, claimed_at__lt=stale)
        ).filter(old_enough_q())


class Image(models.Model):
    """A Commons file, shared by every project that meets it; keyed by its page id."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        ERROR = "error", _("Error")

    pageid = models.PositiveBigIntegerField(_("Commons page id"), unique=True)
    # Indexed: the read API finds a file's suggestions by its title, once per page view.
    title = models.CharField(_("file title"), max_length=255, db_index=True)
    sha1 = models.CharField(_("SHA1"), max_length=40, blank=True, default="", db_index=True)
    width = models.PositiveIntegerField(_("original width"), default=0)
    height = models.PositiveIntegerField(_("original height"), default=0)
    mime = models.CharField(_("MIME type"), max_length=64, blank=True, default="")
    thumb_url = models.URLField(_("thumbnail URL"), max_length=1000, blank=True, default="")
    thumb_width = models.PositiveIntegerField(_("thumbnail width"), default=0)
    # When the current version was uploaded: a new upload waits before it is detected.
    uploaded_at = models.DateTimeField(_("uploaded"), null=True, blank=True)
    # Who uploaded the current version (imageinfo's user; empty when Commons hides it, or
    # for rows from before it was stored). A user name is personal data: the admin only.
    uploader = models.CharField(_("uploader"), max_length=255, blank=True, default="")
    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    error = models.TextField(_("error"), blank=True, default="")
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("images")
        indexes = [models.Index(fields=["state", "claimed_at"], name="image_claim_idx")]

    def __str__(self) -> str:
        return self.title

    @property
    def mediainfo_id(self) -> str:
        return f"M{self.pageid}"


class ProjectImage(models.Model):
    """How an image entered a project. Bootstrap-only images stay outside the category's scope."""

    class Source(models.TextChoices):
        CATEGORY = "category", _("Category")
        BOOTSTRAP = "bootstrap", _("Existing depicts statement")

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="project_images"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="project_links")
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    depicts_person = models.BooleanField(_("already depicts the person on Commons"), default=False)
    depicts_others = models.JSONField(_("other people already depicted"), default=list, blank=True)
    # The P2677 region ("pct:x,y,w,h") of the person's statement, when it has one: it tells
    # which face of a photo with several the statement means (``pipeline._bootstrap_yes``).
    depicts_region = models.CharField(
        _("region of the existing depicts statement"), max_length=64, blank=True, default=""
    )
    # The audit of the person's statement (``faceengine.learner.audit``): the learner's
    # probability that the statement's face is the person, scored without the statement
    # itself, as of its last run. Empty: not checked (no face known for the statement, or
    # no face confirmed by a person yet).
    statement_score = models.FloatField(
        _("audit of the existing depicts statement"), null=True, blank=True
    )
    # Met by the crawl pass under way (or the last one): a pass that lists the whole tree
    # unlinks the category files it did not meet (``pipeline._links_sweep``).
    crawl_seen = models.BooleanField(_("met by the last crawl"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("project image")
        verbose_name_plural = _("project images")
        constraints = [
            models.UniqueConstraint(fields=["project", "image"], name="project_image_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.image} in project {self.project_id}"


def seen_in_q(project, face: str = "") -> Q:
    """Faces a project may be asked about, among those of its photos: the detector's, and
    boxes drawn or corrected in this project. A box drawn in another project belongs to
    that project (``Face.project``) until this one answered it, so a non-member never
    changes what this project is asked. ``face``: the prefix reaching the face (``"face__"``).
    """
    answered = Label.objects.filter(
        project=project, face=OuterRef(f"{face}pk"), source=Label.Source.HUMAN
    )
    made_in = f"{face}project"
    return Q(**{f"{made_in}__isnull": True}) | Q(**{made_in: project}) | Q(Exists(answered))


def drawn_elsewhere(drawn_in: int | None, project_id: int) -> bool:
    """Whether a face already read (its ``project_id`` is ``drawn_in``) is a box drawn in
    another project: :func:`seen_in_q` sees it only once this project answered it. For the
    hot path, where compiling that subquery cost more than reading the face."""
    return drawn_in is not None and drawn_in != project_id


class ImageCategory(models.Model):
    """A category a crawl listed the file in (without namespace): what the sensitive-content
    hold (``projects.models.Sensitivity``) reads. Internal bookkeeping of the crawl."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="crawled_in")
    category = models.CharField(max_length=255, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "category"], name="image_category_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.image_id} in {self.category}"


class FaceQuerySet(models.QuerySet):
    def current(self) -> FaceQuerySet:
        """Faces not replaced by an edited box, nor retired (:meth:`Face.retire`)."""
        return self.filter(superseded_by__isnull=True)

    def retired(self) -> FaceQuerySet:
        """Faces found on bytes the file no longer has (:meth:`Face.retire`)."""
        return self.filter(superseded_by=models.F("pk"))

    def of_project(self, project) -> FaceQuerySet:
        """Faces of the project's photos that the project may be asked about
        (:func:`seen_in_q`)."""
        return self.filter(seen_in_q(project), image__project_links__project=project)

    def unlabelled(self, project) -> FaceQuerySet:
        answered = Label.objects.filter(project=project, source=Label.Source.HUMAN)
        return self.current().of_project(project).exclude(pk__in=answered.values("face_id"))


class Face(models.Model):
    """A face in an image. The box is in fractions (0..1) of the *full* image, never pixels."""

    class Origin(models.TextChoices):
        DETECTOR = "detector", _("Detector")
        DRAWN = "drawn", _("Drawn by hand")

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="faces")
    index = models.PositiveSmallIntegerField(_("index in image"))
    left = models.FloatField()
    top = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    encoding = models.BinaryField(_("128-D encoding"), null=True, blank=True, editable=False)
    # The model that computed ``encoding`` (faceengine.detection.ENCODER, or the model service's
    # version): encodings of two models are never compared. Meaningless while not encoded.
    encoder = models.CharField(
        _("encoding model"), max_length=64, default="dlib-resnet-v1", db_index=True
    )
    origin = models.CharField(
        _("origin"), max_length=16, choices=Origin.choices, default=Origin.DETECTOR
    )
    # The detectors that found the face, in rank order, comma-separated (faces.providers:
    # "dlib", "http"); the box is the first one's. Empty for a drawn face, and for faces
    # detected before it was recorded.
    found_by = models.CharField(_("found by"), max_length=64, blank=True, default="")
    small = models.BooleanField(_("too small for a trustworthy encoding"), default=False)
    superseded_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supersedes",
        verbose_name=_("replaced by"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # A box drawn (or corrected) by hand belongs to the project it was drawn in: other
    # projects holding the photo are not asked about it (``seen_in_q``). Empty for the
    # detector's faces, which every project holding the photo shares. Deleted with its
    # project: nobody else was asked about it.
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="drawn_faces",
        verbose_name=_("drawn in project"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = FaceQuerySet.as_manager()
    # Not a column: the project this object was read as a face of (``seen_in_q`` and its
    # photos), by ``faces.selectors.face_of_project`` in the request at hand.
    seen_in_project: int | None = None

    class Meta:
        verbose_name = _("face")
        verbose_name_plural = _("faces")
        ordering = ["image_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["image", "index"], name="face_unique_index"),
            models.CheckConstraint(
                condition=Q(left__gte=0, top__gte=0, width__gt=0, height__gt=0)
                & Q(left__lte=1, top__lte=1, width__lte=1, height__lte=1),
                name="face_box_fractions",
            ),
        ]

    def __str__(self) -> str:
        return f"face {self.index} of {self.image}"

    @property
    def vector(self) -> np.ndarray | None:
        if self.encoding is None:
            return None
        return np.frombuffer(bytes(self.encoding), dtype=np.float32)

    @staticmethod
    def pack(vector: np.ndarray) -> bytes:
        array = np.asarray(vector, dtype=np.float32).reshape(-1)
        if array.size != ENCODING_DIMENSIONS:
            raise ValueError(f"an encoding has {ENCODING_DIMENSIONS} values, not {array.size}")
        return array.tobytes()

    @property
    def region_pct(self) -> str:
        """The IIIF region of this face in percent of the full image (the P2677 value),
        exactly as the writer sends it (``commons.mediainfo.pct_region``)."""
        return pct_region((self.left, self.top, self.width, self.height))

    def supersede(self, new: Face) -> None:
        self.superseded_by = new
        self.save(update_fields=["superseded_by"])

    def retire(self, *, index: int) -> None:
        """The file was re-uploaded: this box was found on bytes Commons no longer serves.

        The face stays, with its labels and answers, as history; no box replaces it, so it
        is superseded by itself, which every reader of current faces already leaves out.
        It moves to ``index`` (above any the detector gives) so the new bytes' faces can be
        numbered from 0 again.
        """
        self.superseded_by_id, self.index = self.pk, index
        self.save(update_fields=["superseded_by", "index"])

    @property
    def is_retired(self) -> bool:
        return self.pk is not None and self.superseded_by_id == self.pk


class LabelQuerySet(models.QuerySet):
    def upsert(self, labels: list[Label], *, batch_size: int = 2000) -> None:
        """Insert these labels, or update verdict, score, priority and time where the
        (project, face, source) row exists: one statement per batch, not one per label."""
        # MariaDB's ON DUPLICATE KEY UPDATE names no conflict target; SQLite's upsert must.
        target = (
            ["project", "face", "source"]
            if connection.features.supports_update_conflicts_with_target
            else None
        )
        self.bulk_create(
            labels,
            batch_size=batch_size,
            update_conflicts=True,
            unique_fields=target,
            update_fields=["verdict", "score", "priority", "user", "created_at"],
        )

    def model_upsert(
        self,
        project_id: int,
        rows: Sequence[tuple[int, str, float, float | None]],
        *,
        batch_size: int = 2000,
    ) -> None:
        """The learner's labels, (face id, verdict, score, priority) each, inserted or
        updated in one statement per batch.

        Plain SQL through the driver's ``executemany`` (which makes one multi-row INSERT per
        batch): building 100,000 model instances for ``bulk_create`` took longer than the
        database took to store them (a first re-scoring of 100,000 faces: 21 s, most of it
        in Python).
        """
        if not rows:
            return
        table = connection.ops.quote_name(self.model._meta.db_table)
        columns = "project_id, face_id, source, verdict, score, priority, created_at"
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        if connection.vendor == "mysql":
            conflict = (
                "ON DUPLICATE KEY UPDATE verdict = VALUES(verdict), score = VALUES(score), "
                "priority = VALUES(priority), created_at = VALUES(created_at)"
            )
        else:
            conflict = (
                "ON CONFLICT (project_id, face_id, source) DO UPDATE SET "
                "verdict = excluded.verdict, score = excluded.score, "
                "priority = excluded.priority, created_at = excluded.created_at"
            )
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s) {conflict}"
        model = Label.Source.MODEL.value
        with connection.cursor() as cursor:
            for start in range(0, len(rows), batch_size):
                cursor.executemany(
                    sql,
                    [
                        (project_id, face_id, model, verdict, score, rank, now)
                        for face_id, verdict, score, rank in rows[start : start + batch_size]
                    ],
                )

    def model_update(
        self,
        project_id: int,
        rows: Sequence[tuple[int, str, float, float | None]],
        *,
        batch_size: int = 2000,
    ) -> None:
        """Rewrite the learner's labels that exist, (face id, verdict, score, priority) each,
        in one UPDATE per batch joined to the new values.

        After an answer most rows the learner writes exist already. An upsert first inserts
        each row (a new id, then undone on the duplicate key) and locks the gap before it,
        where a reviewer's answer inserts its human label; an UPDATE by the unique key finds
        the row and locks only that row. A batch that finds fewer rows than it holds (a
        label deleted meanwhile) is written again as an upsert.
        """
        sql = label_sql.model_update_sql(self.model._meta.db_table, source=Label.Source.MODEL)
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            for start in range(0, len(rows), batch_size):
                batch = rows[start : start + batch_size]
                cursor.execute(
                    sql.format(values=label_sql.values_literal(batch, verdicts=_VERDICT_LITERALS)),
                    [project_id, now],
                )
                if cursor.rowcount < len(batch):
                    self.model_upsert(project_id, batch, batch_size=batch_size)


class Label(models.Model):
    """The current verdict on a face in a project, one per source (human, bootstrap, model)."""

    class Verdict(models.TextChoices):
        YES = "yes", _("Yes")
        NO = "no", _("No")
        SKIP = "skip", _("Skip")  # an answer's verdict only: a skip sets no label

    class Source(models.TextChoices):
        HUMAN = "human", _("Human")
        BOOTSTRAP = "bootstrap", _("Existing statement")
        MODEL = "model", _("Model")

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="labels")
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="labels")
    verdict = models.CharField(_("verdict"), max_length=8, choices=Verdict.choices)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    score = models.FloatField(_("score"), null=True, blank=True)
    priority = models.FloatField(
        _("review priority"),
        null=True,
        blank=True,
        help_text=_("Model labels only: higher is asked sooner; empty once a person answered."),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    objects = LabelQuerySet.as_manager()

    class Meta:
        verbose_name = _("label")
        verbose_name_plural = _("labels")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "face", "source"], name="label_unique_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "source", "verdict"], name="label_lookup_idx"),
            models.Index(fields=["project", "source", "priority"], name="label_review_idx"),
            models.Index(fields=["project", "source", "score"], name="label_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()} ({self.source}) on {self.face_id}"


# The verdicts as SQL literals, for the learner's bulk update (label_sql.values_literal).
_VERDICT_LITERALS = {verdict.value: f"'{verdict.value}'" for verdict in Label.Verdict}


class Answer(models.Model):
    """Every human answer ever given, in order; undo walks this history back.

    ``request_id`` is made by the browser for each answer, so a double click or a retried
    request is stored once. A skip lives here only: it is the reviewer's own "not now" and
    sets no label, so it neither closes the face for other reviewers nor reaches the learner.
    """

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="answers"
    )
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="answers")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    verdict = models.CharField(_("verdict"), max_length=8, choices=Label.Verdict.choices)
    request_id = models.UUIDField(_("request id"), unique=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "user", "undone_at"], name="answer_undo_idx"),
            # The reviewer's recent skips are read for every question served: without it,
            # that read walks all of the reviewer's answers in the project.
            models.Index(
                fields=["project", "user", "verdict", "created_at"], name="answer_skip_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} said {self.verdict} on {self.face_id}"


class ReviewLease(models.Model):
    """A face being shown to one reviewer: nobody else is served it until the lease ends."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="leases")
    face = models.ForeignKey(Face, on_delete=models.CASCADE, related_name="leases")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    expires_at = models.DateTimeField(_("expires at"))

    class Meta:
        verbose_name = _("review lease")
        verbose_name_plural = _("review leases")
        constraints = [
            models.UniqueConstraint(fields=["project", "face"], name="lease_unique_face"),
        ]

    def __str__(self) -> str:
        return f"{self.face_id} shown to {self.user_id} until {self.expires_at:%H:%M:%S}"


class DetectTurn(models.Model):
    """A project with images waiting for detection, and when a detect worker last took one.

    Detect messages name no image: a worker detects the next image of the project served
    longest ago, so projects take turns however many images each one queued. Internal
    bookkeeping of the detect queue, never shown (hence no verbose names to translate).
    """

    project = models.OneToOneField(
        "projects.Project", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    served_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"detection turn of project {self.project_id}"
