"""A group of people's "who is this?" page in Chromium, keyboard only: 2 names the face the
second likeliest person (a yes there, a no for the others), N says none of them, U takes
back every label of the last answer."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from commons.client import commons_client
from faces.models import Image, Label
from faces.services import crawl
from projects.models import GroupPerson, ProjectGroup
from tests.browser.conftest import log_in, shot
from tests.factories import FaceFactory, LabelFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = (("Q76", "Barack Obama"), ("Q13133", "Michelle Obama"), ("Q15070044", "Sasha Obama"))


def people_group(owner):
    """Three people over Barack Obama's category, each with their own crawled project; the
    first two photos hold a face each, which the learners rank as given."""
    group = ProjectGroup.objects.create(owner=owner, name="The Obamas")
    projects = []
    for position, (qid, name) in enumerate(PEOPLE):
        project = ProjectFactory(
            owner=owner, qid=qid, category="Barack Obama", person_labels={"en": name}
        )
        with commons_client() as client:
            crawl.project_crawl(project=project, client=client, queue=False)
        GroupPerson.objects.create(group=group, project=project, position=position)
        projects.append(project)
    images = list(Image.objects.order_by("title")[:2])
    faces = [
        FaceFactory(image=image, index=0, left=0.3, top=0.2, width=0.4, height=0.5)
        for image in images
    ]
    # First asked: the face Sasha's learner most wants answered; Michelle likeliest, Barack next.
    for project, score, priority in zip(projects, (0.4, 0.7, 0.1), (0.2, 0.3, 0.9), strict=True):
        LabelFactory(
            project=project,
            face=faces[0],
            source="model",
            verdict="no",
            score=score,
            priority=priority,
            user=None,
        )
    return group, projects, faces


def humans(projects, face) -> list[str | None]:
    found = []
    for project in projects:
        label = Label.objects.filter(project=project, face=face, source="human").first()
        found.append(label.verdict if label else None)
    return found


def test_two_then_n_then_u_by_keyboard(page, commons, queued):
    group, projects, faces = people_group(UserFactory(username="alice"))
    log_in(page, "alice")
    page.goto(reverse("projects:who", args=[group.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    people = page.locator("#people button").all_inner_texts()
    assert [" ".join(text.split()) for text in people] == [
        "1 Michelle Obama (Q13133) 70 %",
        "2 Barack Obama (Q76) 40 %",
        "3 Sasha Obama (Q15070044) 10 %",
    ]
    page.wait_for_load_state("networkidle")
    shot(page, "who-is-this")

    page.keyboard.press("2")
    page.wait_for_selector('#answered-count:text-is("1")')
    assert humans(projects, faces[0]) == ["yes", "no", "no"]
    # Barack now has a confirmed face: it is drawn beside his name; the others have none.
    barack = f'#people button[data-person="{projects[0].pk}"]'
    page.wait_for_selector(f'{barack} .person-face[style*="background-image"]')
    assert page.locator("#people .person-face").count() == 1

    page.keyboard.press("n")
    page.wait_for_selector('#answered-count:text-is("2")')
    assert humans(projects, faces[1]) == ["no", "no", "no"]

    page.keyboard.press("u")
    page.wait_for_selector("text=3 answers taken back.")
    assert humans(projects, faces[1]) == [None, None, None]
    assert humans(projects, faces[0]) == ["yes", "no", "no"]
    assert page.locator("#people button").count() == 3  # the face is asked again


@pytest.fixture
def depicted_commons(make_fake_commons, browser_world):
    """Barack Obama's category, two of whose files also depict Michelle Obama."""
    world = copy.deepcopy(browser_world)
    world["items"]["Q13133"] = {"labels": {"en": "Michelle Obama"}, "P31": ["Q5"]}
    for name in ("Barack Obama 02.jpg", "Barack Obama 03.jpg"):
        world["files"][name]["depicts"] = [*world["files"][name].get("depicts", []), "Q13133"]
    return make_fake_commons(world)


def test_a_group_is_started_from_the_people_the_category_depicts(page, depicted_commons, queued):
    UserFactory(username="alice")
    log_in(page, "alice")
    page.goto(reverse("projects:dashboard"))
    page.click("#group-new")
    page.fill("#id_category", "Barack Obama")
    page.click("#depicted-button")
    page.wait_for_selector("#depicted-people input[value=Q13133]")
    page.check("#depicted-people input[value=Q76]")
    page.check("#depicted-people input[value=Q13133]")
    assert page.input_value("#id_people").split() == ["Q76", "Q13133"]
    page.uncheck("#depicted-people input[value=Q76]")
    page.check("#depicted-people input[value=Q76]")
    page.click("#new-group-submit")
    page.wait_for_selector("#group-people")
    group = ProjectGroup.objects.get()
    assert [p.qid for p in group.member_projects()] == ["Q13133", "Q76"]
    assert page.locator("#group-people tbody tr").count() == 2
