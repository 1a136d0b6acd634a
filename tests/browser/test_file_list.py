"""A project over a list of files, in a real browser with a real worker: the list pasted as a
contributor has it (prefixes, underscores, a lower-case first letter, an address, a file that
does not exist), its photos processed by a Celery worker process, and the owner told by the
bell when the learner has suggestions."""

from __future__ import annotations

import re
from typing import Any

import pytest

from depicts.models import DepictsEdit
from faces.models import Face, Image
from projects.models import ListedFile, Notification, Project
from tests.browser.conftest import log_in, shot
from tests.depicts.writing import worker_env
from tests.factories import UserFactory
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PERSON = "Barack Obama"
OTHERS = ("George W. Bush", "Colin Powell", "Tony Blair")
LINES = [
    "File:Barack_Obama_02.jpg",
    "barack Obama 03.jpg",
    "https://commons.wikimedia.org/wiki/File:Barack_Obama_04.jpg",
    # His portrait in two other formats: the learner has faces of him left to suggest even
    # if the first questions, asked before it re-ran, are all about him.
    "Barack Obama 01 (PNG).png",
    "Barack Obama 01 (WebP).webp",
    *(f"{name} 0{number}.jpg" for name in OTHERS for number in (1, 2, 3)),
    "Barack Obama 99.jpg",  # no such file on Commons
]
PHOTOS = len(LINES) - 1
# Every face of the list answered at most once; the learner suggests well before that.
MAX_ANSWERS = 16


def test_a_list_of_files_becomes_a_project_whose_owner_is_told_of_suggestions(
    page, commons, settings
):
    UserFactory(username="alice")
    log_in(page, "alice")
    with celery_worker(extra_env=worker_env(commons, settings), concurrency=2) as worker:
        project = create_from_list(page)
        processed = wait_for(lambda: photos_done(project), timeout=180)
        assert processed, "".join(worker.output[-40:])
        assert_missing_line_reported(page, project)
        answers = answer_until_told(page, project)
    assert Notification.objects.filter(
        project=project, kind=Notification.Kind.SUGGESTIONS_READY
    ).exists(), f"no notification after {answers} answers"
    open_from_the_bell(page, project)


def create_from_list(page: Any) -> Project:
    with page.expect_navigation():  # the page's scripts run before the first key
        page.click("header.topbar >> text=New project")
    page.fill("#id_qid", "Q76")
    page.keyboard.press("Tab")  # leaving the field checks the person on Wikidata
    page.wait_for_selector("#person-card .qid >> text=Q76")
    page.check("#id_scope_1")
    page.fill("#id_file_list", "\n".join(LINES))
    page.wait_for_selector(f"#file-list-count >> text={len(LINES)}")
    shot(page, "file-list-01-new-project")
    page.click("#new-project-submit")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    project = Project.objects.get()
    assert (project.scope, project.category, project.listed_count) == (
        Project.Scope.FILES,
        None,
        len(LINES),
    )
    return project


def photos_done(project: Project) -> bool:
    found = ListedFile.objects.filter(project=project, state=ListedFile.State.FOUND).count()
    faces = Face.objects.current().filter(image__project_links__project=project)
    pending = project.project_images.exclude(image__state=Image.State.DONE).count()
    return found == PHOTOS and pending == 0 and faces.exists()


def assert_missing_line_reported(page: Any, project: Project) -> None:
    page.goto(f"/projects/{project.pk}/")
    problems = page.locator("#listed-problems [data-state=missing]")
    assert problems.count() == 1
    assert "Barack Obama 99.jpg" in problems.inner_text()
    shot(page, "file-list-02-processed")


def answer_until_told(page: Any, project: Project) -> int:
    """Y or N, truthfully, by keyboard, until the owner has a suggestions-ready notification."""
    page.click("text=Answer questions")
    page.wait_for_selector("#stage:not([hidden])")
    for answers in range(MAX_ANSWERS):
        if wait_for(lambda: told(project), timeout=3):
            return answers
        truth = (page.text_content("#file-link") or "").strip().removeprefix("File:")
        before = page.get_attribute("#stage", "data-face")
        page.keyboard.press("y" if truth.startswith(PERSON) else "n")
        page.wait_for_selector(f'#stage:not([data-face="{before}"])')
    return MAX_ANSWERS


def told(project: Project) -> bool:
    return Notification.objects.filter(
        project=project, kind=Notification.Kind.SUGGESTIONS_READY
    ).exists()


def open_from_the_bell(page: Any, project: Project) -> None:
    page.goto(f"/projects/{project.pk}/")  # the bell counts on each page load
    bell = page.locator("#notifications-bell")
    unread = int(bell.get_attribute("data-unread") or 0)
    kinds = {"processing_finished", "suggestions_ready"}  # the photos were processed first
    assert unread == len(kinds)
    bell.click()
    shown = page.locator("#notifications li.notification")
    assert {shown.nth(n).get_attribute("data-kind") for n in range(shown.count())} == kinds
    item = page.locator('#notifications li.notification[data-kind="suggestions_ready"]')
    shot(page, "file-list-03-notifications")
    with page.expect_navigation():
        item.locator("button").click()
    assert f"/projects/{project.pk}/suggestions/" in page.url
    page.wait_for_selector("[data-card]")
    assert page.locator("#notifications-bell").get_attribute("data-unread") == str(unread - 1)
    assert not DepictsEdit.objects.filter(state=DepictsEdit.State.SENT).exists()
    shot(page, "file-list-04-suggestions")
