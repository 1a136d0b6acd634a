"""The writes every answer makes after storing its rows, compiled once per process
(``core.prepared``): the answered faces leave the review order, and the reviewer's leases
on them are freed. Each keeps its ORM form (``*_query``), which the tests compare with what
is sent (``tests/faces/test_review_reads.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import sql

from core.prepared import PreparedWrite, Values, delete_query, deletes_at_once, update_query
from faces.models import Label, ReviewLease
from faces.review_order import padded


def order_leave_query(*, project_id: int, faces: Sequence[int]) -> sql.UpdateQuery:
    """``Label.objects.filter(…, source=MODEL).update(priority=None)``."""
    labels = Label.objects.filter(
        project_id=project_id, face_id__in=faces, source=Label.Source.MODEL
    )
    return update_query(labels, priority=None)


def _faces_values(_connection: BaseDatabaseWrapper, *, faces: Sequence[int], **ids: int) -> Values:
    values: Values = dict(ids)
    return values | {f"face.{i}": face_id for i, face_id in enumerate(faces)}


def _faces_shape(*, faces: Sequence[int], **_inputs: Any) -> int:
    return len(faces)


ORDER_LEAVE = PreparedWrite(build=order_leave_query, values=_faces_values, shape=_faces_shape)


def order_leave(*, project_id: int, faces: Sequence[int]) -> int:
    """Answered faces leave the review order now, not when the learner next runs. The ids
    are padded (``faces.review_order.padded``: ids no face has), so a few statements serve
    every length of the grid's lists."""
    return ORDER_LEAVE.run(
        using=router.db_for_write(Label), project_id=project_id, faces=padded(faces)
    )


def leases_free_query(*, project_id: int, user_id: int, faces: Sequence[int]) -> sql.DeleteQuery:
    """``ReviewLease.objects.filter(…).delete()``, sent as one DELETE."""
    leases = ReviewLease.objects.filter(project_id=project_id, face_id__in=faces, user_id=user_id)
    return delete_query(leases)


LEASES_FREE = PreparedWrite(build=leases_free_query, values=_faces_values, shape=_faces_shape)


def leases_free(*, project_id: int, user_id: int, faces: Sequence[int]) -> None:
    """The reviewer's leases on these faces are freed. As ``QuerySet.delete()`` does: one
    DELETE in a transaction of its own when there is none (Collector's ``atomic(savepoint=
    False)``), and the ORM's own way if a receiver or a cascade asks for more."""
    using = router.db_for_write(ReviewLease)
    if not deletes_at_once(ReviewLease, using):
        leases = ReviewLease.objects.filter(project_id=project_id, face_id__in=list(faces))
        leases.filter(user_id=user_id).delete()
        return
    with transaction.atomic(using=using, savepoint=False):
        LEASES_FREE.run(using=using, project_id=project_id, user_id=user_id, faces=padded(faces))
