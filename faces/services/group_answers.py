"""A group of people answers "who is this?": one answer, one label in each person's project.

The group's projects are ordinary single-person projects; this module writes into them with
the answer service's own steps (``faces.services.answers``: request ids, labels, twins, the
review order, leases, a rescore), so each project's learner, grid and sending see answers
as if they had been given on its own classify page. What the group adds is that the answers
of one face are one step: one transaction and one timestamp, which undo takes back together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.transactions import retried
from faces.group_selectors import group_next_face
from faces.models import Answer, Face, Label, ReviewLease
from faces.services.answers import (
    AnswerOutcome,
    after_answers,
    answer_create,
    answer_refusal,
    label_set,
    refuse_if_answered,
)
from faces.services.leases import SERVE_ATTEMPTS, lease_take
from faces.services.refusals import AlreadyAnswered, RequestIdReused
from faces.services.twins import twins_align
from faces.services.undo import answer_undo
from projects.models import GroupPerson, Project


class AnsweredAsAnother(AlreadyAnswered):
    """The face is somebody else of the group already (a yes in another person's project)."""


@retried
def group_answer(
    *,
    projects: Sequence[Project],
    face: Face,
    user: AbstractBaseUser,
    person: Project | None,
    request_id: uuid.UUID,
) -> AnswerOutcome:
    """ "This face is ``person``" (None: someone else, none of the group's people).

    1. A request id stored before returns that step untouched (a double click, a retry).
    2. Each project must take the answer (not paused or archived, the face is one of its
       current faces, not a new upload): one refusal refuses the whole answer.
    3. In one transaction, with one timestamp: a yes in ``person``'s project and a no in
       every other (:func:`_group_store`).
    """
    if person is not None and person.pk not in {project.pk for project in projects}:
        raise ValueError("the person is not one of the group's")
    repeat = _group_repeat(projects, face, user, request_id)
    if repeat is not None:
        return repeat
    _refuse_any(projects, face)
    return _group_store(projects, face, user, person, request_id)


def _refuse_any(projects: Sequence[Project], face: Face) -> None:
    for project in projects:
        refusal = answer_refusal(project, face)
        if refusal is not None:
            raise refusal


def _request_of(request_id: uuid.UUID, project: Project, first: bool) -> uuid.UUID:
    # The first answer carries the browser's id; the others ids derived from it, so a
    # retry finds every one of them again.
    return request_id if first else uuid.uuid5(request_id, f"group-{project.pk}")


def _group_store(
    projects: Sequence[Project],
    face: Face,
    user: AbstractBaseUser,
    person: Project | None,
    request_id: uuid.UUID,
) -> AnswerOutcome:
    """One answer per project, each as the classify page stores one.

    A conflict on the chosen person's project (another reviewer answered there) refuses
    everything. Elsewhere another reviewer's no is kept, as a pick keeps it; their yes means
    the face is that person already, and refuses the answer (AnsweredAsAnother).
    """
    now = timezone.now()
    lead = person or projects[0]
    stored: list[Answer] = []
    with transaction.atomic():
        for project in projects:
            verdict = Label.Verdict.YES if project == person else Label.Verdict.NO
            answer = _one_store(project, face, user, verdict, now, request_id, project == lead)
            if answer is not None:
                stored.append(answer)
        for answer in stored:
            twins_align(project=answer.project, face_ids=[face.pk])
            after_answers(answer.project, [face.pk], user)
    return AnswerOutcome(answers=tuple(stored), created=True)


def _one_store(
    project: Project,
    face: Face,
    user: AbstractBaseUser,
    verdict: str,
    now: datetime,
    request_id: uuid.UUID,
    lead: bool,
) -> Answer | None:
    try:
        with transaction.atomic():
            answer, _created = answer_create(
                project, face, user, verdict, _request_of(request_id, project, lead), now
            )
            label_set(project, face, user, verdict)
    except AlreadyAnswered as conflict:
        if lead and verdict == Label.Verdict.YES:
            raise
        theirs = Label.objects.filter(project=project, face=face, source=Label.Source.HUMAN)
        if theirs.filter(verdict=Label.Verdict.YES).exists():
            raise AnsweredAsAnother(by=conflict.by) from conflict
        return None
    return answer


def _group_repeat(
    projects: Sequence[Project], face: Face, user: AbstractBaseUser, request_id: uuid.UUID
) -> AnswerOutcome | None:
    """The step stored before under this request id; RequestIdReused if it was another's."""
    answer = Answer.objects.filter(request_id=request_id).first()
    if answer is None:
        return None
    ids = [project.pk for project in projects]
    if (answer.user_id, answer.face_id) != (user.pk, face.pk) or answer.project_id not in ids:
        raise RequestIdReused
    step = Answer.objects.filter(
        project_id__in=ids, user_id=user.pk, face=face, created_at=answer.created_at
    )
    return AnswerOutcome(answers=tuple(step.order_by("id")), created=False)


@retried
def group_skip(
    *, projects: Sequence[Project], face: Face, user: AbstractBaseUser, request_id: uuid.UUID
) -> AnswerOutcome:
    """ "Not now": a skip in every project, one step, as the classify page stores a skip
    (no label; the face is asked of this reviewer again later, of others at once)."""
    repeat = _group_repeat(projects, face, user, request_id)
    if repeat is not None:
        return repeat
    _refuse_any(projects, face)
    for project in projects:
        refuse_if_answered(project, face, user)
    now = timezone.now()
    with transaction.atomic():
        stored = [
            answer_create(
                project,
                face,
                user,
                Label.Verdict.SKIP,
                _request_of(request_id, project, index == 0),
                now,
            )[0]
            for index, project in enumerate(projects)
        ]
        ReviewLease.objects.filter(project__in=projects, face=face, user_id=user.pk).delete()
    return AnswerOutcome(answers=tuple(stored), created=True)


@retried
def group_undo(*, projects: Sequence[Project], user: AbstractBaseUser) -> tuple[Answer, ...]:
    """Take back the reviewer's latest step in the group's projects, in all of them at once
    (``answer_undo`` in each project that holds a part of it); () when there is none.

    A paused project refuses the whole undo, as it refuses an answer."""
    with transaction.atomic():
        latest = (
            Answer.objects.filter(project__in=projects, user_id=user.pk, undone_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is None:
            return ()
        holding = set(
            Answer.objects.filter(
                project__in=projects,
                user_id=user.pk,
                undone_at__isnull=True,
                created_at=latest.created_at,
            ).values_list("project_id", flat=True)
        )
        undone: list[Answer] = []
        for project in projects:
            if project.pk in holding:
                outcome = answer_undo(project=project, user=user)
                undone.extend(outcome.answers if outcome else ())
    return tuple(undone)


def group_face_serve(
    *, projects: Sequence[Project], user: AbstractBaseUser, exclude: Sequence[int] = ()
) -> Face | None:
    """The face the group most needs an answer on, held for this reviewer in every project
    (as classify holds a face); None when nothing is left to ask.

    A face another reviewer holds in any of the projects is passed over, and the leases
    taken for it on the way are given back."""
    passed = list(exclude)
    for _attempt in range(SERVE_ATTEMPTS):
        question = group_next_face(projects=projects, user=user, exclude=passed)
        if question is None:
            return None
        if group_lease(projects=projects, face=question.face, user=user):
            if question.turn is not None:  # the person whose turn it was has been served
                GroupPerson.objects.filter(project=question.turn).update(served=F("served") + 1)
            return question.face
        passed.append(question.face.pk)
    return None


def group_lease(*, projects: Sequence[Project], face: Face, user: AbstractBaseUser) -> bool:
    """Hold ``face`` for ``user`` in every project; False (and nothing held) if another
    reviewer holds it in any."""
    for taken, project in enumerate(projects):
        if not lease_take(project=project, face=face, user=user):
            ReviewLease.objects.filter(
                project__in=projects[:taken], face=face, user_id=user.pk
            ).delete()
            return False
    return True
