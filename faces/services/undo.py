"""Undo: a reviewer takes back their latest step, then the one before, and so on."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from core.transactions import retried
from faces.models import Answer, Face, Label
from faces.selectors import face_current
from faces.services.refusals import check_open
from faces.services.rescoring import request_rescore
from faces.services.twins import twins_align
from projects.models import Project


@dataclass(frozen=True)
class UndoOutcome:
    answers: tuple[Answer, ...]  # the answers taken back, all from one step

    @property
    def faces(self) -> list[Face]:
        return [face_current(face=answer.face) for answer in self.answers]


@retried
def answer_undo(*, project: Project, user: AbstractBaseUser) -> UndoOutcome | None:
    """Take back the reviewer's latest step that is not undone yet; None if there is none.

    Called again, it walks further back through the reviewer's history, one step each time
    (a step is one answer, or the answers of one group-photo pick). Each face's human label
    returns to the latest answer on it that still stands, or disappears. A skip set no
    label, so undoing it touches none: the face is simply open to this reviewer again.
    """
    check_open(project)
    with transaction.atomic():
        latest = _latest_step(project, user)
        if latest is None:
            return None
        step = list(
            Answer.objects.select_for_update()
            .filter(
                project=project,
                user_id=user.pk,
                undone_at__isnull=True,
                created_at=latest.created_at,
            )
            .select_related("face")
        )
        Answer.objects.filter(pk__in=[a.pk for a in step]).update(undone_at=timezone.now())
        said = [answer for answer in step if answer.verdict != Label.Verdict.SKIP]
        for answer in said:
            _label_restore(project, answer.face)
        twins_align(
            project=project, face_ids=[face_current(face=answer.face).pk for answer in said]
        )
    if said:
        request_rescore(project_id=project.pk)
    return UndoOutcome(answers=tuple(step))


def _latest_step(project: Project, user: AbstractBaseUser) -> Answer | None:
    return (
        Answer.objects.filter(project=project, user_id=user.pk, undone_at__isnull=True)
        .order_by("-created_at", "-id")
        .first()
    )


def _label_restore(project: Project, face: Face) -> None:
    # A skip is no verdict on the face: the label follows the latest yes or no still standing.
    standing = (
        Answer.objects.filter(project=project, face=face, undone_at__isnull=True)
        .exclude(verdict=Label.Verdict.SKIP)
        .order_by("-created_at", "-id")
        .first()
    )
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    current = face_current(face=face)
    if standing is None:
        labels.filter(face__in=[face, current]).delete()
        return
    Label.objects.update_or_create(
        project=project,
        face=current,
        source=Label.Source.HUMAN,
        defaults={
            "verdict": standing.verdict,
            "user_id": standing.user_id,
            "created_at": standing.created_at,
        },
    )
