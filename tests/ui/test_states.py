"""Every state said right: paused, archived, completed or writes stopped, by the owner or by a
moderator, in the same words on the classify page, the project page's header and notes, the
dashboard and the project page's poll (one helper, ``Project.standing``, says it for all)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from projects.models import Project

pytestmark = pytest.mark.django_db

MODERATOR_PAUSE = {"moderation": Project.Moderation.PAUSED}
MODERATOR_ARCHIVE = {"moderation": Project.Moderation.ARCHIVED}
OWNER_PAUSE = {"state": Project.State.PAUSED}
OWNER_ARCHIVE = {"state": Project.State.ARCHIVED, "writes_enabled": False}

CASES = [
    # (the row, the label of header/dashboard/poll, what the classify page says)
    (MODERATOR_PAUSE, "Paused by a moderator", "until a moderator resumes it"),
    (MODERATOR_ARCHIVE, "Archived by a moderator", "until a moderator restores it"),
    (OWNER_PAUSE, "Paused by the owner", "until its owner resumes it"),
    (OWNER_ARCHIVE, "Archived by the owner", "until its owner restores it"),
    ({"state": Project.State.COMPLETED}, "Completed", "until its owner makes it active again"),
    # The owner paused it, then a moderator held it: only a moderator can lift that.
    ({**OWNER_PAUSE, **MODERATOR_PAUSE}, "Paused by a moderator", "until a moderator resumes"),
]


def held(project: Project, **changes: object) -> Project:
    Project.objects.filter(pk=project.pk).update(**changes)
    project.refresh_from_db()
    return project


def header_state(body: str) -> str:
    match = re.search(r'<span class="state [^"]*" data-key="state_label">([^<]*)</span>', body)
    assert match, "no state in the project page's header"
    return match.group(1)


def dashboard_state(body: str) -> str:
    match = re.search(r'data-label="State"><span class="state [^"]*">([^<]*)</span>', body)
    assert match, "no state on the dashboard"
    return match.group(1)


@pytest.mark.parametrize(("changes", "label", "sentence"), CASES)
def test_each_state_is_said_with_who_holds_it_on_every_page(
    client_of, owner, member, project, changes, label, sentence
):
    held(project, **changes)
    client = client_of(owner)
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert header_state(detail) == label
    assert sentence in detail
    dashboard = client.get(reverse("projects:dashboard")).content.decode()
    assert dashboard_state(dashboard) == label
    status = client.get(reverse("projects:status", args=[project.pk])).json()
    assert status["state_label"] == label
    classify = client_of(member).get(reverse("projects:classify", args=[project.pk]))
    assert sentence in classify.content.decode()


def test_a_moderators_pause_never_reads_as_active_nor_as_the_owners(client_of, member, project):
    held(project, **MODERATOR_PAUSE)
    body = client_of(member).get(reverse("projects:classify", args=[project.pk])).content
    assert "is active" not in body.decode()
    assert "its owner resumes" not in body.decode()
    data = client_of(member).get(reverse("projects:next", args=[project.pk])).json()
    assert "A moderator paused this project" in data["message"]


@pytest.mark.parametrize(
    ("changes", "label", "note"),
    [
        ({"moderator_writes_stopped": True}, "Active, writes stopped by a moderator", "moderator"),
        ({"writes_enabled": False}, "Active, writes off", "The owner switched the writes"),
        # The owner's archive switches writes off itself: said once, by the state.
        (OWNER_ARCHIVE, "Archived by the owner", None),
    ],
)
def test_stopped_writes_are_said_with_who_stopped_them(
    client_of, owner, project, changes, label, note
):
    held(project, **changes)
    client = client_of(owner)
    detail = client.get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert header_state(detail) == label
    assert dashboard_state(client.get(reverse("projects:dashboard")).content.decode()) == label
    writes_note = re.search(r'id="writes-note">([^<]*)<', detail)
    if note is None:
        assert writes_note is None
    else:
        assert writes_note and note in writes_note.group(1)


def test_an_active_project_says_active_and_nothing_more(client_of, owner, project):
    detail = client_of(owner).get(reverse("projects:detail", args=[project.pk])).content.decode()
    assert header_state(detail) == "Active"
    assert 'id="state-note"' not in detail and 'id="writes-note"' not in detail
