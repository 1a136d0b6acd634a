"""What reviewers answer: a verdict on one face, a skip, a pick among a photo's faces, and
the grid's verdicts on several faces at once.

Every answer is safe to repeat: it carries a request id made by the browser, so a double
click or a retried request is stored once; two reviewers racing for one face are told apart
by the unique constraints on labels and leases, not by a read-then-write.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.transactions import retried
from faces.models import Answer, Face, Image, Label, ReviewLease, is_old_enough, seen_in_q
from faces.selectors import face_in_project
from faces.services.answer_writes import leases_free, order_leave
from faces.services.refusals import (
    AlreadyAnswered,
    AnswerStands,
    FaceNotInProject,
    NewUploadWaits,
    ProjectNotAcceptingAnswers,
    RequestIdReused,
    ReviewError,
    already_answered,
    check_old_enough,
    check_open,
)
from faces.services.rescoring import request_rescore
from faces.services.twins import twins_align
from projects.models import Project


@dataclass(frozen=True)
class AnswerOutcome:
    answers: tuple[Answer, ...]
    created: bool  # False: this request id was stored before (a double click, a retry)


@retried
def answer_record(
    *,
    project: Project,
    face: Face,
    user: AbstractBaseUser,
    verdict: str,
    request_id: uuid.UUID,
) -> AnswerOutcome:
    """Store one reviewer's verdict on one face, once per request id.

    1. Refuse when the project does not take answers, or the face is not a current face
       of the project (a repeat of an answer stored before hears that it was stored).
    2. A skip is stored as the reviewer's answer only (:func:`_skip_store`).
    3. Create the Answer under its unique request id and the human Label, drop the face
       from the review order, free the reviewer's lease and ask for a rescore, in one
       transaction (:func:`_answer_store`).
    4. If a unique constraint refused step 3 (nothing is stored), tell the cases apart
       (:func:`_answer_store_careful`): the request id was stored before, a repeat: return
       that answer untouched; the face has a human label: the reviewer's own is changed,
       another reviewer's wins and this answer is refused.
    """
    if verdict not in Label.Verdict.values:
        raise ValueError(f"unknown verdict {verdict!r}")
    refusal = answer_refusal(project, face)
    if refusal is not None or verdict == Label.Verdict.SKIP:
        # Before a refusal (or a skip's own check): a retry of an answer stored before a
        # pause must hear that it was stored.
        repeat = _repeat(request_id, project, face, user)
        if repeat is not None:
            return AnswerOutcome(answers=(repeat,), created=False)
        if refusal is not None:
            raise refusal
    if verdict == Label.Verdict.SKIP:
        return _skip_store(project, face, user, request_id)
    try:
        return _answer_store(project, face, user, verdict, request_id)
    except IntegrityError:
        # This request id was stored before (a repeat), or the face has a human label: the
        # careful path, which tells them apart.
        return _answer_store_careful(project, face, user, verdict, request_id)


def answer_refusal(project: Project, face: Face) -> ReviewError | None:
    """Why the project does not take an answer on this face now, if it does not."""
    if not project.accepts_answers:
        return ProjectNotAcceptingAnswers(project)
    if not face_in_project(project=project, face=face):
        return FaceNotInProject()
    if not is_old_enough(face.image):
        return NewUploadWaits()
    return None


def _repeat(
    request_id: uuid.UUID, project: Project, face: Face, user: AbstractBaseUser
) -> Answer | None:
    """The answer stored before under this request id; RequestIdReused if it was another's."""
    repeat = Answer.objects.filter(request_id=request_id).first()
    this = (user.pk, project.pk, face.pk)
    if repeat is not None and (repeat.user_id, repeat.project_id, repeat.face_id) != this:
        raise RequestIdReused
    return repeat


def _answer_store(
    project: Project, face: Face, user: AbstractBaseUser, verdict: str, request_id: uuid.UUID
) -> AnswerOutcome:
    """The common case, a new answer on a face nobody answered: its rows in one transaction
    with no savepoint. A unique constraint that fails rolls all of it back (IntegrityError),
    and nothing was stored."""
    now = timezone.now()
    with transaction.atomic():
        answer = Answer.objects.create(
            project=project,
            face=face,
            user_id=user.pk,
            verdict=verdict,
            request_id=request_id,
            created_at=now,
        )
        Label.objects.create(
            project=project, face=face, source=Label.Source.HUMAN, verdict=verdict, user_id=user.pk
        )
        twins_align(project=project, face_ids=[face.pk])
        after_answers(project, [face.pk], user)
    return AnswerOutcome(answers=(answer,), created=True)


def _answer_store_careful(
    project: Project, face: Face, user: AbstractBaseUser, verdict: str, request_id: uuid.UUID
) -> AnswerOutcome:
    with transaction.atomic():
        answer, created = answer_create(project, face, user, verdict, request_id, timezone.now())
        if created:
            label_set(project, face, user, verdict)
            twins_align(project=project, face_ids=[face.pk])
            after_answers(project, [face.pk], user)
    return AnswerOutcome(answers=(answer,), created=created)


def _skip_store(
    project: Project, face: Face, user: AbstractBaseUser, request_id: uuid.UUID
) -> AnswerOutcome:
    """A skip: this reviewer's "not now", stored as their answer and as nothing else.

    It sets no label, so other reviewers are still asked about the face and the learner
    never hears of it; :func:`faces.selectors.next_face` leaves it out of this reviewer's
    questions for a while. A face with a human answer is no question any more: a skip on
    it is refused and stores nothing, so it never overwrites an answer, not even the
    reviewer's own (undo is the way to take that back).
    """
    refuse_if_answered(project, face, user)
    with transaction.atomic():
        answer, created = answer_create(
            project, face, user, Label.Verdict.SKIP, request_id, timezone.now()
        )
        if created:
            # Free at once: another reviewer may be asked about it now.
            ReviewLease.objects.filter(project=project, face=face, user_id=user.pk).delete()
    return AnswerOutcome(answers=(answer,), created=created)


def refuse_if_answered(project: Project, face: Face, user: AbstractBaseUser) -> None:
    label = (
        Label.objects.filter(project=project, face=face, source=Label.Source.HUMAN)
        .select_related("user")
        .first()
    )
    if label is None:
        return
    if label.user_id == user.pk:
        raise AnswerStands(by=user.get_username())
    raise already_answered(label)


@retried
def answer_pick(
    *,
    project: Project,
    image: Image,
    user: AbstractBaseUser,
    chosen: Face | None,
    request_id: uuid.UUID,
) -> AnswerOutcome:
    """ "Face k of this photo is the person" (or, with no face chosen, "none of them").

    The chosen face gets a yes and every other face of the photo a no, as one step: the
    answers share one timestamp, which is what undo (``faces.services.undo``) takes back
    together.
    Faces another reviewer already answered keep that answer; only the chosen face's
    conflict refuses the step.
    """
    repeat = Answer.objects.filter(request_id=request_id).select_related("face").first()
    if repeat is not None:
        return _repeat_of(repeat, project, user, image=image)
    check_open(project)
    faces = list(Face.objects.current().filter(seen_in_q(project), image=image).order_by("index"))
    if chosen is not None and chosen.pk not in {face.pk for face in faces}:
        raise FaceNotInProject
    if not faces or not face_in_project(project=project, face=faces[0]):
        raise FaceNotInProject
    check_old_enough(image)
    return _pick_store(project, faces, user, chosen, request_id)


def _pick_store(
    project: Project,
    faces: Sequence[Face],
    user: AbstractBaseUser,
    chosen: Face | None,
    request_id: uuid.UUID,
) -> AnswerOutcome:
    now = timezone.now()
    stored: list[Answer] = []
    with transaction.atomic():
        for face in faces:
            verdict = Label.Verdict.YES if chosen and face.pk == chosen.pk else Label.Verdict.NO
            # The chosen face (or the first, for "none") carries the browser's request id;
            # the others get ids derived from it, so a retry finds all of them again.
            first = face.pk == (chosen.pk if chosen else faces[0].pk)
            face_request = request_id if first else uuid.uuid5(request_id, str(face.pk))
            try:
                with transaction.atomic():
                    answer, _created = answer_create(
                        project, face, user, verdict, face_request, now
                    )
                    label_set(project, face, user, verdict)
            except AlreadyAnswered:
                if first and chosen is not None:
                    raise
                continue
            stored.append(answer)
        twins_align(project=project, face_ids=[answer.face_id for answer in stored])
        after_answers(project, [answer.face_id for answer in stored], user)
    return AnswerOutcome(answers=tuple(stored), created=True)


def _repeat_of(
    answer: Answer, project: Project, user: AbstractBaseUser, *, image: Image
) -> AnswerOutcome:
    if (answer.user_id, answer.project_id, answer.face.image_id) != (user.pk, project.pk, image.pk):
        raise RequestIdReused
    step = Answer.objects.filter(project=project, user_id=user.pk, created_at=answer.created_at)
    return AnswerOutcome(answers=tuple(step.select_related("face")), created=False)


def answer_create(
    project: Project,
    face: Face,
    user: AbstractBaseUser,
    verdict: str,
    request_id: uuid.UUID,
    now: datetime,
) -> tuple[Answer, bool]:
    try:
        with transaction.atomic():
            answer = Answer.objects.create(
                project=project,
                face=face,
                user_id=user.pk,
                verdict=verdict,
                request_id=request_id,
                created_at=now,
            )
        return answer, True
    except IntegrityError:
        # The request id is unique: the same request arrived before (or concurrently).
        answer = Answer.objects.get(request_id=request_id)
        if (answer.user_id, answer.project_id, answer.face_id) != (user.pk, project.pk, face.pk):
            raise RequestIdReused from None
        return answer, False


def label_set(project: Project, face: Face, user: AbstractBaseUser, verdict: str) -> None:
    """The one human label of the face: created, or changed by the reviewer who owns it."""
    try:
        with transaction.atomic():
            Label.objects.create(
                project=project,
                face=face,
                source=Label.Source.HUMAN,
                verdict=verdict,
                user_id=user.pk,
            )
        return
    except IntegrityError:
        pass
    label = (
        Label.objects.select_for_update()
        .select_related("user")
        .get(project=project, face=face, source=Label.Source.HUMAN)
    )
    if label.user_id != user.pk:
        raise already_answered(label)
    label.verdict, label.created_at = verdict, timezone.now()
    label.save(update_fields=["verdict", "created_at"])


def after_answers(project: Project, face_ids: Sequence[int], user: AbstractBaseUser) -> None:
    if not face_ids:
        return
    # Answered faces leave the review order now, not when the learner next runs; the
    # reviewer's leases on them are freed (both compiled once per process).
    order_leave(project_id=project.pk, faces=face_ids)
    leases_free(project_id=project.pk, user_id=user.pk, faces=face_ids)
    request_rescore(project_id=project.pk)


@retried
def faces_reject(*, project: Project, faces: Sequence[Face], user: AbstractBaseUser) -> int:
    """ "Not the person", said from the suggestion grid about several faces at once.

    Unlike an answer in the classify page this overrides another reviewer's yes: whoever
    approves for the project has the last word. The rejections are one step of the
    reviewer's history (undo brings the earlier answers back). Returns the faces rejected.
    """
    return _faces_decide(project, faces, user, Label.Verdict.NO)


@retried
def faces_confirm(*, project: Project, faces: Sequence[Face], user: AbstractBaseUser) -> int:
    """ "This is the person", said by approving faces in the suggestion grid.

    The learner takes it as any other yes. As with :func:`faces_reject` the approver has the
    last word over another reviewer's answer, and the confirmations are one undoable step.
    One face per person per image: of several faces given for one image only the last is
    confirmed (the file's edit takes the latest face too). Other faces of the image keep
    their labels; unanswered ones the learner already counts as not the person. Returns
    the faces confirmed.
    """
    return _faces_decide(project, _last_of_each_image(faces), user, Label.Verdict.YES)


def _last_of_each_image(faces: Sequence[Face]) -> list[Face]:
    return list({face.image_id: face for face in faces}.values())


def _faces_decide(
    project: Project, faces: Sequence[Face], user: AbstractBaseUser, verdict: str
) -> int:
    """One verdict on several faces as one step of the reviewer's history: answers sharing
    one timestamp, and human labels overwritten whoever gave them."""
    check_open(project)
    now, ids = timezone.now(), [face.pk for face in faces]
    with transaction.atomic():
        Answer.objects.bulk_create(
            [
                Answer(
                    project=project,
                    face=face,
                    user_id=user.pk,
                    verdict=verdict,
                    request_id=uuid.uuid4(),
                    created_at=now,
                )
                for face in faces
            ]
        )
        Label.objects.upsert(
            [
                Label(
                    project=project,
                    face=face,
                    source=Label.Source.HUMAN,
                    verdict=verdict,
                    user_id=user.pk,
                    created_at=now,
                )
                for face in faces
            ]
        )
        twins_align(project=project, face_ids=ids)
        after_answers(project, ids, user)
    return len(ids)
