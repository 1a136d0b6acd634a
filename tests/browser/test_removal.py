"""A wrong depicts statement already on Commons, taken back in a real browser: found in the
grid's "on Commons" view (or contradicted by a "no" in the classify page), its removal
approved and sent on the send page, and read back gone through the stand-in's API."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from commons.client import commons_client
from commons.mediainfo import fetch_depicts
from depicts.models import DepictsEdit
from faces.models import Face, Image, Label
from faces.services import bootstrap as bootstrap_service
from faces.services import crawl, detect
from fakecommons import FakeCommons
from projects.models import Project
from tests.browser.conftest import log_in, shot
from tests.depicts import writing
from tests.factories import ProjectFactory, UserFactory
from tests.workers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PERSON = "Q76"
RIGHT = "Barack Obama 01.jpg"  # depicts Barack Obama, and says so
WRONG = "George W. Bush 02.jpg"  # George W. Bush, said on Commons to depict Barack Obama
OTHER = "Barack Obama 02.jpg"  # no statement yet


@pytest.fixture
def commons(make_fake_commons, faces_world, writer_settings) -> FakeCommons:
    """Barack Obama's category: his portrait, another photo, and George W. Bush's photo that
    somebody stated on Commons depicts him."""
    files = {name: copy.deepcopy(faces_world["files"][name]) for name in (RIGHT, OTHER, WRONG)}
    files[WRONG]["depicts"] = [PERSON]
    world: dict[str, Any] = {
        "items": copy.deepcopy(faces_world["items"]),
        "categories": {"Barack Obama": {"files": [RIGHT, OTHER, WRONG], "subcats": []}},
        "files": files,
        "users": copy.deepcopy(faces_world["users"]),
    }
    return make_fake_commons(world)


def crawled_project(owner) -> Project:
    """The category crawled, the existing statements found, the faces detected."""
    project = ProjectFactory(
        owner=owner,
        qid=PERSON,
        category="Barack Obama",
        person_image=RIGHT,
        person_labels={"en": "Barack Obama"},
    )
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
        bootstrap_service.project_bootstrap(project=project, client=client, queue=False)
        for image_id in Image.objects.filter(project_links__project=project).values_list(
            "pk", flat=True
        ):
            detect.image_detect(image_id=image_id, client=client)
    return project


def face_of(name: str) -> Face:
    return Face.objects.current().get(image__title=f"File:{name}")


def depicted_on_commons(name: str) -> list[str]:
    """The P180 values of a file, read back through the real client over HTTP."""
    pageid = Image.objects.get(title=f"File:{name}").pageid
    with commons_client() as client:
        return [statement.qid for statement in fetch_depicts(client, pageids=[pageid])[pageid]]


@pytest.fixture
def contributor(commons) -> Any:
    """Alice, whose Wikimedia account is linked (the send page edits in her name)."""
    alice = UserFactory(username="alice")
    writing.log_in(commons, alice)
    return alice


def known_statements(project: Project) -> None:
    """The crawl found both statements and took each photo's one face as a bootstrap yes."""
    bootstrap = Label.objects.filter(project=project, source=Label.Source.BOOTSTRAP)
    assert set(bootstrap.values_list("face__image__title", "verdict")) == {
        (f"File:{RIGHT}", "yes"),
        (f"File:{WRONG}", "yes"),
    }
    assert depicted_on_commons(WRONG) == [PERSON]


def approve_and_send_the_removal(page, commons, queued, shots: str) -> None:
    """On the send page: approve the proposed removal of WRONG, send it, let the writer run."""
    proposal = page.locator("#proposed-removals li", has_text=WRONG)
    proposal.locator("button", has_text="Approve the removal").click()
    page.wait_for_selector("#approved-title")
    approved = page.locator(".edit-preview", has_text=WRONG)
    assert "Remove: depicts (P180) Barack Obama (Q76)" in approved.inner_text()
    assert commons.writes == [], "nothing is written before the contributor sends"
    shot(page, f"{shots}-removal-approved")
    page.click("text=Send the selected edits to Commons")
    page.wait_for_selector("text=1 edit is on its way to Commons.")
    writing.run_writes(queued)
    page.reload()
    page.wait_for_selector('#edit-states tr[data-state="sent"]')
    shot(page, f"{shots}-removal-sent")


def test_a_wrong_statement_rejected_in_the_grid_is_removed_once_approved_and_sent(
    page, commons, contributor, queued
):
    project = crawled_project(contributor)
    known_statements(project)
    wrong = face_of(WRONG)
    log_in(page, "alice")
    page.goto(reverse("projects:suggestions", args=[project.pk]))
    page.click("#tab-on-commons")
    page.wait_for_selector("#grid [data-card]")
    on_commons = page.eval_on_selector_all(
        "#grid input.select", "boxes => boxes.map(b => Number(b.value))"
    )
    assert sorted(on_commons) == sorted([face_of(RIGHT).pk, wrong.pk])
    shot(page, "15-grid-on-commons")

    # By keyboard, as in the rest of the grid: into the grid, to the wrong face, select, reject.
    page.keyboard.press("a")  # approving has no place here: nothing happens
    page.keyboard.press("ArrowRight")
    for _ in range(on_commons.index(wrong.pk)):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Space")
    page.keyboard.press("r")
    page.wait_for_selector(".message >> text=its removal is proposed on the send page")
    (removal,) = DepictsEdit.objects.filter(project=project)
    assert (removal.action, removal.state, removal.face_id) == ("remove", "proposed", wrong.pk)
    assert page.locator("#grid input.select").count() == 1  # the wrong one left the view

    page.click("text=Go to the send page")
    shot(page, "16-send-page-proposed-removal")
    approve_and_send_the_removal(page, commons, queued, "17")
    assert depicted_on_commons(WRONG) == []
    assert depicted_on_commons(RIGHT) == [PERSON]
    page.goto(reverse("projects:suggestions", args=[project.pk]) + "?source=commons")
    assert page.locator("#grid input.select").count() == 1


def test_a_no_in_the_classify_page_leads_to_a_removal_to_approve_on_the_send_page(
    page, commons, contributor, queued
):
    project = crawled_project(contributor)
    known_statements(project)
    answers = {face_of(RIGHT).pk: "y", face_of(WRONG).pk: "n"}
    log_in(page, "alice")
    page.goto(reverse("projects:classify", args=[project.pk]))
    # Before the learner has run, the faces of existing statements are asked first.
    for _ in answers:
        page.wait_for_selector("#stage:not([hidden])")
        shown = int(page.get_attribute("#stage", "data-face"))
        page.keyboard.press(answers[shown])
        page.wait_for_selector(f'#stage:not([data-face="{shown}"])')
    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    expected = {face_of(RIGHT).pk: "yes", face_of(WRONG).pk: "no"}
    # The page sends its answers in the background: wait for the last one to land.
    assert wait_for(lambda: dict(labels.values_list("face_id", "verdict")) == expected, timeout=10)

    page.goto(reverse("depicts:send", args=[project.pk]))
    proposal = page.locator("#proposed-removals li", has_text=WRONG)
    assert "answered on" in proposal.inner_text()
    assert page.locator("#proposed-removals li").count() == 1  # the right one is not offered
    assert commons.writes == [] and not DepictsEdit.objects.exists()  # a page view sends nothing
    shot(page, "18-send-page-contradicted-statement")
    approve_and_send_the_removal(page, commons, queued, "19")
    assert depicted_on_commons(WRONG) == []
    assert depicted_on_commons(RIGHT) == [PERSON]
