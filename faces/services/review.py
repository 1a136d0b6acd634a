"""What reviewers do: answer, undo, take a face to look at, draw or correct a face box.

Every workflow here is safe to repeat: an answer carries a request id made by the browser,
so a double click or a retried request is stored once; two reviewers racing for one face
are told apart by the unique constraints on labels and leases, not by a read-then-write.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from core.enqueue import enqueue
from core.transactions import retried
from faceengine.detection import FaceBox
from faces.models import (
    Answer,
    Face,
    Image,
    Label,
    ProjectImage,
    ReviewLease,
    is_old_enough,
    seen_in_q,
)
from faces.selectors import next_face, twin_groups
from faces.services.rescoring import request_rescore
from projects.models import Project

# Long enough to look twice at a hard face; short enough that a closed tab frees its faces.
LEASE_SECONDS = 600
# A box smaller than this (as a fraction of the image side) cannot hold a usable face.
MIN_BOX_SIDE = 0.005
# Faces tried when other reviewers keep winning the race for the next one. Each lost race
# means another reviewer was served, so n reviewers asking at once need up to n tries.
SERVE_ATTEMPTS = 32
# A face cannot be replaced by a corrected box more often than this in a chain.
MAX_SUPERSEDE_CHAIN = 50


class ReviewError(Exception):
    """A reviewer's action that cannot be carried out; ``str()`` is shown to the reviewer."""

    code = "refused"


class ProjectNotAcceptingAnswers(ReviewError):
    code = "paused"

    def __init__(self, project: Project) -> None:
        # Who holds it says who can resume it: the owner, or only a moderator.
        super().__init__(project.standing.holds_answers)


class AlreadyAnswered(ReviewError):
    code = "already_answered"

    def __init__(self, by: str) -> None:
        super().__init__(
            _(
                "%(user)s already answered this face. Your other answers are kept; "
                "here is the next one."
            )
            % {"user": by}
        )
        self.by = by


class AnswerStands(AlreadyAnswered):
    """A skip on a face the reviewer answered before: that answer stands, the page moves on."""

    def __init__(self, by: str) -> None:
        # Not AlreadyAnswered's message: that one names somebody else.
        ReviewError.__init__(
            self,
            _(
                "You already answered this face: a skip leaves your answer as it is "
                "(undo takes it back). Here is the next one."
            ),
        )
        self.by = by


class FaceNotInProject(ReviewError):
    code = "not_in_project"

    def __init__(self) -> None:
        super().__init__(_("This face is not (or no longer) part of this project."))


class RequestIdReused(ReviewError):
    code = "request_id_reused"

    def __init__(self) -> None:
        super().__init__(_("This request id was already used for another answer."))


class FaceUsedElsewhere(ReviewError):
    code = "used_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            _(
                "Another project has answers on this face, so its box cannot be changed "
                "here. Draw the face as a new box instead."
            )
        )


class NewUploadWaits(ReviewError):
    """A file younger than the wait for new uploads (``faces.models.old_enough_q``): its
    faces are neither drawn, corrected nor answered yet, as they are not detected yet."""

    code = "new_upload"

    def __init__(self) -> None:
        if settings.WIKIVISAGE_PROCESS_NEW_UPLOADS:
            text = _(
                "This file was uploaded less than %(hours)s hours ago: many new uploads are "
                "deleted soon after, so its faces are looked at once it is older."
            ) % {"hours": formats.number_format(_wait_hours())}
        else:
            text = _("This file is a new upload: new uploads are not processed on this site.")
        super().__init__(text)


def _wait_hours() -> float | int:
    hours = float(settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS)
    return int(hours) if hours.is_integer() else hours


class FaceAskedElsewhere(ReviewError):
    code = "asked_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            _(
                "Another project you are not a member of holds this photo and is asked about "
                "this face, so its box cannot be changed here. Draw the face as a new box "
                "instead: it belongs to this project."
            )
        )


class InvalidBox(ReviewError):
    code = "invalid_box"

    def __init__(self) -> None:
        super().__init__(_("The box must lie inside the image and be large enough to hold a face."))


@dataclass(frozen=True)
class AnswerOutcome:
    answers: tuple[Answer, ...]
    created: bool  # False: this request id was stored before (a double click, a retry)


@dataclass(frozen=True)
class UndoOutcome:
    answers: tuple[Answer, ...]  # the answers taken back, all from one step

    @property
    def faces(self) -> list[Face]:
        return [face_current(face=answer.face) for answer in self.answers]


# --- answers ----------------------------------------------------------------------------


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
    refusal = _refusal(project, face)
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


def _refusal(project: Project, face: Face) -> ReviewError | None:
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
        _twins_align(project, [face.pk])
        _after_answers(project, [face.pk], user)
    return AnswerOutcome(answers=(answer,), created=True)


def _answer_store_careful(
    project: Project, face: Face, user: AbstractBaseUser, verdict: str, request_id: uuid.UUID
) -> AnswerOutcome:
    with transaction.atomic():
        answer, created = _answer_create(project, face, user, verdict, request_id, timezone.now())
        if created:
            _label_set(project, face, user, verdict)
            _twins_align(project, [face.pk])
            _after_answers(project, [face.pk], user)
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
    _refuse_if_answered(project, face, user)
    with transaction.atomic():
        answer, created = _answer_create(
            project, face, user, Label.Verdict.SKIP, request_id, timezone.now()
        )
        if created:
            # Free at once: another reviewer may be asked about it now.
            ReviewLease.objects.filter(project=project, face=face, user_id=user.pk).delete()
    return AnswerOutcome(answers=(answer,), created=created)


def _refuse_if_answered(project: Project, face: Face, user: AbstractBaseUser) -> None:
    label = (
        Label.objects.filter(project=project, face=face, source=Label.Source.HUMAN)
        .select_related("user")
        .first()
    )
    if label is None:
        return
    if label.user_id == user.pk:
        raise AnswerStands(by=user.get_username())
    raise _already_answered(label)


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
    answers share one timestamp, which is what :func:`answer_undo` takes back together.
    Faces another reviewer already answered keep that answer; only the chosen face's
    conflict refuses the step.
    """
    repeat = Answer.objects.filter(request_id=request_id).select_related("face").first()
    if repeat is not None:
        return _repeat_of(repeat, project, user, image=image)
    _check_open(project)
    faces = list(Face.objects.current().filter(seen_in_q(project), image=image).order_by("index"))
    if chosen is not None and chosen.pk not in {face.pk for face in faces}:
        raise FaceNotInProject
    if not faces or not face_in_project(project=project, face=faces[0]):
        raise FaceNotInProject
    _check_old_enough(image)
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
                    answer, _created = _answer_create(
                        project, face, user, verdict, face_request, now
                    )
                    _label_set(project, face, user, verdict)
            except AlreadyAnswered:
                if first and chosen is not None:
                    raise
                continue
            stored.append(answer)
        _twins_align(project, [answer.face_id for answer in stored])
        _after_answers(project, [answer.face_id for answer in stored], user)
    return AnswerOutcome(answers=tuple(stored), created=True)


def _repeat_of(
    answer: Answer, project: Project, user: AbstractBaseUser, *, image: Image
) -> AnswerOutcome:
    if (answer.user_id, answer.project_id, answer.face.image_id) != (user.pk, project.pk, image.pk):
        raise RequestIdReused
    step = Answer.objects.filter(project=project, user_id=user.pk, created_at=answer.created_at)
    return AnswerOutcome(answers=tuple(step.select_related("face")), created=False)


def _answer_create(
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


def _label_set(project: Project, face: Face, user: AbstractBaseUser, verdict: str) -> None:
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
        raise _already_answered(label)
    label.verdict, label.created_at = verdict, timezone.now()
    label.save(update_fields=["verdict", "created_at"])


def _already_answered(label: Label) -> AlreadyAnswered:
    return AlreadyAnswered(by=label.user.get_username() if label.user else _("Someone"))


def _after_answers(project: Project, face_ids: Sequence[int], user: AbstractBaseUser) -> None:
    if not face_ids:
        return
    # Answered faces leave the review order now, not when the learner next runs.
    Label.objects.filter(project=project, face_id__in=face_ids, source=Label.Source.MODEL).update(
        priority=None
    )
    ReviewLease.objects.filter(project=project, face_id__in=face_ids, user_id=user.pk).delete()
    request_rescore(project_id=project.pk)


def _check_open(project: Project) -> None:
    if not project.accepts_answers:
        raise ProjectNotAcceptingAnswers(project)


def _check_old_enough(image: Image) -> None:
    """A new upload has no faces to look at yet: any it holds (drawn, or detected before
    the wait was part of the claim) wait with it."""
    if not is_old_enough(image):
        raise NewUploadWaits


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
    _check_open(project)
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
        _twins_align(project, ids)
        _after_answers(project, ids, user)
    return len(ids)


# --- undo -------------------------------------------------------------------------------


@retried
def answer_undo(*, project: Project, user: AbstractBaseUser) -> UndoOutcome | None:
    """Take back the reviewer's latest step that is not undone yet; None if there is none.

    Called again, it walks further back through the reviewer's history, one step each time
    (a step is one answer, or the answers of one group-photo pick). Each face's human label
    returns to the latest answer on it that still stands, or disappears. A skip set no
    label, so undoing it touches none: the face is simply open to this reviewer again.
    """
    _check_open(project)
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
        _twins_align(project, [face_current(face=answer.face).pk for answer in said])
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


# --- identical files ----------------------------------------------------------------------


def twin_answers_share(*, image: Image) -> int:
    """Faces just copied from an identical file (``pipeline._copies``) take the answers
    their originals have in each project holding both files. Returns the groups aligned."""
    face_ids = list(image.faces.current().values_list("pk", flat=True))
    project_ids = image.project_links.values_list("project_id", flat=True)
    aligned = 0
    for project in Project.objects.filter(pk__in=list(project_ids)):
        aligned += _twins_align(project, face_ids)
    return aligned


def _twins_align(project: Project, face_ids: Sequence[int]) -> int:
    """The same face in identical files of one project carries one human answer.

    Identical bytes (one SHA1) are detected once, and every copy gets the same boxes
    (``pipeline._copies``): a face of one file is that face in each copy. Within each group
    of such faces (``faces.selectors.twin_groups``) the human label of every face follows
    the latest answer still standing on any of them, or there is none. So review does not
    ask about a copy again, and the grid offers each file (each its own edit) with the same
    verdict; a rejection withdraws the copies' edits too
    (``depicts.services.approval.edits_reject``).
    """
    groups = twin_groups(project=project, face_ids=face_ids)
    for group in groups:
        _group_label_set(project, group)
    return len(groups)


def _group_label_set(project: Project, group: Sequence[int]) -> None:
    standing = (
        Answer.objects.filter(project=project, face_id__in=group, undone_at__isnull=True)
        .exclude(verdict=Label.Verdict.SKIP)
        .order_by("-created_at", "-id")
        .first()
    )
    human = Label.objects.filter(project=project, face_id__in=group, source=Label.Source.HUMAN)
    if standing is None:
        human.delete()
        return
    Label.objects.upsert(
        [
            Label(
                project=project,
                face_id=pk,
                source=Label.Source.HUMAN,
                verdict=standing.verdict,
                user_id=standing.user_id,
                created_at=standing.created_at,
            )
            for pk in group
        ]
    )
    # Answered faces leave the review order now (as in _after_answers).
    Label.objects.filter(project=project, face_id__in=group, source=Label.Source.MODEL).update(
        priority=None
    )


# --- leases -----------------------------------------------------------------------------


@retried
def lease_take(*, project: Project, face: Face, user: AbstractBaseUser) -> bool:
    """Hold ``face`` for ``user`` for a while; False if another reviewer holds it now.

    The unique (project, face) constraint decides a race between two reviewers: the second
    insert fails, and that reviewer is served another face. The insert comes first because
    a face being served is almost always free: one statement on the hot path.
    """
    now = timezone.now()
    expires = now + timedelta(seconds=LEASE_SECONDS)
    if _lease_insert(project, face, user, expires):
        return True
    if ReviewLease.objects.filter(project=project, face=face, user_id=user.pk).update(
        expires_at=expires
    ):
        return True
    # Another reviewer's lease: it is theirs while it runs, free for the taking once expired.
    expired = ReviewLease.objects.filter(project=project, face=face, expires_at__lte=now)
    return bool(expired.delete()[0]) and _lease_insert(project, face, user, expires)


def _lease_insert(project: Project, face: Face, user: AbstractBaseUser, expires: datetime) -> bool:
    # Inside a transaction (drawing a face) a savepoint keeps it usable after a lost race.
    # Outside one (every face served) the INSERT commits on its own: a transaction around
    # it only added its BEGIN and COMMIT to every question.
    guard = transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
    try:
        with guard:
            ReviewLease.objects.create(
                project=project, face=face, user_id=user.pk, expires_at=expires
            )
    except IntegrityError:
        return False
    return True


@retried
def face_serve(
    *, project: Project, user: AbstractBaseUser, exclude: Sequence[int] = ()
) -> Face | None:
    """The next face for this reviewer, held for them; None when nothing is left to ask.

    Between reading the next face and leasing it another reviewer may lease it first; that
    face is passed over and the next one tried. Every lost race is another reviewer's win,
    so the tries run out only when more reviewers than SERVE_ATTEMPTS ask at the same moment.
    """
    passed = list(exclude)
    for _attempt in range(SERVE_ATTEMPTS):
        face = next_face(project=project, user=user, exclude=passed)
        if face is None:
            return None
        if lease_take(project=project, face=face, user=user):
            return face
        passed.append(face.pk)
    return None


# --- drawn and corrected faces ----------------------------------------------------------


@retried
def face_draw(*, project: Project, image: Image, user: AbstractBaseUser, box: FaceBox) -> Face:
    """A face the detector missed, drawn by a reviewer; a ``detect`` worker encodes it.

    It belongs to this project (``Face.project``): other projects holding the photo are
    not asked about it (``faces.models.seen_in_q``)."""
    _check_open(project)
    if not image.project_links.filter(project=project).exists():
        raise FaceNotInProject
    _check_old_enough(image)
    checked = _checked(box)
    with transaction.atomic():
        face = _face_create(image, checked, user, project=project)
        lease_take(project=project, face=face, user=user)
        _encode_later(face)
    return face


@retried
def face_correct(*, project: Project, face: Face, user: AbstractBaseUser, box: FaceBox) -> Face:
    """Replace a face's box with a better one drawn by a reviewer.

    Faces are shared by every project that holds the photo, so a box is corrected only
    while no other project has a say on it (:func:`_used_elsewhere`); otherwise the
    correction would rewrite that project's answers and approved regions, and it is
    refused (FaceUsedElsewhere). Nor is it corrected while another project whose member
    the reviewer is not is asked about it (:func:`_asked_elsewhere`): a non-member never
    changes what another project asks (FaceAskedElsewhere). The new face belongs where the
    old one did (a box drawn in this project stays this project's) and takes its place
    (``supersede``); this project's answers and existing statements move with it. The
    learner's labels do not: the new box is encoded again and scored afresh.
    """
    _check_open(project)
    if face.superseded_by_id is not None or not face_in_project(project=project, face=face):
        raise FaceNotInProject
    _check_old_enough(face.image)
    checked = _checked(box)
    with transaction.atomic():
        locked = Face.objects.select_for_update().get(pk=face.pk)
        if locked.superseded_by_id is not None:
            raise FaceNotInProject
        if _used_elsewhere(locked, project):
            raise FaceUsedElsewhere
        if _asked_elsewhere(locked, project, user):
            raise FaceAskedElsewhere
        new = _face_create(face.image, checked, user, project=locked.project)
        locked.supersede(new)
        Label.objects.filter(project=project, face=locked).exclude(
            source=Label.Source.MODEL
        ).update(face=new)
        ReviewLease.objects.filter(face=locked).delete()
        lease_take(project=project, face=new, user=user)
        _encode_later(new)
    return new


def _used_elsewhere(face: Face, project: Project) -> bool:
    """Whether another project answered the face or matched a depicts statement to it.

    Approved edits follow from answers (a yes), so they are covered too. The learner's
    labels are no say: another project re-scores the new box as it would any new face.
    """
    others = Label.objects.filter(face=face).exclude(project=project)
    if others.exclude(source=Label.Source.MODEL).exists():
        return True
    return Answer.objects.filter(face=face).exclude(project=project).exists()


def _asked_elsewhere(face: Face, project: Project, user: AbstractBaseUser) -> bool:
    """Whether another project holding the photo, without this reviewer among its owner
    and members, is asked about the face (a shared face: one no project drew)."""
    if face.project_id is not None:
        return False  # drawn here: no other project is asked (one that answered: above)
    others = ProjectImage.objects.filter(image_id=face.image_id).exclude(project=project)
    return (
        others.exclude(project__owner_id=user.pk)
        .exclude(project__memberships__user_id=user.pk)
        .exists()
    )


def _face_create(
    image: Image, box: FaceBox, user: AbstractBaseUser, *, project: Project | None
) -> Face:
    for _attempt in range(3):
        index = (image.faces.aggregate(top=Max("index"))["top"] or 0) + 1
        try:
            with transaction.atomic():
                return Face.objects.create(
                    image=image,
                    index=index,
                    left=box.left,
                    top=box.top,
                    width=box.width,
                    height=box.height,
                    origin=Face.Origin.DRAWN,
                    created_by_id=user.pk,
                    project=project,
                )
        except IntegrityError:
            # Someone drew a face on the same image at the same moment: take the next index.
            continue
    raise ReviewError(_("Too many faces were drawn on this image at once; please try again."))


def _encode_later(face: Face) -> None:
    enqueue("faces.detect.encode_face", face.pk)


def _checked(box: FaceBox) -> FaceBox:
    """The box clipped to the image; InvalidBox if too little of it is left."""
    values = (box.left, box.top, box.width, box.height)
    if any(v != v for v in values):  # NaN
        raise InvalidBox
    left, top = min(max(box.left, 0.0), 1.0), min(max(box.top, 0.0), 1.0)
    right = min(max(box.left + box.width, 0.0), 1.0)
    bottom = min(max(box.top + box.height, 0.0), 1.0)
    if right - left < MIN_BOX_SIDE or bottom - top < MIN_BOX_SIDE:
        raise InvalidBox
    return FaceBox(left=left, top=top, width=right - left, height=bottom - top)


# --- faces ------------------------------------------------------------------------------


def face_in_project(*, project: Project, face: Face) -> bool:
    """A current face of the project's photos that the project is asked about (one query,
    none for a face read by ``faces.selectors.face_of_project`` for this project)."""
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
