"""The reads that choose the next face: the learner's order (highest review priority first),
which of its candidates a person answered, and the reviewer's recent skips.

The hottest reads of an answer round: Django building and compiling the order's queryset
costs about ten times the CPU of sending its SQL and reading its 8 rows (1.15 ms against
0.12), so these are prepared once per process (``core.prepared``) and only their inputs are
bound per request. Each keeps its ORM form (``*_queryset``): the tests compare the two."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, OuterRef, QuerySet

from core.prepared import PreparedRead, Values, adapt_datetime
from faces.models import Answer, Label, ReviewLease, new_upload_wait, old_enough_q, upload_cutoff

# Faces read per round from the priority order; answered ones among them are skipped.
PRIORITY_CANDIDATES = 8
# Recent skips kept out, newest first: a bound on the list every question's queries carry.
SKIPS_REMEMBERED = 200


def held_by_others(
    *, project_id: int, user_id: int, field: str, now: datetime
) -> QuerySet[ReviewLease]:
    """Leases another reviewer holds at ``now`` on the face in ``field`` (an outer column)."""
    return ReviewLease.objects.filter(
        project_id=project_id, face_id=OuterRef(field), expires_at__gt=now
    ).exclude(user_id=user_id)


def order_queryset(
    *, project_id: int, user_id: int, now: datetime, skipped: Sequence[int]
) -> QuerySet[Label, int]:
    """The ORM's form of the read: the first candidates in priority order, leaving out
    ``skipped``, faces another reviewer holds, replaced boxes and uploads still waiting.
    MariaDB walks label_review_idx (project, source, priority) backwards and stops early."""
    held = held_by_others(project_id=project_id, user_id=user_id, field="face_id", now=now)
    return (
        Label.objects.filter(
            project_id=project_id,
            source=Label.Source.MODEL,
            priority__isnull=False,
            face__superseded_by__isnull=True,
        )
        .filter(old_enough_q("face__image__", now=now))
        .exclude(face_id__in=skipped)
        .filter(~Exists(held))
        .order_by("-priority", "-id")
        .values_list("face_id", flat=True)[:PRIORITY_CANDIDATES]
    )


def _values(
    connection: BaseDatabaseWrapper,
    *,
    project_id: int,
    user_id: int,
    now: datetime,
    skipped: Sequence[int],
) -> Values:
    values: Values = {"project": project_id, "user": user_id}
    values["now"] = adapt_datetime(connection, now)
    cutoff = upload_cutoff(now)
    if cutoff is not None:
        values["cutoff"] = adapt_datetime(connection, cutoff)
    values.update({f"skip.{i}": face_id for i, face_id in enumerate(skipped)})
    return values


def _shape(*, skipped: Sequence[int], **_inputs: Any) -> Hashable:
    # What changes the SQL: the IN list's length, and how old_enough_q compares (its wait
    # is a constant in the SQL when new uploads are switched off).
    return len(skipped), settings.WIKIVISAGE_PROCESS_NEW_UPLOADS, new_upload_wait()


ORDER = PreparedRead(build=order_queryset, values=_values, shape=_shape)


def order_candidates(
    *, project_id: int, user_id: int, now: datetime, skipped: Sequence[int]
) -> list[int]:
    """What ``order_queryset`` returns, through the statement prepared once."""
    rows = ORDER.rows(
        using=router.db_for_read(Label),
        project_id=project_id,
        user_id=user_id,
        now=now,
        skipped=padded(skipped),
    )
    return [face_id for (face_id,) in rows]


def padded(face_ids: Sequence[int]) -> tuple[int, ...]:
    """``face_ids`` without repeats (as the ORM's ``IN`` drops them), padded with ids no face
    has (negative) to a power of two, at least 8: a reviewer's skips grow one by one, and
    each length of the list is a statement of its own to compile."""
    distinct = tuple(dict.fromkeys(face_ids))
    size = max(8, 1 << (len(distinct) - 1).bit_length())
    return distinct + tuple(range(-1, len(distinct) - size - 1, -1))


def answered_queryset(*, project_id: int, faces: Sequence[int]) -> QuerySet[Label, int]:
    """The ORM's form of the second read: which of these faces a person answered."""
    return Label.objects.filter(
        project_id=project_id, source=Label.Source.HUMAN, face_id__in=faces
    ).values_list("face_id", flat=True)


def _answered_values(
    _connection: BaseDatabaseWrapper, *, project_id: int, faces: Sequence[int]
) -> Values:
    return {"project": project_id} | {f"face.{i}": face_id for i, face_id in enumerate(faces)}


def _answered_shape(*, faces: Sequence[int], **_inputs: Any) -> Hashable:
    return len(faces)


ANSWERED = PreparedRead(build=answered_queryset, values=_answered_values, shape=_answered_shape)


def answered_among(*, project_id: int, faces: Sequence[int]) -> set[int]:
    """What ``answered_queryset`` returns, through the statement prepared once. Answering
    clears a face's priority, but a learner run that started before the answer may write one
    back, so the order's candidates are checked, not trusted."""
    if not faces:
        return set()  # the ORM sends no query for an empty IN either
    rows = ANSWERED.rows(
        using=router.db_for_read(Label), project_id=project_id, faces=tuple(dict.fromkeys(faces))
    )
    return {face_id for (face_id,) in rows}


def skips_queryset(*, project_id: int, user_id: int, since: datetime) -> QuerySet[Answer, int]:
    """The ORM's form of the reviewer's recent skips (not taken back), newest first."""
    return (
        Answer.objects.filter(
            project_id=project_id,
            user_id=user_id,
            verdict=Label.Verdict.SKIP,
            created_at__gt=since,
            undone_at__isnull=True,
        )
        .order_by("-created_at")
        .values_list("face_id", flat=True)[:SKIPS_REMEMBERED]
    )


def _skips_values(
    connection: BaseDatabaseWrapper, *, project_id: int, user_id: int, since: datetime
) -> Values:
    return {"project": project_id, "user": user_id, "since": adapt_datetime(connection, since)}


SKIPS = PreparedRead(build=skips_queryset, values=_skips_values, shape=lambda **_inputs: ())


def skipped_since(*, project_id: int, user_id: int, since: datetime) -> list[int]:
    """What ``skips_queryset`` returns, through the statement prepared once."""
    rows = SKIPS.rows(
        using=router.db_for_read(Answer), project_id=project_id, user_id=user_id, since=since
    )
    return [face_id for (face_id,) in rows]
