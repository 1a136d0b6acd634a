"""The grid's "which of these are not the person?" in a real browser, by keyboard only:
number keys tick a face as not the person, Enter saves one answer per face."""

from __future__ import annotations

import pytest
from django.urls import reverse

from commons.client import commons_client
from faces.models import Answer, Face, Image, Label
from faces.services import crawl, detect
from tests.browser.conftest import log_in, shot
from tests.factories import ProjectFactory, UserFactory
from tests.ui.conftest import score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def crawled_project(owner):
    """Barack Obama's category crawled and its faces detected, in this process."""
    project = ProjectFactory(
        owner=owner, qid="Q76", category="Barack Obama", person_labels={"en": "Barack Obama"}
    )
    with commons_client() as client:
        crawl.project_crawl(project=project, client=client, queue=False)
        for image in Image.objects.filter(project_links__project=project):
            detect.image_detect(image_id=image.pk, client=client)
    return project


def test_number_keys_mark_faces_not_the_person_and_enter_saves_one_answer_each(page, commons):
    owner = UserFactory(username="alice")
    project = crawled_project(owner)
    # Faces of photos not said to depict him on Commons yet, one per photo.
    waiting = Face.objects.current().filter(
        image__project_links__project=project, image__project_links__depicts_person=False
    )
    faces = list({face.image_id: face for face in waiting.order_by("pk")}.values())[:3]
    assert len(faces) == 3
    score(project, faces, [0.6, 0.7, 0.8])  # the learner doubts all three
    log_in(page, "alice")
    page.goto(reverse("projects:suggestions", args=[project.pk]))
    page.wait_for_selector("#doubts-form [data-doubt]")
    cards = page.locator("#doubts-form [data-doubt]")
    assert cards.count() == 3
    shown = [
        int(v)
        for v in page.eval_on_selector_all(
            "#doubts-form input[name=not_person]", "boxes => boxes.map(b => b.value)"
        )
    ]
    assert shown == [faces[0].pk, faces[1].pk, faces[2].pk]  # least likely first

    page.keyboard.press("1")
    page.keyboard.press("3")
    page.keyboard.press("3")  # a second press takes it back
    assert "not-person" in cards.nth(0).get_attribute("class")
    assert "not-person" not in cards.nth(2).get_attribute("class")
    shot(page, "13-doubts-marked")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=3 answers saved.")

    labels = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    assert dict(labels.values_list("face_id", "verdict")) == {
        faces[0].pk: "no",
        faces[1].pk: "yes",
        faces[2].pk: "yes",
    }
    assert Answer.objects.filter(project=project).count() == 3
    assert page.locator("#doubts-form").count() == 0  # nothing left in doubt
