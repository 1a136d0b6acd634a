"""What an uploader is shown and may answer: the suggestions on their own files.

One gate for the page, the notices and the access check (:func:`uploader_rows`): the projects
the read API may speak of (active, held by no moderator, nothing withheld or sensitive; see
``wikivisage.api.selectors.public_rows``) that allow uploaders, files still linked to the
project, and an uploader that is the user's Wikimedia account.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from itertools import groupby

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, OuterRef, QuerySet

from commons import addresses
from depicts.selectors import SuggestionSource, waiting
from faces.models import Face, Label, ProjectImage
from faces.selectors import DISPLAY_WIDTH, thumb_at
from projects.models import Project, UploaderNotices
from wikivisage.api.selectors import public_rows

PAGE_LIMIT = 300  # suggestions on one page: a prolific uploader answers them over several visits


@dataclass(frozen=True)
class UploadSuggestion:
    face: Face
    score: float | None
    thumb: str
    url: str


@dataclass(frozen=True)
class ProjectUploads:
    project: Project
    person: str
    suggestions: list[UploadSuggestion]


def uploader_rows(rows: QuerySet[Label], *, uploaders: Collection[str]) -> QuerySet[Label]:
    """``rows`` (model labels) on files one of ``uploaders`` uploaded, in projects allowing
    uploaders, less what the read API may not tell (withheld, sensitive, held projects)."""
    linked = ProjectImage.objects.filter(
        project_id=OuterRef("project_id"), image_id=OuterRef("face__image_id")
    )
    return public_rows(rows).filter(
        Exists(linked), project__allow_uploaders=True, face__image__uploader__in=list(uploaders)
    )


def pending_for(*, uploaders: Collection[str]) -> QuerySet[Label]:
    """The learner's suggestions on these uploaders' files that nobody answered or approved."""
    rows = waiting(project=None, source=SuggestionSource.MODEL)
    return uploader_rows(rows, uploaders=uploaders)


def uploads_page(*, uploader: str, language: str) -> list[ProjectUploads]:
    """The uploads page: pending suggestions grouped by project, best score first in each
    (one query)."""
    rows = pending_for(uploaders=[uploader]).order_by(
        "project_id", F("score").desc(nulls_last=True), "face_id"
    )[:PAGE_LIMIT]
    return [
        ProjectUploads(project, project.label_in(language), [_suggestion(row) for row in labels])
        for project, labels in groupby(rows, key=lambda row: row.project)
    ]


def _suggestion(label: Label) -> UploadSuggestion:
    face = label.face
    return UploadSuggestion(
        face=face,
        score=label.score,
        thumb=thumb_at(face.image, DISPLAY_WIDTH),
        url=addresses.file_page_url(face.image.title),
    )


def may_answer(*, uploader: str, project: Project, face: Face) -> bool:
    """The face is on a file ``uploader`` uploaded, in a project that allows uploaders and
    may be spoken of: the access check of an uploader's answer (answered faces included, so a
    repeated request hears that it was stored)."""
    rows = Label.objects.filter(project=project, face=face, source=Label.Source.MODEL)
    return uploader_rows(rows, uploaders=[uploader]).exists()


def opted_out(*, user: AbstractBaseUser) -> bool:
    """The user asked for no notices about their uploads."""
    return UploaderNotices.objects.filter(user_id=user.pk, opted_out=True).exists()
