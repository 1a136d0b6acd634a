"""Faces a reviewer draws: a box the detector missed, or a better box for a face.

``faces.services.drawn`` encodes them, in a worker.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from core.enqueue import enqueue
from core.transactions import retried
from faceengine.detection import FaceBox
from faces.models import Answer, Face, Image, Label, ProjectImage, ReviewLease
from faces.selectors import face_in_project
from faces.services.leases import lease_take
from faces.services.refusals import (
    FaceAskedElsewhere,
    FaceNotInProject,
    FaceUsedElsewhere,
    InvalidBox,
    ReviewError,
    check_old_enough,
    check_open,
)
from projects.models import Project

# A box smaller than this (as a fraction of the image side) cannot hold a usable face.
MIN_BOX_SIDE = 0.005


@retried
def face_draw(*, project: Project, image: Image, user: AbstractBaseUser, box: FaceBox) -> Face:
    """A face the detector missed, drawn by a reviewer; a ``detect`` worker encodes it.

    It belongs to this project (``Face.project``): other projects holding the photo are
    not asked about it (``faces.models.seen_in_q``)."""
    check_open(project)
    if not image.project_links.filter(project=project).exists():
        raise FaceNotInProject
    check_old_enough(image)
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
    check_open(project)
    if face.superseded_by_id is not None or not face_in_project(project=project, face=face):
        raise FaceNotInProject
    check_old_enough(face.image)
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
