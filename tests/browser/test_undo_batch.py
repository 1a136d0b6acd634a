"""Undoing a batch in a real browser: it asks first, with the count; the undone faces come
back approved and unsent on the send page, and go out again; the empty grid says why."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from django.urls import reverse

from commons.client import commons_client
from depicts.models import DepictsEdit
from depicts.services import approval
from faces.models import Face, Image
from faces.services import answers, crawl, detect
from fakecommons import FakeCommons
from projects.models import Project
from tests.browser.conftest import log_in, shot
from tests.browser.test_removal import depicted_on_commons
from tests.depicts import writing
from tests.factories import ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERSON = "Q76"
PHOTOS = ["Barack Obama 01.jpg", "Barack Obama 02.jpg", "Barack Obama 03.jpg"]
State = DepictsEdit.State


@pytest.fixture
def commons(make_fake_commons, faces_world, writer_settings) -> FakeCommons:
    """Three photos of Barack Obama, none of them said to depict him on Commons yet."""
    files = {name: copy.deepcopy(faces_world["files"][name]) for name in PHOTOS}
    for file in files.values():
        file.pop("depicts", None)
    world: dict[str, Any] = {
        "items": copy.deepcopy(faces_world["items"]),
        "categories": {"Barack Obama": {"files": PHOTOS, "subcats": []}},
        "files": files,
        "users": copy.deepcopy(faces_world["users"]),
    }
    return make_fake_commons(world)


def approved_project(owner) -> Project:
    """The photos crawled and detected, each face answered yes and approved (not sent)."""
    project = ProjectFactory(
        owner=owner, qid=PERSON, category="Barack Obama", person_labels={"en": "Barack Obama"}
    )
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
        for image in Image.objects.filter(project_links__project=project):
            detect.image_detect(image_id=image.pk, client=client)
    faces = list(Face.objects.current().filter(image__title__in=[f"File:{p}" for p in PHOTOS]))
    assert len(faces) == len(PHOTOS)
    for face in faces:
        answers.answer_record(
            project=project, face=face, user=owner, verdict="yes", request_id=uuid.uuid4()
        )
    approval.edits_approve(project=project, faces=faces, user=owner)
    return project


def send_the_approved(page, queued) -> None:
    page.click("text=Send the selected edits to Commons")
    page.wait_for_selector("text=3 edits are on their way to Commons.")
    writing.run_writes(queued)


def test_undo_asks_first_and_the_undone_faces_wait_to_be_sent_again(page, commons, queued):
    alice = UserFactory(username="alice")
    writing.log_in(commons, alice)
    project = approved_project(alice)
    send_url = reverse("depicts:send", args=[project.pk])
    grid_url = reverse("projects:suggestions", args=[project.pk])
    log_in(page, "alice")
    page.goto(grid_url)
    assert page.get_attribute("#empty-reason", "data-reason") == "approved"
    assert "3 edits wait on the send page" in page.inner_text("#empty-reason")

    page.goto(send_url)
    send_the_approved(page, queued)
    assert [depicted_on_commons(name) for name in PHOTOS] == [[PERSON]] * 3
    page.goto(send_url)
    shot(page, "undo-1-sent")

    # The undo link leads to a question with the count; nothing is undone by the link itself.
    page.focus("#batches a:has-text('Undo this batch')")
    page.keyboard.press("Enter")
    page.wait_for_selector("#undo-count")
    assert "The 3 statements this batch added are removed" in page.inner_text("#undo-count")
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    shot(page, "undo-2-confirm")
    page.click("text=Keep them")
    page.wait_for_selector("#batches")
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}

    page.focus("#batches a:has-text('Undo this batch')")
    page.keyboard.press("Enter")
    page.focus("button:has-text('Remove 3 statements from Commons')")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=3 statements will be removed from Commons")
    writing.run_writes(queued)
    assert [depicted_on_commons(name) for name in PHOTOS] == [[], [], []]

    # The undone faces are back, approved and unsent (the page redraws itself once the
    # removals have arrived), and the grid says where they are.
    page.locator("#approved .edit-preview .undone").nth(2).wait_for()
    assert page.locator("#edit-states tr[data-state=reverted]").count() == 3
    assert "Undone; approved again" in page.inner_text("#edit-states")
    page.goto(send_url)
    assert page.locator(".edit-preview input[name=edit]").count() == 3
    assert page.locator(".edit-preview .undone", has_text="undone by alice").count() == 3
    shot(page, "undo-3-approved-again")
    page.goto(grid_url)
    assert page.get_attribute("#empty-reason", "data-reason") == "undone"
    assert "the 3 faces of the batch you undid wait on the send page" in page.inner_text(
        "#empty-reason"
    )

    page.goto(send_url)
    send_the_approved(page, queued)
    assert [depicted_on_commons(name) for name in PHOTOS] == [[PERSON]] * 3
    page.goto(grid_url)
    assert page.get_attribute("#empty-reason", "data-reason") == "sent"
