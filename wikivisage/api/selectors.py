"""What the read API may tell, and the one gate every answer passes (:func:`public_rows`).

The rules (issue #26): only projects that are active and held by no moderator; nothing about
a withheld person, file or category (``projects.models.Withholding``) nor about sensitive
content (``Sensitivity``: a person, or a category a crawl listed the file in); no personal
data (no user of any kind: who answered, approved or uploaded is never read).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from depicts.selectors import SuggestionFilter, suggestions, waiting
from faces.models import ImageCategory, Label
from projects.models import Project, Sensitivity, Withholding

PAGE_SIZE = 50
FILE_LIMIT = 100  # a file's suggestions: a few faces in a few projects; bounded all the same


@dataclass(frozen=True)
class PublicSuggestion:
    """One pending suggestion as the API states it: which face of which file may be whom."""

    file_title: str
    pageid: int
    qid: str
    label: str
    region: str  # P2677, as the writer would send it (``commons.mediainfo.pct_region``)
    score: float | None
    confirmed: bool  # a reviewer said yes; it waits for approval
    project_id: int


@dataclass(frozen=True)
class ProjectPage:
    project: Project
    suggestions: list[PublicSuggestion]
    page: int
    has_next: bool


def public_projects() -> QuerySet[Project]:
    """Projects the API speaks of: active, held by no moderator (paused, archived or writes
    stopped), about a person neither withheld nor sensitive, in no withheld category."""
    return (
        Project.objects.active()
        .filter(moderator_writes_stopped=False)
        .exclude(qid__in=_values(Withholding, Withholding.Kind.PERSON))
        .exclude(qid__in=_values(Sensitivity, Sensitivity.Kind.PERSON))
        .exclude(category__in=_values(Withholding, Withholding.Kind.CATEGORY))
    )


def public_rows(rows: QuerySet[Label]) -> QuerySet[Label]:
    """The gate: ``rows`` (model labels) less everything the API may not tell."""
    listed_in = ImageCategory.objects.filter(image=OuterRef("face__image_id"))
    withheld = listed_in.filter(category__in=_values(Withholding, Withholding.Kind.CATEGORY))
    sensitive = listed_in.filter(category__in=_values(Sensitivity, Sensitivity.Kind.CATEGORY))
    return (
        rows.filter(project__in=public_projects())
        .exclude(face__image__title__in=_values(Withholding, Withholding.Kind.FILE))
        .exclude(Q(Exists(withheld)) | Q(Exists(sensitive)))
        .select_related("project", "face__image")
        .defer("face__encoding", "project__learning", "project__crawl_cursor")
    )


def file_suggestions(*, title: str, language: str) -> list[PublicSuggestion]:
    """The pending suggestions on the file of this (normalised) title, in every public
    project, best score first (one query)."""
    rows = public_rows(waiting(project=None)).filter(face__image__title=title)
    rows = rows.order_by("-score", "project_id", "face_id")[:FILE_LIMIT]
    return [_suggestion(label, language) for label in rows]


def project_page(*, pk: int, page: int, language: str) -> ProjectPage | None:
    """A page of a public project's suggestions, in the grid's order (two queries); None when
    no public project has this id."""
    project = public_projects().filter(pk=pk).first()
    if project is None:
        return None
    start = (page - 1) * PAGE_SIZE
    rows = public_rows(suggestions(project=project, filters=SuggestionFilter()))
    found = [_suggestion(label, language) for label in rows[start : start + PAGE_SIZE + 1]]
    return ProjectPage(project, found[:PAGE_SIZE], page, has_next=len(found) > PAGE_SIZE)


def _suggestion(label: Label, language: str) -> PublicSuggestion:
    face, project = label.face, label.project
    return PublicSuggestion(
        file_title=face.image.title,
        pageid=face.image.pageid,
        qid=project.qid,
        label=project.label_in(language),
        region=face.region_pct,
        score=round(label.score, 4) if label.score is not None else None,
        confirmed=getattr(label, "human", None) == Label.Verdict.YES,
        project_id=project.pk,
    )


def _values(model: type[Withholding] | type[Sensitivity], kind: str) -> QuerySet:
    return model.objects.filter(kind=kind).values("value")
