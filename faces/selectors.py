"""Reads shaped for the review pages: the next question, a project's faces and photos, its
progress. The learner's figures and chart: ``faces.learner_figures``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from commons.addresses import file_page_url
from commons.files import STANDARD_WIDTHS
from faceengine.learner.scores import is_contested
from faces.learner_figures import learner_summary
from faces.models import (
    Answer,
    Face,
    Image,
    ImageCategory,
    Label,
    ReviewLease,
    drawn_elsewhere,
    old_enough_q,
    seen_in_q,
)
from faces.review_order import answered_among, held_by_others, order_candidates, skipped_since
from faces.review_reads import (
    BOX_FIELDS,
    face_with_image,
    labels_of,
    leases_held,
    photo_faces,
    project_face,
    same_bytes,
)
from projects.models import Project, Sensitivity

# The whole photo is shown at this width at most; crops are cut from the same download.
DISPLAY_WIDTH = 960
PRIORITY_ROUNDS = 4
# A skipped face is not asked again of the same reviewer for a day: long enough to leave a
# face that stumped them to the others, short enough that a quiet project asks it again.
SKIP_SECONDS = 24 * 3600
# A face cannot be replaced by a corrected box more often than this in a chain.
MAX_SUPERSEDE_CHAIN = 50


# --- the next question ------------------------------------------------------------------


def next_face(
    *, project: Project, user: AbstractBaseUser, exclude: Sequence[int] = ()
) -> Face | None:
    """The face this reviewer should be asked about next, or None when nothing is left.

    1. A face this reviewer already holds (a reload, a prefetched question) comes first.
    2. Then the learner's order: the model label with the highest review priority.
    3. Before the learner has run: faces known from existing statements (bootstrap), then
       the remaining faces in the order they were found.
    Faces of new uploads still waiting (``faces.models.old_enough_q``), faces answered by
    anyone, held by another reviewer, replaced by a corrected box, in
    ``exclude`` (the faces the browser is showing already), or skipped by this reviewer in
    the last ``SKIP_SECONDS`` are never returned. Another reviewer's skip hides nothing.
    """
    hidden = [*exclude, *_skipped_lately(project, user)]
    for candidates in (_held, _by_priority, _by_bootstrap, _by_discovery):
        face_id = candidates(project, user, list(hidden))
        if face_id is not None:
            return face_with_image(face_id=face_id)
    return None


def _skipped_lately(project: Project, user: AbstractBaseUser) -> list[int]:
    """Faces this reviewer skipped within ``SKIP_SECONDS`` and did not take back.

    Read once, then left out like the browser's ``exclude``: every way of choosing a face
    keeps its shape (an anti-join per candidate is what _by_priority avoids), and a
    reviewer who skips many of the top faces still gets the next ones in priority order.
    """
    since = timezone.now() - timedelta(seconds=SKIP_SECONDS)
    return skipped_since(project_id=project.pk, user_id=user.pk, since=since)


def _open(project: Project, user: AbstractBaseUser, field: str) -> Q:
    """Faces neither answered by a person nor held by another reviewer right now."""
    answered = Label.objects.filter(
        project=project, face_id=OuterRef(field), source=Label.Source.HUMAN
    )
    held = held_by_others(project_id=project.pk, user_id=user.pk, field=field, now=timezone.now())
    return ~Exists(answered) & ~Exists(held)


def _held(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    """1. Whether this reviewer holds any face out of ``exclude``: a plain read of at most
    ``len(exclude) + 1`` of their leases, rounded up (one lease a face, so that many rows
    cannot all be excluded; :func:`_at_least`). On an answer round there is none: they hold
    what the page shows, excluded.
    2. Only if there is: the first such face still current and open."""
    now = timezone.now()
    some = leases_held(project_id=project.pk, user_id=user.pk, now=now, count=_at_least(exclude))
    if set(some) <= set(exclude):
        return None
    leases = ReviewLease.objects.filter(project=project, user_id=user.pk, expires_at__gt=now)
    return (
        leases.filter(face__superseded_by__isnull=True)
        .exclude(face_id__in=exclude)
        .filter(_open(project, user, "face_id"))
        .order_by("expires_at", "id")
        .values_list("face_id", flat=True)
        .first()
    )


def _at_least(exclude: list[int]) -> int:
    """``len(exclude) + 1``, rounded up to a power of two (at least 8): the LIMIT is written
    into the statement, and the reviewer's skips make the list grow one by one. Reading more
    of their few leases tells the same: some lease is not in ``exclude``, or none is."""
    return max(8, 1 << len(exclude).bit_length())


def _by_priority(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    """The open face with the highest review priority.

    1. Read the first few faces in priority order, skipping those another reviewer holds
       (``faces.review_order``: the read prepared once per process).
    2. Drop those a person answered. Answering clears a face's priority, but a learner run
       that started before the answer may write one back, so this is checked, not trusted.
       (Checked on the few candidates only: an anti-join over every human label of a big
       project is what made this slow.)
    """
    skipped = list(exclude)
    now = timezone.now()
    for _round in range(PRIORITY_ROUNDS):
        candidates = order_candidates(
            project_id=project.pk, user_id=user.pk, now=now, skipped=skipped
        )
        if not candidates:
            return None
        answered = answered_among(project_id=project.pk, faces=candidates)
        fresh = [face_id for face_id in candidates if face_id not in answered]
        if fresh:
            return fresh[0]
        skipped += candidates
    return None


def _by_bootstrap(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    if _learner_has_run(project):
        return None
    return (
        Label.objects.filter(
            project=project, source=Label.Source.BOOTSTRAP, face__superseded_by__isnull=True
        )
        .filter(old_enough_q("face__image__"))
        .exclude(face_id__in=exclude)
        .filter(_open(project, user, "face_id"))
        .order_by("face_id")
        .values_list("face_id", flat=True)
        .first()
    )


def _by_discovery(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    # Also once the learner has run: faces found since its last run have no label yet.
    return (
        Face.objects.current()
        .of_project(project)
        .filter(old_enough_q("image__"))
        .exclude(pk__in=exclude)
        .filter(_open(project, user, "pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _learner_has_run(project: Project) -> bool:
    summary = learner_summary(project)
    return summary is not None and summary.updated_at is not None


@dataclass(frozen=True)
class FaceBoxView:
    id: int
    number: int  # 1-based position in the photo: the key that picks it
    left: float
    top: float
    width: float
    height: float
    verdict: str | None  # the human answer on it in this project, if any
    drawn: bool


@dataclass(frozen=True)
class ImageView:
    id: int
    title: str
    url: str  # the file page on Commons
    thumb: str  # what the browser loads (a standard thumbnail width)
    width: int
    height: int


@dataclass(frozen=True)
class Question:
    """One face to ask about. ``which``: the photo holds two plausible faces of the person
    (a lookalike, two looks), so the page asks which face it is (keys 1-9, 0 for none)."""

    face: FaceBoxView
    image: ImageView
    faces: list[FaceBoxView] = field(default_factory=list)
    score: float | None = None
    which: bool = False

    def as_dict(self) -> dict[str, Any]:
        """What ``dataclasses.asdict`` gives, without its deep copies of every value (every
        answer serves a question): the fields are numbers, strings and these views."""
        plain = dict(self.__dict__)
        plain["face"] = dict(self.face.__dict__)
        plain["image"] = dict(self.image.__dict__)
        plain["faces"] = [dict(view.__dict__) for view in self.faces]
        return plain


def question_for(*, project: Project, face: Face) -> Question:
    """Everything the classify page shows about one face, in two plain queries: the photo's
    faces, then their labels in this project, which also tell the boxes drawn in another
    project that this one sees (``seen_in_q``, answered here). Rows, not model objects, and
    no subquery: this runs on every answer, and building the queries was most of its cost."""
    rows = photo_faces(image_id=face.image_id)
    verdicts, scores = _labels_of(project, [row["pk"] for row in rows])
    siblings = [
        row
        for row in rows
        if not drawn_elsewhere(row["project_id"], project.pk) or row["pk"] in verdicts
    ]
    views = [
        _box_view(position + 1, row, verdicts.get(row["pk"]))
        for position, row in enumerate(siblings)
    ]
    by_id = {view.id: view for view in views}
    current = by_id.get(face.pk) or _box_view(
        len(views) + 1, {name: getattr(face, name) for name in BOX_FIELDS}, None
    )
    open_scores = [scores[pk] for pk in by_id if pk not in verdicts and pk in scores]
    return Question(
        face=current,
        image=image_view(face.image),
        faces=views,
        score=scores.get(face.pk),
        which=is_contested(open_scores),
    )


def _labels_of(project: Project, face_ids: list[int]) -> tuple[dict[int, str], dict[int, float]]:
    """The human verdicts and the model's scores of these faces in this project."""
    rows = labels_of(project_id=project.pk, faces=face_ids)
    verdicts: dict[int, str] = {}
    scores: dict[int, float] = {}
    for face_id, source, verdict, score in rows:
        if source == Label.Source.HUMAN:
            verdicts[face_id] = verdict
        elif score is not None:
            scores[face_id] = score
    return verdicts, scores


def label_of(project: Project, source: str, column: str, *, face: str = "pk") -> Subquery:
    """The ``column`` of the face's label from ``source`` in this project (one row at most)."""
    labels = Label.objects.filter(project=project, face_id=OuterRef(face), source=source)
    return Subquery(labels.values(column)[:1])


def _box_view(number: int, row: dict[str, Any], verdict: str | None) -> FaceBoxView:
    return FaceBoxView(
        id=row["pk"],
        number=number,
        left=row["left"],
        top=row["top"],
        width=row["width"],
        height=row["height"],
        verdict=verdict,
        drawn=row["origin"] == Face.Origin.DRAWN,
    )


def image_view(image: Image) -> ImageView:
    return ImageView(
        id=image.pk,
        title=image.title,
        url=file_page_url(image.title),
        thumb=thumb_at(image, DISPLAY_WIDTH),
        width=image.width,
        height=image.height,
    )


# --- thumbnails (built, never fetched: the browser loads them) ---------------------------


def thumb_at(image: Image, width: int) -> str:
    """The image's thumbnail at the largest standard width up to ``width``.

    Commons thumbnail URLs end in ``/<W>px-<name>``; only standard widths are rendered and a
    bitmap is never scaled up, so a photo narrower than that keeps the stored thumbnail.
    """
    url = image.thumb_url
    wanted = max((w for w in STANDARD_WIDTHS if w <= width and w < image.width), default=0)
    marker = f"/{image.thumb_width}px-"
    if not url or not image.thumb_width or wanted <= image.thumb_width or marker not in url:
        return url
    head, _, tail = url.rpartition(marker)
    return f"{head}/{wanted}px-{tail}"


# --- faces and photos of a project ------------------------------------------------------


def faces_of_project(*, project: Project, face_ids: Sequence[int]) -> list[Face]:
    """The current faces among ``face_ids`` the project is asked about (others are ignored:
    a box another project drew, ``faces.models.seen_in_q``)."""
    return list(
        Face.objects.current()
        .filter(pk__in=list(face_ids), image__project_links__project=project)
        .filter(seen_in_q(project))
        .select_related("image")
        .distinct()
    )


def face_of_project(*, project: Project, face_id: int) -> Face | None:
    """A face of the project (even one replaced since, so a late answer is explained)."""
    face = project_face(face_id=face_id, project_id=project.pk)
    if face is None:
        return None
    if drawn_elsewhere(face.project_id, project.pk) and not _answered_here(project, [face_id]):
        return None
    # What face_in_project asks, bar the replacement: it reads this
    # mark instead of asking again on every answer (the face was read just now).
    face.seen_in_project = project.pk
    return face


def _answered_here(project: Project, face_ids: Sequence[int]) -> set[int]:
    """Those of ``face_ids`` with a human answer in this project."""
    return set(
        Label.objects.filter(
            project=project, face_id__in=list(face_ids), source=Label.Source.HUMAN
        ).values_list("face_id", flat=True)
    )


def face_in_project(*, project: Project, face: Face) -> bool:
    """A current face of the project's photos that the project is asked about (one query,
    none for a face read by :func:`face_of_project` for this project)."""
    if face.superseded_by_id is not None:
        return False
    if getattr(face, "seen_in_project", None) == project.pk:
        return True
    return (
        Face.objects.filter(seen_in_q(project), pk=face.pk)
        .filter(image__project_links__project=project)
        .exists()
    )


def face_current(*, face: Face) -> Face:
    """The face that replaced ``face`` through box corrections (``face`` itself if none)."""
    current = face
    for _step in range(MAX_SUPERSEDE_CHAIN):
        successor = current.superseded_by_id
        # A retired face is superseded by itself (``Face.retire``): the chain ends there.
        if successor is None or successor == current.pk:
            return current
        current = Face.objects.get(pk=successor)
    return current


def twin_groups(*, project: Project, face_ids: Sequence[int]) -> list[list[int]]:
    """The same face in identical files of the project: for each of ``face_ids`` that has
    any, its id and those of the project's current faces in *other* files with its file's
    SHA1 and its exact box. Identical bytes are detected once and every copy gets the same
    boxes (``pipeline._copies``).

    The files sharing a SHA1 with those of ``face_ids`` are read first, through the SHA1
    index; almost always there is only the file itself, and that one query is all. Their
    faces are then read by file. (As one query, with the SHA1s a subquery, the planner
    walked every current face of the project: an answer grew with the project.)"""
    if not face_ids:
        return []
    # Not narrowed to the project here: joined to its files, the planner walks them all.
    image_ids = same_bytes(faces=face_ids)
    if len(image_ids) < 2:
        return []
    rows = (
        Face.objects.current()
        .of_project(project)
        .filter(image_id__in=sorted(image_ids))
        .values_list("pk", "image_id", "image__sha1", "left", "top", "width", "height")
    )
    by_box: dict[tuple[object, ...], list[tuple[int, int]]] = {}
    for pk, image_id, *key in rows:
        by_box.setdefault(tuple(key), []).append((pk, image_id))
    wanted, groups = set(face_ids), dict[frozenset[int], list[int]]()
    for faces in by_box.values():
        for pk, image_id in faces:
            if pk in wanted:
                group = [pk] + [other for other, image in faces if image != image_id]
                if len(group) > 1:
                    groups.setdefault(frozenset(group), group)
    return list(groups.values())


def image_of_project(*, project: Project, image_id: int) -> Image | None:
    return Image.objects.filter(pk=image_id, project_links__project=project).first()


def answers_for_export(*, project: Project) -> QuerySet[Answer]:
    return (
        Answer.objects.filter(project=project)
        .select_related("face__image", "user")
        .defer("face__encoding")
        .order_by("created_at", "id")
    )


# --- sensitive content: an individual look, never in bulk -----------------------------


def sensitive_q(project: Project, *, face: str = "") -> Q:
    """Faces of this project that need an individual look (``projects.models.Sensitivity``):
    all of them when its person is marked sensitive, else those of files a crawl listed in
    a sensitive category. ``face``: the prefix reaching the face (``"face__"``)."""
    held = Sensitivity.objects.filter(kind=Sensitivity.Kind.PERSON, value=project.qid)
    categories = Sensitivity.objects.filter(kind=Sensitivity.Kind.CATEGORY).values("value")
    in_category = ImageCategory.objects.filter(
        image=OuterRef(f"{face}image"), category__in=categories
    )
    return Q(Exists(held)) | Q(Exists(in_category))


def sensitive_faces(*, project: Project, faces: Sequence[Face]) -> set[int]:
    """The ids of those of ``faces`` that need an individual look (:func:`sensitive_q`)."""
    if not faces:
        return set()
    ids = [face.pk for face in faces]
    rows = Face.objects.filter(sensitive_q(project), pk__in=ids)
    return set(rows.values_list("pk", flat=True))


# --- a project's progress ---------------------------------------------------------------


@dataclass(frozen=True)
class ProjectProgress:
    """``waiting``: new uploads not detected yet because they are younger than the wait."""

    images: int
    processed: int
    errors: int
    faces: int
    answered: int
    confirmed: int
    waiting: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    @property
    def detecting(self) -> bool:
        """Photos are being processed now (new uploads that wait are not)."""
        return self.processed + self.waiting < self.images


def project_progress(*, project: Project) -> ProjectProgress:
    images = Image.objects.filter(project_links__project=project).aggregate(
        total=Count("pk"),
        processed=Count("pk", filter=Q(state__in=[Image.State.DONE, Image.State.ERROR])),
        errors=Count("pk", filter=Q(state=Image.State.ERROR)),
        waiting=Count("pk", filter=Q(state=Image.State.PENDING) & ~old_enough_q()),
    )
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN).aggregate(
        answered=Count("pk"), confirmed=Count("pk", filter=Q(verdict=Label.Verdict.YES))
    )
    return ProjectProgress(
        images=images["total"],
        processed=images["processed"],
        errors=images["errors"],
        faces=Face.objects.current().of_project(project).count(),
        answered=labels["answered"],
        confirmed=labels["confirmed"],
        waiting=images["waiting"],
    )
