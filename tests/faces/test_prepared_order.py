"""The learner's order is read through SQL compiled once per process (``core.prepared``):
the statement and parameters it sends must be what the ORM builds for the same inputs, on
the backend the tests run on (SQLite, and MariaDB with DATABASE_URL), and so must its rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.test import override_settings
from django.utils import timezone

from benchmarks.commands import seedproject
from core.prepared import PreparedRead, Values
from faces.models import Answer, Face, Image, Label, ReviewLease
from faces.review_order import (
    ANSWERED,
    ORDER,
    SKIPS,
    answered_among,
    answered_queryset,
    order_candidates,
    order_queryset,
    padded,
    skipped_since,
    skips_queryset,
)
from projects.models import Project
from tests.factories import AnswerFactory, LabelFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=UTC)


def orm_sql(queryset: QuerySet[Any, Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
    return sql, list(params)


@pytest.mark.parametrize("skipped", [(), (7,), (7, 3, 11, 42)])
@pytest.mark.parametrize(
    "uploads",
    [
        {},
        {"WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS": 0},
        {"WIKIVISAGE_PROCESS_NEW_UPLOADS": False},
        {"WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS": 5},
    ],
)
def test_order_sql_is_what_the_orm_builds(skipped: tuple[int, ...], uploads: dict) -> None:
    with override_settings(**uploads):
        for project_id, user_id, now in ((1, 2, NOW), (31, 9, NOW + timedelta(hours=3))):
            inputs = {"project_id": project_id, "user_id": user_id, "now": now, "skipped": skipped}
            prepared = ORDER.sql(using=DEFAULT_DB_ALIAS, **inputs)
            assert prepared == orm_sql(order_queryset(**inputs))


@pytest.mark.parametrize("faces", [(5,), (5, 8, 13, 21, 34, 55, 89, 144)])
def test_answered_sql_is_what_the_orm_builds(faces: tuple[int, ...]) -> None:
    for project_id in (1, 77):
        prepared = ANSWERED.sql(using=DEFAULT_DB_ALIAS, project_id=project_id, faces=faces)
        assert prepared == orm_sql(answered_queryset(project_id=project_id, faces=faces))


def test_skips_sql_is_what_the_orm_builds() -> None:
    for project_id, user_id, since in ((1, 2, NOW), (8, 40, NOW - timedelta(days=1))):
        inputs = {"project_id": project_id, "user_id": user_id, "since": since}
        assert SKIPS.sql(using=DEFAULT_DB_ALIAS, **inputs) == orm_sql(skips_queryset(**inputs))


def seed(faces: int) -> Project:
    out = StringIO()
    call_command(seedproject.Command(), faces=faces, owner="bench", stdout=out, stderr=StringIO())
    return Project.objects.get(pk=int(out.getvalue()))


def top_faces(project: Project, count: int) -> list[int]:
    labels = Label.objects.filter(project=project, source=Label.Source.MODEL)
    return list(labels.order_by("-priority", "-id").values_list("face_id", flat=True)[:count])


def test_order_rows_are_the_orms_rows() -> None:
    """Every way a face leaves the order (skipped twice over, held by another reviewer,
    uploaded too recently, replaced) reads the same rows through both."""
    project = seed(60)
    reviewer, other = UserFactory(), UserFactory()
    first, second, third, fourth, fifth = top_faces(project, 5)
    expires = timezone.now() + timedelta(minutes=5)
    ReviewLease.objects.create(project=project, face_id=second, user=other, expires_at=expires)
    ReviewLease.objects.create(project=project, face_id=third, user=reviewer, expires_at=expires)
    Image.objects.filter(faces__pk=fourth).update(uploaded_at=timezone.now())
    Face.objects.filter(pk=fifth).update(superseded_by_id=first)
    now = timezone.now()
    skipped = [first, 999_999, first]
    inputs = {"project_id": project.pk, "user_id": reviewer.pk, "now": now, "skipped": skipped}
    rows = order_candidates(**inputs)
    assert rows == list(order_queryset(**inputs))
    assert third in rows
    assert not {first, second, fourth, fifth} & set(rows)


def test_answered_rows_are_the_orms_rows() -> None:
    project = seed(20)
    faces = top_faces(project, 6)
    LabelFactory(project=project, face_id=faces[2], verdict=Label.Verdict.NO)
    asked = [*faces, faces[0]]
    assert answered_among(project_id=project.pk, faces=asked) == {faces[2]}
    assert answered_among(project_id=project.pk, faces=asked) == set(
        answered_queryset(project_id=project.pk, faces=asked)
    )
    assert answered_among(project_id=project.pk, faces=[]) == set()


def test_a_read_whose_inputs_are_not_all_bound_is_refused() -> None:
    """An input left out of values() would be sent as the made-up constant: refused."""

    def forgets_the_user(_connection: Any, *, project_id: int, user_id: int) -> Values:
        return {"project": project_id}

    def build(*, project_id: int, user_id: int) -> QuerySet[Any, Any]:
        labels = Label.objects.filter(project_id=project_id).exclude(face__image__pk=user_id)
        return labels.values_list("face_id", flat=True)

    read = PreparedRead(build=build, values=forgets_the_user, shape=lambda **_inputs: ())
    with pytest.raises(ValueError, match="does not name it"):
        read.sql(using=DEFAULT_DB_ALIAS, project_id=1, user_id=2)


def test_growing_skips_share_a_few_statements() -> None:
    """Each length of the skipped list is a statement to compile: a reviewer skipping one
    face after another must not make a new one on every round."""
    lists = [padded([*range(1, n + 1), 1]) for n in range(1, 41)]
    assert {len(faces) for faces in lists} == {8, 16, 32, 64}
    for n, faces in enumerate(lists, start=1):
        assert faces[:n] == tuple(range(1, n + 1))
        assert len(set(faces)) == len(faces)
        assert all(face_id < 0 for face_id in faces[n:])


def test_skips_rows_are_the_orms_rows() -> None:
    project = seed(20)
    reviewer = UserFactory()
    faces = top_faces(project, 4)
    for face_id in faces:
        AnswerFactory(project=project, face_id=face_id, user=reviewer, verdict=Label.Verdict.SKIP)
    Answer.objects.filter(face_id=faces[1]).update(undone_at=timezone.now())
    Answer.objects.filter(face_id=faces[2]).update(created_at=timezone.now() - timedelta(days=3))
    since = timezone.now() - timedelta(days=1)
    inputs = {"project_id": project.pk, "user_id": reviewer.pk, "since": since}
    rows = skipped_since(**inputs)
    assert sorted(rows) == sorted([faces[0], faces[3]])
    assert rows == list(skips_queryset(**inputs))
