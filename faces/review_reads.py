"""The other reads of an answer round, prepared once per process (``core.prepared``): the
face answered, the face served, the question (the photo's faces and their labels), the faces
the reviewer holds, the files sharing the answered file's SHA1, and the re-scoring flag.

The order's reads are in ``faces.review_order``. Each read keeps its ORM form
(``*_queryset``), which the tests compare with what the prepared one sends and returns
(``tests/faces/test_review_reads.py``); the callers (``faces.selectors``,
``faces.services.rescoring``) keep what they did around it.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Any

from django.db import router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet, sql

from core.prepared import PreparedRead, Values, adapt_datetime
from faces.models import Face, Image, Label, ReviewLease
from projects.models import Project


def _no_shape(**_inputs: Any) -> Hashable:
    return ()


# --- one face with its file ---------------------------------------------------------------


def project_face_queryset(*, face_id: int, project_id: int) -> QuerySet[Face]:
    """``faces.selectors.face_of_project``'s read: ``.first()`` of the face among the
    project's files (replaced or not), with its image, without its encoding."""
    return (
        Face.objects.filter(pk=face_id, image__project_links__project_id=project_id)
        .select_related("image")
        .defer("encoding")[:1]
    )


PROJECT_FACE = PreparedRead(
    build=project_face_queryset,
    values=lambda _connection, *, face_id, project_id: {"face": face_id, "project": project_id},
    shape=_no_shape,
)


def project_face(*, face_id: int, project_id: int) -> Face | None:
    faces = PROJECT_FACE.objects(
        using=router.db_for_read(Face), face_id=face_id, project_id=project_id
    )
    return faces[0] if faces else None


def face_queryset(*, face_id: int) -> QuerySet[Face]:
    """``Face.objects.select_related("image").defer("encoding").get(pk=face_id)``'s read."""
    return (
        Face.objects.select_related("image")
        .defer("encoding")
        .filter(pk=face_id)
        .order_by()[:_MAX_GET_RESULTS]
    )


# QuerySet.get() reads at most this many rows (django.db.models.query.MAX_GET_RESULTS).
_MAX_GET_RESULTS = 21

FACE = PreparedRead(
    build=face_queryset,
    values=lambda _connection, *, face_id: {"face": face_id},
    shape=_no_shape,
)


def face_with_image(*, face_id: int) -> Face:
    """The face with its image (Face.DoesNotExist if there is none), as ``get()`` reads it."""
    faces = FACE.objects(using=router.db_for_read(Face), face_id=face_id)
    if not faces:
        raise Face.DoesNotExist("Face matching query does not exist.")
    return faces[0]


# --- the question: the photo's faces, their labels --------------------------------------

BOX_FIELDS = ("pk", "left", "top", "width", "height", "origin")


def photo_faces_queryset(*, image_id: int) -> QuerySet[Face, tuple[Any, ...]]:
    return (
        Face.objects.current()
        .filter(image_id=image_id)
        .order_by("index", "pk")
        .values_list(*BOX_FIELDS, "project_id")
    )


PHOTO_FACES = PreparedRead(
    build=photo_faces_queryset,
    values=lambda _connection, *, image_id: {"image": image_id},
    shape=_no_shape,
)


def photo_faces(*, image_id: int) -> list[dict[str, Any]]:
    """The current faces of the photo, in order, as ``values(*BOX_FIELDS, "project_id")``."""
    rows = PHOTO_FACES.rows(using=router.db_for_read(Face), image_id=image_id)
    names = (*BOX_FIELDS, "project_id")
    return [dict(zip(names, row, strict=True)) for row in rows]


def labels_queryset(*, project_id: int, faces: Sequence[int]) -> QuerySet[Label, tuple[Any, ...]]:
    return Label.objects.filter(
        project_id=project_id,
        face_id__in=faces,
        source__in=(Label.Source.HUMAN, Label.Source.MODEL),
    ).values_list("face_id", "source", "verdict", "score")


def _labels_values(
    _connection: BaseDatabaseWrapper, *, project_id: int, faces: Sequence[int]
) -> Values:
    return {"project": project_id} | {f"face.{i}": face_id for i, face_id in enumerate(faces)}


def _faces_shape(*, faces: Sequence[int], **_inputs: Any) -> Hashable:
    return len(faces)


LABELS = PreparedRead(build=labels_queryset, values=_labels_values, shape=_faces_shape)


def labels_of(*, project_id: int, faces: Sequence[int]) -> list[tuple[Any, ...]]:
    """(face, source, verdict, score) of these faces' human and model labels."""
    distinct = tuple(dict.fromkeys(faces))  # the ORM's IN drops repeats too
    if not distinct:
        return []  # the ORM sends no query for an empty IN either
    return LABELS.rows(using=router.db_for_read(Label), project_id=project_id, faces=distinct)


# --- the faces a reviewer holds -----------------------------------------------------------


def leases_queryset(
    *, project_id: int, user_id: int, now: datetime, count: int
) -> QuerySet[ReviewLease, int]:
    """``faces.selectors._held``'s first read: at most ``count`` of the reviewer's leases."""
    leases = ReviewLease.objects.filter(project_id=project_id, user_id=user_id, expires_at__gt=now)
    return leases.values_list("face_id", flat=True)[:count]


def _leases_values(
    connection: BaseDatabaseWrapper, *, project_id: int, user_id: int, now: datetime, count: int
) -> Values:
    return {"project": project_id, "user": user_id, "now": adapt_datetime(connection, now)}


LEASES = PreparedRead(
    build=leases_queryset,
    values=_leases_values,
    # The LIMIT is written into the SQL: each count is a statement of its own (the caller
    # rounds it up to a power of two: faces.selectors._at_least).
    shape=lambda *, count, **_inputs: count,
    fixed=frozenset({"count"}),
)


def leases_held(*, project_id: int, user_id: int, now: datetime, count: int) -> list[int]:
    rows = LEASES.rows(
        using=router.db_for_read(ReviewLease),
        project_id=project_id,
        user_id=user_id,
        now=now,
        count=count,
    )
    return [face_id for (face_id,) in rows]


# --- identical files: those sharing a SHA1 with the answered faces' files ----------------


def same_bytes_queryset(*, faces: Sequence[int]) -> QuerySet[Image, int]:
    """``faces.selectors.twin_groups``' first read, through the SHA1 index."""
    given = Image.objects.filter(faces__pk__in=faces).exclude(sha1="").values("sha1")
    return Image.objects.filter(sha1__in=given).values_list("pk", flat=True)


SAME_BYTES = PreparedRead(
    build=same_bytes_queryset,
    values=lambda _connection, *, faces: {f"face.{i}": face_id for i, face_id in enumerate(faces)},
    shape=_faces_shape,
)


def same_bytes(*, faces: Sequence[int]) -> set[int]:
    """The files whose SHA1 is that of one of these faces' files (theirs included)."""
    distinct = tuple(dict.fromkeys(faces))
    if not distinct:
        return set()
    rows = SAME_BYTES.rows(using=router.db_for_read(Image), faces=distinct)
    return {image_id for (image_id,) in rows}


# --- the re-scoring flag --------------------------------------------------------------------


def rescore_waits_queryset(*, project_id: int) -> QuerySet[Project]:
    """Whether a re-scoring is queued (the flag is set)."""
    return Project.objects.filter(pk=project_id, rescore_pending=True)


def rescore_waits_query(*, project_id: int) -> sql.Query:
    """The statement ``rescore_waits_queryset(…).exists()`` sends: one row or none."""
    return rescore_waits_queryset(project_id=project_id).query.exists()


RESCORE_WAITS = PreparedRead(
    build=rescore_waits_query,
    values=lambda _connection, *, project_id: {"project": project_id},
    shape=_no_shape,
)


def rescore_waits(*, project_id: int) -> bool:
    return bool(RESCORE_WAITS.rows(using=router.db_for_read(Project), project_id=project_id))
