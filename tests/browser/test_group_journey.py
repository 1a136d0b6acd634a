"""A group of two people end to end in Chromium: the group made from the people its category
depicts, every face named by keyboard on "who is this?" (a group photo included), each
person's faces approved in their own grid and sent, read back from the stand-in with their
regions, and the sending undone."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.urls import reverse

from commons.client import commons_client
from commons.mediainfo import fetch_depicts
from depicts.models import DepictsEdit
from faces.models import Image, Label
from faces.services import crawl, detect, scoring
from fakecommons import FakeCommons
from projects.models import ProjectGroup
from tests.browser.conftest import log_in, shot
from tests.depicts import writing
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BARACK, COLIN = "Q76", "Q190882708"
PHOTOS = {
    "Barack Obama 02.jpg": BARACK,
    "Barack Obama 03.jpg": BARACK,
    "Colin Powell 02.jpg": COLIN,
    "Colin Powell 03.jpg": COLIN,
    "Group photo 01.jpg": None,  # nobody the reviewer knows: "someone else" for every face
}
SAID_ON_COMMONS = "Colin Powell 04.jpg"  # already depicts Colin Powell: proposes him


@pytest.fixture
def summit(make_fake_commons, faces_world, writer_settings) -> FakeCommons:
    names = [*PHOTOS, SAID_ON_COMMONS]
    files = {name: copy.deepcopy(faces_world["files"][name]) for name in names}
    for name, file in files.items():
        file.pop("depicts", None)
        if name == SAID_ON_COMMONS:
            file["depicts"] = [COLIN]
    files["Barack Obama 02.jpg"]["depicts"] = [BARACK]
    world: dict[str, Any] = {
        "items": {qid: copy.deepcopy(faces_world["items"][qid]) for qid in (BARACK, COLIN)},
        "categories": {"Summit": {"files": names, "subcats": []}},
        "files": files,
        "users": copy.deepcopy(faces_world["users"]),
    }
    for item in world["items"].values():
        item.pop("P18", None)  # no portrait outside the category
    return make_fake_commons(world)


def statements(name: str) -> list[tuple[str | None, str | None]]:
    """The file's P180 values and regions, read back through the real client."""
    pageid = Image.objects.get(title=f"File:{name}").pageid
    with commons_client() as client:
        found = fetch_depicts(client, pageids=[pageid])[pageid]
    return sorted((statement.qid, statement.region) for statement in found)


def processed(group: ProjectGroup) -> list[Any]:
    """The group's projects crawled, their photos detected once, each scored."""
    projects = group.member_projects()
    with commons_client() as client:
        for project in projects:
            crawl.project_crawl(project=project, client=client, queue=False)
        for image in Image.objects.filter(project_links__project__in=projects).distinct():
            detect.image_detect(image_id=image.pk, client=client)
    for project in projects:
        scoring.project_rescore(project_id=project.pk)
    return projects


def name_every_face(page) -> int:
    """Answer "who is this?" until nothing is left: the person the file is of, by their key;
    N on the group photo. Returns the number of answers."""
    answers = 0
    while page.is_visible("#stage"):
        title = page.inner_text("#file-link").removeprefix("File:")
        qid = {**PHOTOS, SAID_ON_COMMONS: COLIN}[title]
        key = "n"
        if qid is not None:
            button = page.locator("#people button", has_text=f"({qid})")
            key = button.locator("kbd").inner_text()
        page.keyboard.press(key)
        answers += 1
        page.wait_for_selector(f'#answered-count:text-is("{answers}")')
    return answers


def test_a_group_from_proposed_people_named_approved_sent_and_undone(page, summit, queued):
    alice = UserFactory(username="alice")
    writing.log_in(summit, alice)  # her Wikimedia account is linked: she can send
    log_in(page, "alice")
    page.goto(reverse("projects:group-new"))
    page.fill("#id_category", "Summit")
    page.click("#depicted-button")
    for qid in (BARACK, COLIN):
        page.check(f"#depicted-people input[value={qid}]")
    page.click("#new-group-submit")
    page.wait_for_selector("#group-people")
    group = ProjectGroup.objects.get()
    projects = processed(group)
    assert {p.qid for p in projects} == {BARACK, COLIN}

    page.goto(reverse("projects:who", args=[group.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    shot(page, "group-who")
    answers = name_every_face(page)
    assert answers >= len(PHOTOS)  # the group photo's faces each asked once
    for title, qid in PHOTOS.items():
        for project in projects:
            said = Label.objects.filter(
                project=project, face__image__title=f"File:{title}", source=Label.Source.HUMAN
            ).values_list("verdict", flat=True)
            assert set(said) == {"yes" if project.qid == qid else "no"}, (title, project.qid)
    for project in projects:
        scoring.project_rescore(project_id=project.pk)

    for project in projects:
        page.goto(reverse("projects:suggestions", args=[project.pk]))
        page.wait_for_selector("#grid [data-card]")
        page.keyboard.press("a")
        page.wait_for_selector(".message >> text=Nothing is sent until you confirm")
        page.goto(reverse("depicts:send", args=[project.pk]))
        page.click("text=Send the selected edits to Commons")
        page.wait_for_selector("text=/on (its|their) way to Commons/")
        writing.run_writes(queued)

    sent = DepictsEdit.objects.filter(state=DepictsEdit.State.SENT)
    assert {(e.image.title, e.project.qid) for e in sent} == {
        ("File:Barack Obama 03.jpg", BARACK),  # 02 says so on Commons already
        ("File:Colin Powell 02.jpg", COLIN),
        ("File:Colin Powell 03.jpg", COLIN),
    }
    for name in ("Barack Obama 03.jpg", "Colin Powell 02.jpg", "Colin Powell 03.jpg"):
        [(qid, region)] = statements(name)
        assert qid == PHOTOS[name] and region and region.startswith("pct:")
    assert [qid for qid, _ in statements("Group photo 01.jpg")] == []

    colin = next(p for p in projects if p.qid == COLIN)
    page.goto(reverse("depicts:send", args=[colin.pk]))
    page.focus("#batches a:has-text('Undo this batch')")
    page.keyboard.press("Enter")
    page.focus("button:has-text('Remove 2 statements from Commons')")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=2 statements will be removed from Commons")
    writing.run_writes(queued)
    assert statements("Colin Powell 02.jpg") == statements("Colin Powell 03.jpg") == []
    assert [qid for qid, _ in statements("Barack Obama 03.jpg")] == [BARACK]
