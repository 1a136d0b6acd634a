"""Reads shaped for the review pages: the next question, and the suggestion grid."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from commons.files import STANDARD_WIDTHS
from commons.models import DepictsEdit
from faces.models import Answer, Face, Image, Label, ProjectImage, ReviewLease
from projects.models import Project

# The whole photo is shown at this width at most; crops are cut from the same download.
DISPLAY_WIDTH = 960
# Faces read per round from the priority order; answered ones among them are skipped.
PRIORITY_CANDIDATES = 8
PRIORITY_ROUNDS = 4
# The person's own Wikidata image, beside the question.
PERSON_IMAGE_WIDTH = 330


# --- the next question ------------------------------------------------------------------


def next_face(
    *, project: Project, user: AbstractBaseUser, exclude: Sequence[int] = ()
) -> Face | None:
    """The face this reviewer should be asked about next, or None when nothing is left.

    1. A face this reviewer already holds (a reload, a prefetched question) comes first.
    2. Then the learner's order: the model label with the highest review priority.
    3. Before the learner has run: faces known from existing statements (bootstrap), then
       the remaining faces in the order they were found.
    Faces answered by anyone, held by another reviewer, replaced by a corrected box, or in
    ``exclude`` (the faces the browser is showing already) are never returned.
    """
    for candidates in (_held, _by_priority, _by_bootstrap, _by_discovery):
        face_id = candidates(project, user, list(exclude))
        if face_id is not None:
            return Face.objects.select_related("image").defer("encoding").get(pk=face_id)
    return None


def _open(project: Project, user: AbstractBaseUser, field: str) -> Q:
    """Faces neither answered by a person nor held by another reviewer right now."""
    answered = Label.objects.filter(
        project=project, face_id=OuterRef(field), source=Label.Source.HUMAN
    )
    return ~Exists(answered) & ~Exists(_held_by_others(project, user, field))


def _held_by_others(project: Project, user: AbstractBaseUser, field: str) -> QuerySet[ReviewLease]:
    return ReviewLease.objects.filter(
        project=project, face_id=OuterRef(field), expires_at__gt=timezone.now()
    ).exclude(user_id=user.pk)


def _held(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    return (
        ReviewLease.objects.filter(
            project=project,
            user_id=user.pk,
            expires_at__gt=timezone.now(),
            face__superseded_by__isnull=True,
        )
        .exclude(face_id__in=exclude)
        .filter(_open(project, user, "face_id"))
        .order_by("expires_at", "id")
        .values_list("face_id", flat=True)
        .first()
    )


def _by_priority(project: Project, user: AbstractBaseUser, exclude: list[int]) -> int | None:
    """The open face with the highest review priority.

    1. Read the first few faces in priority order, skipping those another reviewer holds:
       MariaDB walks label_review_idx (project, source, priority) backwards and stops early.
    2. Drop those a person answered. Answering clears a face's priority, but a learner run
       that started before the answer may write one back, so this is checked, not trusted.
       (Checked on the few candidates only: an anti-join over every human label of a big
       project is what made this slow.)
    """
    skipped = list(exclude)
    for _round in range(PRIORITY_ROUNDS):
        candidates = list(
            Label.objects.filter(
                project=project,
                source=Label.Source.MODEL,
                priority__isnull=False,
                face__superseded_by__isnull=True,
            )
            .exclude(face_id__in=skipped)
            .filter(~Exists(_held_by_others(project, user, "face_id")))
            .order_by("-priority", "-id")
            .values_list("face_id", flat=True)[:PRIORITY_CANDIDATES]
        )
        if not candidates:
            return None
        answered = set(
            Label.objects.filter(
                project=project, source=Label.Source.HUMAN, face_id__in=candidates
            ).values_list("face_id", flat=True)
        )
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
        .filter(image__project_links__project=project)
        .exclude(pk__in=exclude)
        .filter(_open(project, user, "pk"))
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )


def _learner_has_run(project: Project) -> bool:
    return bool((project.learning or {}).get("updated_at"))


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
    face: FaceBoxView
    image: ImageView
    faces: list[FaceBoxView] = field(default_factory=list)
    score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def question_for(*, project: Project, face: Face) -> Question:
    """Everything the classify page shows about one face, in two queries."""
    image = face.image
    siblings = list(
        Face.objects.current()
        .filter(image=image)
        .defer("encoding")
        .order_by("index", "pk")
        .annotate(verdict=_label_of(project, Label.Source.HUMAN, "verdict"))
        .annotate(score=_label_of(project, Label.Source.MODEL, "score"))
    )
    views = [_box_view(position + 1, sibling) for position, sibling in enumerate(siblings)]
    by_id = {view.id: view for view in views}
    current = by_id.get(face.pk) or _box_view(len(views) + 1, face)
    score = next((s.score for s in siblings if s.pk == face.pk), None)
    return Question(face=current, image=image_view(image), faces=views, score=score)


def _label_of(project: Project, source: str, column: str, *, face: str = "pk") -> Subquery:
    """The ``column`` of the face's label from ``source`` in this project (one row at most)."""
    labels = Label.objects.filter(project=project, face_id=OuterRef(face), source=source)
    return Subquery(labels.values(column)[:1])


def _box_view(number: int, face: Face) -> FaceBoxView:
    return FaceBoxView(
        id=face.pk,
        number=number,
        left=face.left,
        top=face.top,
        width=face.width,
        height=face.height,
        verdict=getattr(face, "verdict", None),
        drawn=face.origin == Face.Origin.DRAWN,
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


# --- Commons addresses (built, never fetched: the browser loads them) ---------------------


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


def _site_root() -> str:
    """``https://commons.wikimedia.org`` (or the stand-in's) from the configured api.php."""
    api = settings.COMMONS_API_URL
    return api[: -len("/w/api.php")] if api.endswith("/w/api.php") else api.rsplit("/", 1)[0]


def file_page_url(title: str) -> str:
    name = title if title.startswith("File:") else f"File:{title}"
    return f"{_site_root()}/wiki/{quote(name.replace(' ', '_'))}"


def person_image_url(file_name: str, *, width: int = PERSON_IMAGE_WIDTH) -> str:
    """A thumbnail of a Wikidata P18 file through Special:FilePath (empty if no file)."""
    if not file_name:
        return ""
    return (
        f"{_site_root()}/wiki/Special:FilePath/{quote(file_name.replace(' ', '_'))}?width={width}"
    )


# --- the suggestion grid ----------------------------------------------------------------


class SuggestionSource:
    ALL = ""
    MODEL = "model"  # proposed by the learner, nobody answered
    HUMAN = "human"  # a reviewer said yes


@dataclass(frozen=True)
class SuggestionFilter:
    score_min: Decimal | None = None
    score_max: Decimal | None = None
    source: str = SuggestionSource.ALL


def suggestions(*, project: Project, filters: SuggestionFilter) -> QuerySet[Label]:
    """Faces waiting for approval, best score first: one model label row per face.

    A face waits when the learner suggests it and no reviewer answered it, or a reviewer said
    yes; and its photo neither depicts the person on Commons already nor has an edit for it.
    """
    rows = (
        Label.objects.filter(project=project, source=Label.Source.MODEL)
        .filter(face__superseded_by__isnull=True)
        .annotate(human=_label_of(project, Label.Source.HUMAN, "verdict", face="face_id"))
        .filter(_waiting(filters.source))
        .exclude(Exists(_depicted(project)))
        .exclude(Exists(_edited(project)))
        .select_related("face__image")
        .defer("face__encoding")
        .order_by(F("score").desc(nulls_last=True), "face_id")
    )
    if filters.score_min is not None:
        rows = rows.filter(score__gte=filters.score_min)
    if filters.score_max is not None:
        rows = rows.filter(score__lte=filters.score_max)
    return rows


def _waiting(source: str) -> Q:
    suggested = Q(verdict=Label.Verdict.YES, human__isnull=True)
    confirmed = Q(human=Label.Verdict.YES)
    if source == SuggestionSource.MODEL:
        return suggested
    if source == SuggestionSource.HUMAN:
        return confirmed
    return suggested | confirmed


def _depicted(project: Project) -> QuerySet[ProjectImage]:
    return ProjectImage.objects.filter(
        project=project, image_id=OuterRef("face__image_id"), depicts_person=True
    )


def _edited(project: Project) -> QuerySet[DepictsEdit]:
    return DepictsEdit.objects.filter(
        project=project,
        image_id=OuterRef("face__image_id"),
        qid=project.qid,
        action=DepictsEdit.Action.ADD,
    ).exclude(state=DepictsEdit.State.CANCELLED)


def faces_of_project(*, project: Project, face_ids: Sequence[int]) -> list[Face]:
    """The current faces among ``face_ids`` that belong to the project (others are ignored)."""
    return list(
        Face.objects.current()
        .filter(pk__in=list(face_ids), image__project_links__project=project)
        .select_related("image")
        .distinct()
    )


def face_of_project(*, project: Project, face_id: int) -> Face | None:
    """A face of the project (even one replaced since, so a late answer is explained)."""
    return (
        Face.objects.filter(pk=face_id, image__project_links__project=project)
        .select_related("image")
        .defer("encoding")
        .first()
    )


def image_of_project(*, project: Project, image_id: int) -> Image | None:
    return Image.objects.filter(pk=image_id, project_links__project=project).first()


def answers_for_export(*, project: Project) -> QuerySet[Answer]:
    return (
        Answer.objects.filter(project=project)
        .select_related("face__image", "user")
        .defer("face__encoding")
        .order_by("created_at", "id")
    )


def edits_for_export(*, project: Project) -> QuerySet[DepictsEdit]:
    return (
        DepictsEdit.objects.filter(project=project)
        .select_related("image", "approved_by", "sent_by")
        .order_by("approved_at", "id")
    )
