"""Serving the next face: a reviewer holds the face they are shown (a lease) for a while,
so two reviewers asking at once are shown different faces."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.transactions import retried
from faces.models import Face, ReviewLease
from faces.selectors import next_face
from projects.models import Project

# Long enough to look twice at a hard face; short enough that a closed tab frees its faces.
LEASE_SECONDS = 600
# Faces tried when other reviewers keep winning the race for the next one. Each lost race
# means another reviewer was served, so n reviewers asking at once need up to n tries.
SERVE_ATTEMPTS = 32


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
