"""A group's "who is this?" page in Chromium: a face none of the group's people is likely to
be is proposed as a person another contributor's project confirmed (it opted in to sharing),
and P accepts: the person joins the group and the answer is stored there only."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from django.urls import reverse

from commons.client import commons_client
from faces.models import Face, Image, Label
from faces.services import crawl
from projects.models import GroupPerson, ProjectGroup
from tests.browser.conftest import log_in
from tests.factories import FaceFactory, ImageFactory, LabelFactory, ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shared_commons(make_fake_commons, browser_world):
    world = copy.deepcopy(browser_world)
    world["items"]["Q15070044"] = {"labels": {"en": "Sasha Obama"}, "P31": ["Q5"]}
    return make_fake_commons(world)


def near(vector: np.ndarray, axis: int, distance: float = 0.5) -> bytes:
    moved = vector.copy()
    moved[axis] += distance
    return Face.pack(moved)


def test_p_adds_the_person_a_shared_project_proposes(page, shared_commons, queued):
    owner = UserFactory(username="alice")
    group = ProjectGroup.objects.create(owner=owner, name="The Obamas")
    projects = []
    for position, (qid, name) in enumerate((("Q76", "Barack Obama"), ("Q13133", "Michelle"))):
        project = ProjectFactory(
            owner=owner, qid=qid, category="Barack Obama", person_labels={"en": name}
        )
        with commons_client() as client:
            crawl.project_crawl(project=project, client=client, queue=False)
        GroupPerson.objects.create(group=group, project=project, position=position)
        projects.append(project)
    face = FaceFactory(image=Image.objects.order_by("title").first(), index=0)
    sharing = ProjectFactory(
        owner=UserFactory(username="bob"),
        qid="Q15070044",
        category="Elsewhere",
        person_labels={"en": "Sasha Obama"},
        share_confirmed_faces=True,
    )
    for axis in range(3):
        confirmed = FaceFactory(image=ImageFactory(), index=0, encoding=near(face.vector, axis))
        LabelFactory(project=sharing, face=confirmed, verdict="yes", user=sharing.owner)
    before = sorted(Label.objects.filter(project=sharing).values_list("face_id", "verdict"))

    log_in(page, "alice")
    page.goto(reverse("projects:who", args=[group.pk]))
    page.wait_for_selector("#shared:not([hidden]) button")
    [text] = page.locator("#shared button").all_inner_texts()
    assert " ".join(text.split()) == (
        "P Perhaps: Sasha Obama (Q15070044), 92 %, from 3 confirmed faces in a shared project"
    )
    page.keyboard.press("p")
    page.wait_for_selector('#answered-count:text-is("1")')
    added = group.member_projects()
    assert [p.qid for p in added] == ["Q76", "Q13133", "Q15070044"]
    human = Label.objects.filter(face=face, source="human")
    assert dict(human.values_list("project__qid", "verdict")) == {
        "Q76": "no",
        "Q13133": "no",
        "Q15070044": "yes",
    }
    assert human.filter(project=sharing).count() == 0
    assert sorted(Label.objects.filter(project=sharing).values_list("face_id", "verdict")) == before
