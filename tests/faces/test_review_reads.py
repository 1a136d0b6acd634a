"""The round's other reads are sent as SQL compiled once per process (``core.prepared``,
``faces.review_reads``, ``projects.access``): each sends what the ORM builds for the same
inputs, and gives the same rows or the same model instances (with their related ones), on
the backend the tests run on (SQLite, and MariaDB with DATABASE_URL)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks.commands import seedproject
from commons.oauth import ACTIVE_USER, MediaWikiOAuth, active_user_queryset
from core.prepared import PreparedRead
from faces import review_reads
from faces.models import Face, Image, Label, ReviewLease
from faces.review_order import padded
from faces.selectors import next_face, question_for
from faces.services import answer_writes
from projects.access import PROJECT, project_queryset, project_with_owner
from projects.models import Project
from tests.factories import LabelFactory, UserFactory
from wikivisage.sessions import SESSION, SessionStore, session_queryset

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 7, 6, 30, 15, 123456, tzinfo=UTC)


def orm_sql(queryset: QuerySet[Any, Any]) -> tuple[str, list[Any]]:
    sql, params = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
    return sql, list(params)


CASES: list[tuple[PreparedRead, Any, list[dict[str, Any]]]] = [
    (
        review_reads.PROJECT_FACE,
        review_reads.project_face_queryset,
        [{"face_id": 3, "project_id": 1}, {"face_id": 70, "project_id": 9}],
    ),
    (review_reads.FACE, review_reads.face_queryset, [{"face_id": 3}, {"face_id": 12}]),
    (review_reads.PHOTO_FACES, review_reads.photo_faces_queryset, [{"image_id": 4}]),
    (
        review_reads.LABELS,
        review_reads.labels_queryset,
        [{"project_id": 1, "faces": (4,)}, {"project_id": 2, "faces": (4, 9, 16)}],
    ),
    (
        review_reads.LEASES,
        review_reads.leases_queryset,
        [
            {"project_id": 1, "user_id": 2, "now": NOW, "count": 1},
            {"project_id": 5, "user_id": 8, "now": NOW + timedelta(hours=1), "count": 3},
        ],
    ),
    (review_reads.SAME_BYTES, review_reads.same_bytes_queryset, [{"faces": (3, 5)}]),
    (PROJECT, project_queryset, [{"pk": 1}, {"pk": 44}]),
    (ACTIVE_USER, active_user_queryset, [{"pk": 1}, {"pk": 7}]),
    (
        SESSION,
        session_queryset,
        [{"session_key": "abc", "now": NOW}, {"session_key": "x" * 32, "now": NOW}],
    ),
]


@pytest.mark.parametrize(("read", "build", "inputs"), CASES)
def test_the_sql_is_what_the_orm_builds(read: PreparedRead, build: Any, inputs: list) -> None:
    for given in inputs:
        assert read.sql(using=DEFAULT_DB_ALIAS, **given) == orm_sql(build(**given))


def seed(faces: int) -> Project:
    out = StringIO()
    call_command(seedproject.Command(), faces=faces, owner="bench", stdout=out, stderr=StringIO())
    return Project.objects.get(pk=int(out.getvalue()))


def same_object(one: Model, other: Model) -> None:
    """Same class, same loaded fields with the same values, same deferred fields."""
    assert type(one) is type(other)
    assert one.get_deferred_fields() == other.get_deferred_fields()
    loaded = [f.attname for f in one._meta.concrete_fields if f.attname in one.__dict__]
    assert {n: getattr(one, n) for n in loaded} == {n: getattr(other, n) for n in loaded}
    assert one._state.db == other._state.db
    assert one._state.adding is other._state.adding is False


def test_the_face_read_gives_the_orms_face_and_image() -> None:
    project = seed(20)
    other = seed(5)
    face = Face.objects.current().of_project(project).order_by("pk").last()
    assert face is not None
    mine = review_reads.project_face(face_id=face.pk, project_id=project.pk)
    orm = review_reads.project_face_queryset(face_id=face.pk, project_id=project.pk).first()
    assert mine is not None and orm is not None
    same_object(mine, orm)
    assert Face.image.is_cached(mine)  # read with the face (select_related): no query
    same_object(mine.image, orm.image)
    assert "encoding" in mine.get_deferred_fields()
    assert review_reads.project_face(face_id=face.pk, project_id=other.pk) is None
    same_object(review_reads.face_with_image(face_id=face.pk), orm)
    with pytest.raises(Face.DoesNotExist):
        review_reads.face_with_image(face_id=10**12)


def test_the_project_read_gives_the_orms_project_and_owner() -> None:
    project = seed(5)
    Project.objects.filter(pk=project.pk).update(rescore_pending=True)  # a boolean converted
    mine = project_with_owner(project.pk)
    orm = Project.objects.select_related("owner").get(pk=project.pk)
    same_object(mine, orm)
    assert Project.owner.is_cached(mine)
    same_object(mine.owner, orm.owner)
    assert mine.rescore_pending is True
    assert isinstance(mine.created_at, datetime) and mine.created_at.tzinfo is not None
    with pytest.raises(Http404):
        project_with_owner(10**12)


def test_the_question_rows_are_the_orms() -> None:
    project = seed(40)
    image = Image.objects.filter(project_links__project=project).order_by("pk").first()
    assert image is not None
    faces = list(Face.objects.filter(image=image).values_list("pk", flat=True))
    LabelFactory(project=project, face_id=faces[0], verdict=Label.Verdict.YES)
    assert review_reads.photo_faces(image_id=image.pk) == list(
        Face.objects.current()
        .filter(image_id=image.pk)
        .order_by("index", "pk")
        .values(*review_reads.BOX_FIELDS, "project_id")
    )
    asked = [*faces, faces[0]]
    rows = review_reads.labels_of(project_id=project.pk, faces=asked)
    assert sorted(rows) == sorted(review_reads.labels_queryset(project_id=project.pk, faces=asked))
    assert review_reads.labels_of(project_id=project.pk, faces=[]) == []


def test_the_lease_twin_and_flag_rows_are_the_orms() -> None:
    project = seed(20)
    reviewer: Any = UserFactory()
    faces = list(Face.objects.current().of_project(project).order_by("pk")[:3])
    now = timezone.now()
    for face, minutes in zip(faces, (5, -5, 10), strict=True):
        ReviewLease.objects.create(
            project=project, face=face, user=reviewer, expires_at=now + timedelta(minutes=minutes)
        )
    for count in (1, 3):
        inputs = {"project_id": project.pk, "user_id": reviewer.pk, "now": now, "count": count}
        held = review_reads.leases_held(**inputs)
        assert held == list(review_reads.leases_queryset(**inputs))
    assert set(review_reads.leases_held(**inputs)) == {faces[0].pk, faces[2].pk}
    twin = Image.objects.filter(project_links__project=project).exclude(pk=faces[0].image_id)[0]
    Image.objects.filter(pk=twin.pk).update(sha1=faces[0].image.sha1)
    ids = [faces[0].pk, faces[1].pk]
    assert review_reads.same_bytes(faces=ids) == set(review_reads.same_bytes_queryset(faces=ids))
    assert twin.pk in review_reads.same_bytes(faces=ids)
    Project.objects.filter(pk=project.pk).update(rescore_pending=False)
    flag = review_reads.rescore_waits_queryset(project_id=project.pk)
    assert captured_sql(lambda: review_reads.rescore_waits(project_id=project.pk)) == (
        captured_sql(flag.exists)
    )
    assert review_reads.rescore_waits(project_id=project.pk) is False
    Project.objects.filter(pk=project.pk).update(rescore_pending=True)
    assert review_reads.rescore_waits(project_id=project.pk) is True


def test_the_session_and_user_reads_give_what_django_and_social_django_give() -> None:
    user: Any = UserFactory()
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store.create()
    key = store.session_key
    assert SessionStore(key).load() == {"_auth_user_id": str(user.pk)}
    for missing in ("no-such-key-000000000000", key):
        if missing == key:  # expired: as good as missing
            type(store).get_model_class().objects.filter(session_key=key).update(
                expire_date=timezone.now() - timedelta(seconds=1)
            )
        gone = SessionStore(missing)
        assert gone.load() == {}
        assert gone.session_key is None
    backend = MediaWikiOAuth()
    found = backend.get_user(user.pk)
    assert found is not None
    same_object(found, type(user).objects.get(pk=user.pk))
    type(user).objects.filter(pk=user.pk).update(is_active=False)
    assert backend.get_user(user.pk) is None
    assert backend.get_user(10**12) is None


def test_a_question_as_a_dict_is_what_asdict_gives() -> None:
    project = seed(20)
    face = Face.objects.current().of_project(project).order_by("pk").first()
    assert face is not None
    LabelFactory(project=project, face=face, verdict=Label.Verdict.NO)
    question = question_for(project=project, face=face)
    assert question.faces
    assert question.as_dict() == asdict(question)
    assert list(question.as_dict()) == list(asdict(question))


def test_the_lease_read_compiles_one_statement_for_a_growing_exclude_list() -> None:
    """The reviewer's skips join the list one by one: the LIMIT is rounded up."""
    project = seed(5)
    before = len(review_reads.LEASES._statements)
    for size in range(7):
        next_face(project=project, user=project.owner, exclude=list(range(-size, 0)))
    assert len(review_reads.LEASES._statements) - before <= 1


def captured_sql(run: Any) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        run()
    return [query["sql"] for query in captured]


def test_the_answers_writes_are_what_the_orm_sends() -> None:
    """The UPDATE and DELETE after an answer: the same statements as ``update()`` and
    ``delete()`` send for the same (padded) ids, changing the same rows."""
    project = seed(20)
    reviewer: Any = UserFactory()
    faces = list(Face.objects.current().of_project(project).order_by("pk")[:3])
    expires = timezone.now() + timedelta(minutes=5)
    for face in faces:
        ReviewLease.objects.create(project=project, face=face, user=reviewer, expires_at=expires)
    ids = padded([faces[0].pk, faces[1].pk, faces[0].pk])
    labels = Label.objects.filter(project=project, face_id__in=ids, source=Label.Source.MODEL)
    leases = ReviewLease.objects.filter(project=project, face_id__in=ids, user_id=reviewer.pk)
    with transaction.atomic():
        orm = captured_sql(lambda: labels.update(priority=None))
        orm += captured_sql(leases.delete)
        transaction.set_rollback(True)
    with transaction.atomic():
        mine = captured_sql(lambda: answer_writes.order_leave(project_id=project.pk, faces=ids))
        mine += captured_sql(
            lambda: answer_writes.leases_free(project_id=project.pk, user_id=reviewer.pk, faces=ids)
        )
    assert mine == orm
    model = Label.objects.filter(project=project, source=Label.Source.MODEL)
    assert set(model.filter(priority__isnull=True).values_list("face_id", flat=True)) >= {
        faces[0].pk,
        faces[1].pk,
    }
    assert model.get(face=faces[2]).priority is not None
    left = ReviewLease.objects.filter(project=project)
    assert list(left.values_list("face_id", flat=True)) == [faces[2].pk]


def test_a_receiver_of_deletes_makes_the_leases_go_the_orms_way() -> None:
    project = seed(5)
    reviewer: Any = UserFactory()
    face = Face.objects.current().of_project(project).order_by("pk").first()
    assert face is not None
    expires = timezone.now() + timedelta(minutes=5)
    ReviewLease.objects.create(project=project, face=face, user=reviewer, expires_at=expires)
    deleted: list[int] = []

    def heard(sender: Any, instance: ReviewLease, **_kwargs: Any) -> None:
        deleted.append(instance.face_id)

    post_delete.connect(heard, sender=ReviewLease)
    try:
        answer_writes.leases_free(project_id=project.pk, user_id=reviewer.pk, faces=[face.pk])
    finally:
        post_delete.disconnect(heard, sender=ReviewLease)
    assert deleted == [face.pk]
    assert not ReviewLease.objects.filter(project=project).exists()
