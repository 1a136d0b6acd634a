"""Moderation that holds: a moderator's pause, archive and stop of writes stay until a
moderator lifts them, whatever the owner does; a deactivated user's edits are not written; the
audit trail of edits is append-only in the admin. Sends run the real client against the
stand-in, which counts what was written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps.registry import Apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from depicts import policy
from depicts.models import DepictsEdit
from depicts.services import cancel, sending, undo
from projects.models import Project
from tests.depicts.writing import FRESH, approve, depicts, queue, send_all
from tests.factories import AnswerFactory, DepictsEditFactory

State = DepictsEdit.State


def run_action(client, model: str, action: str, pks: list[int]):
    return client.post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def moderate(client, action: str, project: Project) -> Project:
    run_action(client, "projects_project", action, [project.pk])
    project.refresh_from_db()
    return project


def owner_saves_settings(client, project: Project, **changes: str) -> None:
    form = {
        "state": "active",
        "crawl_depth": project.crawl_depth,
        "distance_threshold": project.distance_threshold,
        "min_answers": project.min_answers,
        "description": project.description,
        "write_face_region": "on",
        "writes_enabled": "on",
        # What a crafted form would try: the moderator's fields are not the form's.
        "moderation": "none",
        "moderator_writes_stopped": "",
        **changes,
    }
    client.post(reverse("projects:settings", args=[project.pk]), form)
    project.refresh_from_db()


# --- 1. a moderator's decision holds -------------------------------------------------------


@pytest.mark.django_db
def test_the_owner_cannot_switch_writes_back_on_after_a_moderator_stopped_them(
    client_of, commons, moderator, owner, project, sender
):
    edits = approve(commons, project, sender, FRESH[:1])
    moderate(client_of(moderator), "stop_writes", project)
    owner_saves_settings(client_of(owner), project)
    ids = queue(project, sender, edits)
    assert send_all(ids) == {ids[0]: State.QUEUED}
    assert commons.writes == []
    assert (project.writes_enabled, project.moderator_writes_stopped) == (True, True)
    assert project.moderated_by == moderator and project.moderated_at is not None


@pytest.mark.django_db
def test_the_owner_cannot_undo_a_moderators_pause(client_of, moderator, owner, project):
    moderate(client_of(moderator), "pause", project)
    owner_saves_settings(client_of(owner), project, state="active")
    assert not project.accepts_answers
    assert project.moderation == Project.Moderation.PAUSED
    assert not Project.objects.active().filter(pk=project.pk).exists()
    page = client_of(owner).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert "A moderator paused this project" in page


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pause", "archive"])
def test_a_moderators_pause_or_archive_stops_the_projects_sends(
    client_of, commons, moderator, project, sender, action
):
    edits = approve(commons, project, sender, FRESH[:1])
    ids = queue(project, sender, edits)
    moderate(client_of(moderator), action, project)
    assert not policy.writes_allowed(project_id=project.pk)
    assert send_all(ids) == {ids[0]: State.QUEUED}
    assert commons.writes == []


@pytest.mark.django_db
def test_the_owners_own_switches_still_hold_after_a_moderator_lifts_a_pause(
    client_of, moderator, owner, project
):
    moderate(client_of(moderator), "pause", project)
    owner_saves_settings(client_of(owner), project, state="paused", writes_enabled="")
    moderate(client_of(moderator), "lift_moderation", project)
    assert project.moderation == Project.Moderation.NONE
    assert (project.state, project.accepts_answers) == (Project.State.PAUSED, False)
    assert not policy.writes_allowed(project_id=project.pk)


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["pause", "stop_writes"])
def test_a_send_already_under_way_stops_before_its_write_when_a_moderator_acts(
    commons, project, sender, moderator, monkeypatch, action
):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    real_depicts = sending._depicts_of_existing
    changes = {
        "pause": {"moderation": Project.Moderation.PAUSED},
        "stop_writes": {"moderator_writes_stopped": True},
    }[action]

    def depicts_then_moderate(client, pageid):
        statements = real_depicts(client, pageid)
        Project.objects.filter(pk=project.pk).moderate(by=moderator, **changes)
        return statements

    monkeypatch.setattr(sending, "_depicts_of_existing", depicts_then_moderate)
    assert send_all([edit.pk]) == {edit.pk: State.QUEUED}
    edit.refresh_from_db()
    assert edit.error == "writes stopped" and commons.writes == []


# --- 2. a deactivated user's edits ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["sender", "approver"])
def test_a_send_whose_user_is_deactivated_under_way_is_never_written(
    commons, project, sender, member, monkeypatch, who
):
    (edit,) = approve(commons, project, member, FRESH[:1])  # approved by the member
    queue(project, sender, [edit])
    deactivated = {"sender": sender, "approver": member}[who]
    real_depicts = sending._depicts_of_existing

    def depicts_then_deactivate(client, pageid):
        statements = real_depicts(client, pageid)
        cancel.users_deactivate(users=type(deactivated).objects.filter(pk=deactivated.pk))
        return statements

    monkeypatch.setattr(sending, "_depicts_of_existing", depicts_then_deactivate)
    assert send_all([edit.pk]) == {edit.pk: State.CANCELLED}
    edit.refresh_from_db()
    assert "deactivated" in edit.error
    assert commons.writes == [] and depicts(commons, FRESH[0]) == []


def sent_and_undo_queued(commons, project, sender) -> DepictsEdit:
    (edit,) = approve(commons, project, sender, FRESH[:1])
    send_all(queue(project, sender, [edit]))
    edit.refresh_from_db()
    undo.batch_revert(project=project, batch=edit.batch, user=sender)
    edit.refresh_from_db()
    assert edit.state == State.REVERT_QUEUED
    return edit


@pytest.mark.django_db
def test_an_undo_cancelled_by_a_moderator_leaves_the_edit_sent(
    client_of, commons, moderator, project, sender
):
    edit = sent_and_undo_queued(commons, project, sender)
    run_action(client_of(moderator), "depicts_depictsedit", "cancel", [edit.pk])
    edit.refresh_from_db()
    assert (edit.state, edit.reverted_by) == (State.SENT, None)
    assert depicts(commons, FRESH[0]) == ["Q76"]
    assert send_all([edit.pk], step=undo.edit_revert) == {edit.pk: State.SENT}
    assert depicts(commons, FRESH[0]) == ["Q76"]


@pytest.mark.django_db
def test_an_undo_cancelled_by_deactivating_who_asked_leaves_the_edit_sent(
    client_of, commons, moderator, project, sender, member
):
    edit = sent_and_undo_queued(commons, project, sender)
    run_action(client_of(moderator), "auth_user", "deactivate", [sender.pk])
    edit.refresh_from_db()
    assert edit.state == State.SENT
    assert depicts(commons, FRESH[0]) == ["Q76"]


# --- 3. the audit trail is append-only -----------------------------------------------------


@pytest.mark.django_db
def test_nobody_deletes_an_edit_from_the_admin(client_of, moderator):
    edit = DepictsEditFactory(state=State.SENT)
    client = client_of(moderator)
    run_action(client, "depicts_depictsedit", "delete_selected", [edit.pk])
    delete_page = reverse("admin:depicts_depictsedit_delete", args=[edit.pk])
    assert client.post(delete_page, {"post": "yes"}).status_code == 403
    change_page = reverse("admin:depicts_depictsedit_change", args=[edit.pk])
    assert client.post(change_page, {"state": "cancelled"}).status_code == 403
    edit.refresh_from_db()
    assert edit.state == State.SENT


@pytest.mark.django_db
def test_nobody_edits_or_deletes_an_answer_from_the_admin(client_of, moderator):
    answer = AnswerFactory(verdict="yes")
    client = client_of(moderator)
    delete_page = reverse("admin:faces_answer_delete", args=[answer.pk])
    assert client.post(delete_page, {"post": "yes"}).status_code == 403
    change_page = reverse("admin:faces_answer_change", args=[answer.pk])
    assert client.post(change_page, {"verdict": "no"}).status_code == 403
    answer.refresh_from_db()
    assert answer.verdict == "yes"


# --- the data migration --------------------------------------------------------------------


def migrate(targets: list[tuple[str, str | None]]) -> Apps:
    return MigrationExecutor(connection).migrate(targets).apps


@pytest.fixture
def before_moderation() -> Iterator[Apps]:
    try:
        yield migrate([("projects", "0004_project_limits")])
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        ContentType.objects.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_a_project_archived_by_a_moderator_stays_archived_after_the_migration(
    before_moderation,
):
    apps = before_moderation
    user = apps.get_model("auth", "User").objects.create(username="owner")
    old = apps.get_model("projects", "Project")
    archived = old.objects.create(owner=user, qid="Q76", category="A", state="archived")
    active = old.objects.create(owner=user, qid="Q76", category="B", state="active")
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    moved = Project.objects.get(pk=archived.pk)
    assert (moved.moderation, moved.state) == (Project.Moderation.ARCHIVED, Project.State.PAUSED)
    assert not moved.accepts_answers
    kept = Project.objects.get(pk=active.pk)
    assert (kept.moderation, kept.state) == (Project.Moderation.NONE, Project.State.ACTIVE)
