"""A refusal the page expects is an answer, not a console error: the page shows why, and the
browser logs nothing (``ExpectedRefusalMiddleware``: the page's requests get a 200 with the
refusal's status in a header; every other client keeps the real 4xx)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from faces.models import Answer, Face
from faces.services import answers
from tests.browser.conftest import log_in
from tests.browser.test_review_ui import processed_project, shown
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def console_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    return errors


def test_a_qid_that_is_no_person_is_said_without_a_console_error(page, commons):
    UserFactory(username="alice")
    log_in(page, "alice")
    errors = console_errors(page)
    with page.expect_navigation():
        page.click("header.topbar >> text=New project")
    page.fill("#id_qid", "Q144")  # a dog: the check answers "not a human" (422)
    page.locator("#id_qid").blur()
    page.wait_for_selector("#person-card.bad >> text=is not a human")
    page.fill("#id_category", "No such category here")  # 404 from the size estimate
    page.locator("#id_category").blur()
    page.wait_for_selector("#category-estimate >> text=There is no category")
    page.wait_for_timeout(300)  # a console message comes after the response
    assert errors == []


def test_answering_a_face_another_reviewer_took_is_said_without_a_console_error(page, commons):
    alice = UserFactory(username="alice")
    project = processed_project(alice)
    bob = MembershipFactory(project=project, user=UserFactory(username="bob")).user
    log_in(page, "alice")
    errors = console_errors(page)
    page.goto(reverse("projects:classify", args=[project.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    face = Face.objects.get(pk=shown(page))
    answers.answer_record(
        project=project, face=face, user=bob, verdict="no", request_id=uuid.uuid4()
    )
    page.keyboard.press("y")  # the server refuses: bob answered it first (409)
    page.wait_for_selector("#alert >> text=already answered this face")
    page.wait_for_timeout(300)
    assert not Answer.objects.filter(user=alice).exists()
    assert errors == []
