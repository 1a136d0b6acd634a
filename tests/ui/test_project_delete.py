"""The owner archives (and restores) or deletes their own project, through the pages.

Only the owner: reviewers, outsiders and moderators (who act in the admin) get 403. A
moderator's hold stays whatever the owner does. Deleting asks for the project's Q-id, removes
the project's own rows and never touches Commons, nor the photos and faces other projects
share; a project whose edits went to Commons keeps its record (archive it instead).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from depicts.models import DepictsEdit
from depicts.policy import writes_allowed
from faces.models import Answer, Face, Image, Label, ProjectImage
from projects.models import Membership, Project
from tests.factories import (
    AnswerFactory,
    DepictsEditFactory,
    LabelFactory,
    ProjectFactory,
    ProjectImageFactory,
)
from tests.ui.conftest import photos_of

pytestmark = pytest.mark.django_db


def url(name: str, project: Project) -> str:
    return reverse(f"projects:{name}", args=[project.pk])


def reload(project: Project) -> Project:
    project.refresh_from_db()
    return project


@pytest.fixture
def worked_on(project, member):
    """A project with photos, answers, labels and an approved edit not sent yet."""
    faces = photos_of(project, 3)
    for face in faces:
        AnswerFactory(project=project, face=face, user=member)
        LabelFactory(project=project, face=face, user=member)
    DepictsEditFactory(project=project, image=faces[0].image, face=faces[0])
    return faces


# --- archive and restore ----------------------------------------------------------------


def test_the_owner_archives_and_restores_their_project(
    client_of, owner, project, queued, django_capture_on_commit_callbacks
):
    client = client_of(owner)
    response = client.post(url("archive", project))
    assert response.status_code == 302
    assert reload(project).state == Project.State.ARCHIVED
    assert not project.accepts_answers
    assert not writes_allowed(project_id=project.pk)  # queued edits wait, nothing leaves
    page = client.get(url("detail", project)).content.decode()
    assert url("restore", project) in page
    assert url("settings", project) not in page  # its state select would undo the archive

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url("restore", project)).status_code == 302
    assert reload(project).state == Project.State.ACTIVE
    assert not project.writes_enabled  # the owner turns them on again, knowingly
    # What changed in the category while it was archived is crawled now.
    assert [(job.task, job.args) for job in queued] == [("faces.crawl.project", (project.pk,))]
    assert url("archive", project) in client.get(url("detail", project)).content.decode()


def test_the_owner_cannot_restore_what_a_moderator_archived(client_of, owner, project):
    Project.objects.filter(pk=project.pk).update(
        state=Project.State.ARCHIVED, moderation=Project.Moderation.ARCHIVED
    )
    response = client_of(owner).post(url("restore", project), follow=True)
    assert "only a moderator can restore it" in response.content.decode()
    reload(project)
    assert (project.state, project.moderation) == ("archived", "archived")


def test_the_owners_archive_leaves_a_moderators_pause_alone(client_of, owner, project):
    Project.objects.filter(pk=project.pk).update(moderation=Project.Moderation.PAUSED)
    client = client_of(owner)
    client.post(url("archive", project))
    client.post(url("restore", project))
    reload(project)
    assert (project.state, project.moderation) == ("active", "paused")
    assert not project.accepts_answers


@pytest.mark.parametrize("name", ["archive", "restore"])
@pytest.mark.parametrize("persona", ["member", "outsider", "moderator"])
def test_only_the_owner_archives_or_restores(request, client_of, project, persona, name):
    Project.objects.filter(pk=project.pk).update(state=Project.State.ARCHIVED)
    state = reload(project).state
    client = client_of(request.getfixturevalue(persona))
    assert client.post(url(name, project)).status_code == 403
    assert reload(project).state == state


@pytest.mark.parametrize("name", ["archive", "restore", "delete"])
def test_the_owner_actions_of_a_missing_project_are_404(client_of, owner, name):
    response = client_of(owner).post(reverse(f"projects:{name}", args=[999999]))
    assert response.status_code == 404


@pytest.mark.parametrize("name", ["archive", "restore"])
def test_archive_and_restore_are_post_only(client_of, owner, project, name):
    assert client_of(owner).get(url(name, project)).status_code == 405


def test_only_the_owner_sees_the_archive_and_delete_buttons(client_of, owner, member, project):
    assert url("delete", project) in client_of(owner).get(url("detail", project)).content.decode()
    assert (
        url("delete", project) not in client_of(member).get(url("detail", project)).content.decode()
    )


# --- delete -----------------------------------------------------------------------------


def test_the_delete_page_asks_for_the_qid(client_of, owner, project):
    response = client_of(owner).get(url("delete", project))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="confirmation"' in page and "Type Q76 to confirm" in page
    assert Project.objects.filter(pk=project.pk).exists()  # the page itself changes nothing


@pytest.mark.parametrize("persona", ["member", "outsider", "moderator"])
def test_only_the_owner_may_delete(request, client_of, project, persona):
    client = client_of(request.getfixturevalue(persona))
    assert client.get(url("delete", project)).status_code == 403
    assert client.post(url("delete", project), {"confirmation": "Q76"}).status_code == 403
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("typed", ["", "Q42", "yes", "x" * 5000])
def test_a_wrong_confirmation_deletes_nothing(client_of, owner, project, typed):
    response = client_of(owner).post(url("delete", project), {"confirmation": typed})
    assert response.status_code == 400
    assert "Type the project" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()


def test_a_post_without_the_field_is_a_clear_refusal(client_of, owner, project):
    assert client_of(owner).post(url("delete", project)).status_code == 400
    assert Project.objects.filter(pk=project.pk).exists()


def test_deleting_removes_the_projects_own_rows_and_keeps_shared_faces(
    client_of, owner, project, member, worked_on, fake_commons
):
    other = ProjectFactory(owner=owner, qid="Q42")
    shared = worked_on[0]
    ProjectImageFactory(project=other, image=shared.image)
    LabelFactory(project=other, face=shared)
    images, faces = Image.objects.count(), Face.objects.count()

    response = client_of(owner).post(url("delete", project), {"confirmation": "q76 "})
    assert response.status_code == 302 and response.url == reverse("projects:dashboard")
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Answer.objects.filter(project_id=project.pk).exists()
    assert not Label.objects.filter(project_id=project.pk).exists()
    assert not Membership.objects.filter(project_id=project.pk).exists()
    assert not ProjectImage.objects.filter(project_id=project.pk).exists()
    assert not DepictsEdit.objects.filter(project_id=project.pk).exists()
    # Photos and faces stay; the other project's answers on the shared face too.
    assert (Image.objects.count(), Face.objects.count()) == (images, faces)
    assert Label.objects.filter(project=other, face=shared).exists()
    assert fake_commons.requests == []  # nothing was asked of, or written to, Commons


def test_the_project_number_confirms_too(client_of, owner, project):
    client_of(owner).post(url("delete", project), {"confirmation": str(project.pk)})
    assert not Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("state", ["queued", "sending", "sent", "failed", "reverted"])
def test_a_project_whose_edits_went_to_commons_keeps_its_record(
    client_of, owner, project, worked_on, state
):
    DepictsEditFactory(
        project=project, image=worked_on[1].image, state=state, queued_at=timezone.now()
    )
    response = client_of(owner).post(url("delete", project), {"confirmation": "Q76"})
    assert response.status_code == 400
    assert "Archive the project instead" in response.content.decode()
    assert DepictsEdit.objects.filter(project=project).count() == 2


@pytest.mark.parametrize(
    "hold",
    [{"moderation": "paused"}, {"moderation": "archived"}, {"moderator_writes_stopped": True}],
)
def test_a_project_a_moderator_holds_cannot_be_deleted_by_its_owner(
    client_of, owner, project, hold
):
    Project.objects.filter(pk=project.pk).update(**hold)
    response = client_of(owner).post(url("delete", project), {"confirmation": "Q76"})
    assert response.status_code == 400
    assert "A moderator holds this project" in response.content.decode()
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("name", ["archive", "restore", "delete"])
def test_the_owner_actions_are_rate_limited(client_of, owner, project, name):
    client = client_of(owner)
    statuses = [
        client.post(url(name, project), {"confirmation": "no"}).status_code for _ in range(31)
    ]
    assert 429 not in statuses[:30]
    assert statuses[30] == 429
