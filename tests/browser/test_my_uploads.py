"""An uploader in a real browser (issue #26): logs in with Wikimedia through the stand-in's
OAuth, opens "My uploads" from the top bar, says yes to a suggestion by keyboard, and the
face reaches the project's grid as a yes, which its owner sees confirmed."""

from __future__ import annotations

import copy

import pytest

from commons.client import commons_client
from faces.models import Image, Label
from faces.services import crawl
from tests.browser.conftest import log_in, shot
from tests.factories import FaceFactory, LabelFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ACCOUNT = "Ada Uploader"


@pytest.fixture
def commons(make_fake_commons, browser_world):
    """The browser world, with the uploader first among its users: the one who approves at
    the stand-in's Special:OAuth/authorize."""
    world = copy.deepcopy(browser_world)
    world["users"] = {
        ACCOUNT: {"id": 5150, "groups": ["*", "user", "autoconfirmed"]},
        **world.get("users", {}),
    }
    return make_fake_commons(world)


def suggested_face_on_an_upload(project) -> Label:
    """A crawled photo of the project, uploaded by the account, with a face the learner
    suggests (nobody answered it)."""
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
    # A photo not said to depict him on Commons yet (one that is needs no suggestion).
    image = (
        Image.objects.filter(project_links__project=project, project_links__depicts_person=False)
        .order_by("pk")
        .first()
    )
    assert image is not None
    Image.objects.filter(pk=image.pk).update(uploader=ACCOUNT)
    face = FaceFactory(image=image, left=0.3, top=0.2, width=0.3, height=0.4)
    return LabelFactory(
        project=project, face=face, source=Label.Source.MODEL, verdict="yes", score=0.91
    )


def test_an_uploader_confirms_a_suggestion_and_it_reaches_the_grid_as_a_yes(page, commons):
    owner = UserFactory(username="owner")
    project = ProjectFactory(
        owner=owner, qid="Q76", category="Barack Obama", person_labels={"en": "Barack Obama"}
    )
    label = suggested_face_on_an_upload(project)

    page.goto("/login/")
    page.click("form.wikimedia-login button[type=submit]")
    page.wait_for_url("**/projects/")
    page.click("#nav-uploads")
    page.wait_for_selector("[data-upload-card]")
    page.wait_for_load_state("load")  # the page's module script has run
    assert page.locator("h2", has_text="Is this Barack Obama?").count() == 1
    # The face's crop, cut by the browser from the photo's Commons thumbnail.
    thumb = page.get_attribute("[data-upload-card] .crop", "data-thumb") or ""
    assert thumb.startswith("http")
    style = page.get_attribute("[data-upload-card] .crop", "style") or ""
    assert "background-image" in style and thumb.rsplit("/", 1)[-1] in style
    page.wait_for_load_state("networkidle")
    shot(page, "my-uploads")
    page.keyboard.press("y")
    page.wait_for_selector(".message >> text=Saved: this is Barack Obama.")
    assert page.locator("[data-upload-card]").count() == 0

    human = Label.objects.select_related("user").get(
        project=project, face=label.face, source=Label.Source.HUMAN
    )
    assert human.verdict == "yes" and human.user.username != "owner"

    # The owner's grid shows the face confirmed, ready to approve.
    page.context.clear_cookies()
    log_in(page, "owner")
    page.goto(f"/projects/{project.pk}/suggestions/")
    card = page.locator("[data-card]").filter(has=page.locator(f"input[value='{label.face_id}']"))
    assert card.count() == 1
    assert "confirmed" in (card.get_attribute("class") or "")
