"""The pending edits moved from commons to depicts (issue #11) without losing a row.

A database is taken back to where commons still held the models, given an edit, a switch, a
throttle and an admin log entry there, and migrated forward again, as a deployed database
will be. Transactional: migrations change the schema, which a test transaction cannot hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps.registry import Apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from depicts.models import DepictsEdit, WriteSwitch, WriteThrottle

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_THE_MOVE = [("commons", "0002_writer"), ("depicts", None)]


def migrate(targets: list[tuple[str, str | None]]) -> Apps:
    """Migrate the test database to ``targets``; the models as they were there."""
    return MigrationExecutor(connection).migrate(targets).apps


def latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def before_the_move() -> Iterator[Apps]:
    try:
        yield migrate(BEFORE_THE_MOVE)
    finally:
        migrate(latest())  # whatever happened, the next tests find the schema they expect
        ContentType.objects.clear_cache()


def an_edit_in_commons(apps: Apps) -> dict[str, int]:
    user = apps.get_model("auth", "User").objects.create(username="sender")
    project = apps.get_model("projects", "Project").objects.create(
        owner=user, qid="Q76", category="Barack Obama"
    )
    image = apps.get_model("faces", "Image").objects.create(
        pageid=4242, title="File:Obama 1.jpg", sha1="a" * 40, width=800, height=600
    )
    edit = apps.get_model("commons", "DepictsEdit").objects.create(
        project=project,
        image=image,
        qid="Q76",
        statement_id="M4242$8a3b2f0e-0000-4000-8000-000000000001",
        state="sent",
        approved_by=user,
        sent_by=user,
        revision=987654,
    )
    apps.get_model("commons", "WriteSwitch").objects.create(pk=1, writes_enabled=False)
    apps.get_model("commons", "WriteThrottle").objects.create(user=user, version=7)
    content_type = apps.get_model("contenttypes", "ContentType").objects.get(
        app_label="commons", model="depictsedit"
    )
    apps.get_model("admin", "LogEntry").objects.create(
        user=user,
        content_type=content_type,
        object_id=str(edit.pk),
        object_repr="edit",
        action_flag=2,
    )
    return {"edit": edit.pk, "user": user.pk, "content_type": content_type.pk}


def test_an_edit_made_before_the_move_is_found_in_depicts_after_it(before_the_move):
    made = an_edit_in_commons(before_the_move)

    migrate(latest())

    edit = DepictsEdit.objects.get(pk=made["edit"])
    assert (edit.qid, edit.state, edit.revision) == ("Q76", DepictsEdit.State.SENT, 987654)
    assert edit.statement_id == "M4242$8a3b2f0e-0000-4000-8000-000000000001"
    assert edit.approved_by_id == edit.sent_by_id == made["user"]
    assert not WriteSwitch.writes_allowed()
    assert WriteThrottle.objects.get(user_id=made["user"]).version == 7
    assert DepictsEdit._meta.db_table == "depicts_depictsedit"
    assert "depicts_depictsedit" in connection.introspection.table_names()
    assert "commons_depictsedit" not in connection.introspection.table_names()


def test_permissions_and_admin_history_follow_the_models(before_the_move):
    made = an_edit_in_commons(before_the_move)

    migrate(latest())
    ContentType.objects.clear_cache()

    content_type = ContentType.objects.get_for_model(DepictsEdit)
    assert content_type.pk == made["content_type"]
    assert content_type.app_label == "depicts"
    assert not ContentType.objects.filter(app_label="commons", model="depictsedit").exists()
    assert content_type.logentry_set.get().object_id == str(made["edit"])
    assert content_type.permission_set.filter(codename="change_depictsedit").exists()
