"""Moderation through the Django admin."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from depicts.models import DepictsEdit
from projects.models import Project
from tests.factories import DepictsEditFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "projects/project",
    "projects/membership",
    "auth/user",
    "faces/image",
    "faces/face",
    "faces/label",
    "faces/answer",
    "faces/projectimage",
    "depicts/depictsedit",
    "depicts/writeswitch",
    "projects/withholding",
    "health/queuehealth",
    "health/heartbeat",
    "projects/listedfile",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_has_an_admin_list_and_add_page(client_of, moderator, model):
    client = client_of(moderator)
    app, name = model.split("/")
    assert client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200


def test_project_admin_shows_description_translation_tabs(client_of, moderator, project):
    response = client_of(moderator).get(reverse("admin:projects_project_change", args=[project.pk]))
    body = response.content.decode()
    for language in ("en", "nb", "es", "fr"):
        assert f'name="description_{language}"' in body


def run_action(client, model: str, action: str, pks: list[int]):
    return client.post(
        reverse(f"admin:{model}_changelist"),
        {"action": action, "_selected_action": [str(pk) for pk in pks]},
        follow=True,
    )


def test_the_admin_loads_every_script_and_style_from_this_site(
    client, client_of, moderator, project
):
    """The translation tabs' jQuery UI came from a Google CDN: blocked offline and by the CSP."""
    page = client_of(moderator).get(reverse("admin:projects_project_change", args=[project.pk]))
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page.content.decode())
    assert "/static/vendor/jquery-ui/jquery-ui.min.js" in assets
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), f"{asset}: not from here"
        assert client_of(moderator).get(asset).status_code == 200, asset


def test_moderator_pauses_and_archives_projects(client_of, moderator):
    first, second = ProjectFactory(), ProjectFactory()
    client = client_of(moderator)
    run_action(client, "projects_project", "pause", [first.pk])
    run_action(client, "projects_project", "archive", [second.pk])
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.moderation) == (Project.State.ACTIVE, Project.Moderation.PAUSED)
    assert second.moderation == Project.Moderation.ARCHIVED
    assert (second.moderated_by, first.moderated_by) == (moderator, moderator)


def test_moderator_stops_writes_of_a_project(client_of, moderator, project):
    run_action(client_of(moderator), "projects_project", "stop_writes", [project.pk])
    project.refresh_from_db()
    assert (project.moderator_writes_stopped, project.writes_enabled) == (True, True)


def test_deactivating_a_user_cancels_their_unsent_edits(client_of, moderator):
    user = UserFactory()
    queued = DepictsEditFactory(approved_by=user, state=DepictsEdit.State.QUEUED)
    sent = DepictsEditFactory(approved_by=user, state=DepictsEdit.State.SENT)
    other = DepictsEditFactory(state=DepictsEdit.State.QUEUED)
    run_action(client_of(moderator), "auth_user", "deactivate", [user.pk])
    user.refresh_from_db()
    states = {e.pk: e.state for e in DepictsEdit.objects.all()}
    assert user.is_active is False
    assert states == {
        queued.pk: DepictsEdit.State.CANCELLED,
        sent.pk: DepictsEdit.State.SENT,
        other.pk: DepictsEdit.State.QUEUED,
    }


def test_non_staff_user_cannot_reach_the_admin(client_of, owner):
    response = client_of(owner).get(reverse("admin:projects_project_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_project_list_shows_crawl_and_detection_progress(client_of, moderator, project):
    from faces.models import Image
    from tests.factories import FaceFactory, ImageFactory, ProjectImageFactory

    done = ImageFactory(state=Image.State.DONE)
    ProjectImageFactory(project=project, image=done)
    FaceFactory(image=done, index=0)
    FaceFactory(image=done, index=1)
    ProjectImageFactory(project=project, image=ImageFactory(state=Image.State.ERROR))
    ProjectImageFactory(project=project, image=ImageFactory())
    response = client_of(moderator).get(reverse("admin:projects_project_changelist"))
    row = response.context["cl"].result_list.get(pk=project.pk)
    assert (row.images_total, row.images_done, row.images_failed, row.faces_total) == (3, 2, 1, 2)


def test_moderator_resumes_writes_and_waiting_edits_are_queued_again(
    client_of, moderator, project, django_capture_on_commit_callbacks, queued
):
    project.moderator_writes_stopped = True
    project.save()
    waiting = DepictsEditFactory(project=project, state=DepictsEdit.State.QUEUED)
    with django_capture_on_commit_callbacks() as callbacks:
        run_action(client_of(moderator), "projects_project", "resume_writes", [project.pk])
    project.refresh_from_db()
    assert project.moderator_writes_stopped is False
    for callback in callbacks:
        callback()
    assert [(q.task, q.args) for q in queued] == [("depicts.write.edit", (waiting.pk,))]


def test_moderators_find_the_lines_of_a_list_that_gave_no_image(client_of, moderator, owner):
    from projects.models import ListedFile

    project = ProjectFactory(owner=owner, scope="files", category=None, listed_count=2)
    ListedFile.objects.create(project=project, position=1, line="Kept.jpg", state="found")
    ListedFile.objects.create(project=project, position=2, line="Gone_away.jpg", state="missing")
    listing = reverse("admin:projects_listedfile_changelist")
    assert "?state__exact=missing" in client_of(moderator).get(listing).content.decode()
    response = client_of(moderator).get(listing, {"state__exact": "missing"})
    body = response.content.decode()
    assert "Gone_away.jpg" in body and "Kept.jpg" not in body
    change = reverse(
        "admin:projects_listedfile_change", args=[ListedFile.objects.get(line="Kept.jpg").pk]
    )
    assert 'name="state"' not in client_of(moderator).get(change).content.decode()  # read only
