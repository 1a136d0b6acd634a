"""The new-project form's other two scopes: a Commons search, whose size the page says as it
is typed, and the uploads of a user; each makes its project from the browser."""

from __future__ import annotations

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


def test_a_search_is_estimated_as_it_is_typed_and_becomes_a_project(page, commons, queued):
    open_the_form(page)
    page.fill("#id_qid", "Q76")
    page.click("label[for=id_scope_2]")
    assert page.is_visible("#id_search_query") and not page.is_visible("#id_category")
    page.fill("#id_search_query", "haswbstatement:P180=Q76")
    page.locator("#id_search_query").blur()
    page.wait_for_selector("#search-estimate >> text=The search finds about")
    page.fill("#id_search_query", "incategory:No_such_category")
    page.locator("#id_search_query").blur()
    page.wait_for_selector("#search-estimate.field-error >> text=finds no file")
    page.fill("#id_search_query", "haswbstatement:P180=Q76")
    page.click("#new-project-submit")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert Project.objects.get().search_query == "haswbstatement:P180=Q76"


def test_the_uploads_of_a_user_become_a_project(page, commons, queued):
    open_the_form(page)
    page.fill("#id_qid", "Q76")
    page.click("label[for=id_scope_3]")
    page.fill("#id_uploads_user", "User:FakeUploader")
    page.click("#new-project-submit")
    page.wait_for_url(re.compile(r"/projects/\d+/$"))
    assert "Uploads of User:FakeUploader" in page.inner_text("h1 + p")
    assert Project.objects.get().uploads_user == "FakeUploader"
