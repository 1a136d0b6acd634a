"""The new-project form never moves a button under the pointer: the person card that appears
when the Q-id field is left has its place kept, so the click that leaves the field lands."""

from __future__ import annotations

import copy
import re

import pytest

from projects.models import Project
from tests.browser.conftest import log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_the_form(page) -> None:
    UserFactory(username="alice")
    log_in(page, "alice")
    with page.expect_navigation():  # the page's scripts run before the first key
        page.click("header.topbar >> text=New project")


def test_leaving_the_qid_field_moves_nothing_below_it(page, commons):
    open_the_form(page)
    page.fill("#id_qid", "Q76")
    before = [page.locator(s).bounding_box() for s in ("#id_scope_1", "#new-project-submit")]
    page.locator("#id_qid").blur()
    page.wait_for_selector("#person-card .qid >> text=Q76")
    after = [page.locator(s).bounding_box() for s in ("#id_scope_1", "#new-project-submit")]
    assert after == before


def test_the_click_that_leaves_the_qid_field_lands_on_list_of_files(page, commons):
    open_the_form(page)
    page.fill("#id_qid", "Q76")
    page.click("label[for=id_scope_1]")  # straight from the field: this click leaves it
    assert page.is_checked("#id_scope_1")
    assert page.is_visible("#id_file_list")


def test_the_click_that_leaves_the_qid_field_creates_the_project(page, commons, queued):
    open_the_form(page)
    page.fill("#id_category", "Barack Obama")
    page.fill("#id_qid", "Q76")
    page.click("#new-project-submit")  # straight from the field: this click leaves it
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert Project.objects.get().qid == "Q76"


def test_leaving_the_category_field_on_a_phone_moves_nothing_below_it(page, commons):
    page.set_viewport_size({"width": 390, "height": 844})
    open_the_form(page)
    page.fill("#id_category", "Barack Obama")

    def submit_top() -> float:  # in the page, whatever the scroll
        return page.evaluate(
            "document.getElementById('new-project-submit').getBoundingClientRect().top + scrollY"
        )

    before = submit_top()
    page.locator("#id_category").blur()  # the tap on "Check and create" that leaves the field
    assert "Counting the files" in page.inner_text("#category-estimate")
    assert submit_top() == before
    page.wait_for_selector("#category-estimate >> text=hold")
    assert submit_top() == before


def test_the_person_is_picked_from_those_the_category_already_depicts(
    page, make_fake_commons, browser_world
):
    world = copy.deepcopy(browser_world)
    for name in world["categories"]["Barack Obama"]["files"][:2]:
        world["files"][name]["depicts"] = ["Q76"]
    make_fake_commons(world)
    open_the_form(page)
    page.fill("#id_category", "Barack Obama")
    page.click("#depicted-button")
    page.wait_for_selector("#depicted-people >> text=pick the person")
    page.click("#depicted-people button[data-qid=Q76]")
    assert page.input_value("#id_qid") == "Q76"
    page.wait_for_selector("#person-card .qid >> text=Q76")
    assert "Barack Obama (Q76), on 2 files" in page.inner_text("#depicted-people")
