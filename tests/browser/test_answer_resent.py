"""The classify page sends an answer again, with its request id, after a server error."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from faces.models import Answer, Label
from tests.browser.conftest import log_in
from tests.factories import ProjectFactory, UserFactory
from tests.ui.conftest import photos_of, score

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_answer_that_met_a_server_error_is_sent_again_with_its_request_id(page):
    owner = UserFactory(username="alice")
    project = ProjectFactory(owner=owner)
    faces = photos_of(project, 3)
    score(project, faces, [0.5, 0.4, 0.3])
    sent: list[str] = []

    def first_fails(route):
        sent.append(json.loads(route.request.post_data)["request_id"])
        if len(sent) == 1:
            route.fulfill(status=503, content_type="application/json", body='{"error": "busy"}')
        else:
            route.continue_()

    page.route("**/classify/answer.json", first_fails)
    log_in(page, "alice")
    page.goto(reverse("projects:classify", args=[project.pk]))
    page.wait_for_selector("#stage:not([hidden])")
    page.wait_for_load_state("networkidle")
    page.keyboard.press("y")
    # Waiting in the browser: Playwright runs the route handler only while it is called.
    for _ in range(75):
        if Answer.objects.exists():
            break
        page.wait_for_timeout(200)
    assert Answer.objects.count() == 1, sent
    assert len(sent) == 2 and sent[0] == sent[1]
    assert str(Answer.objects.get().request_id) == sent[0]
    assert Label.objects.filter(source=Label.Source.HUMAN, verdict="yes").count() == 1
