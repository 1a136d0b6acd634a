"""The bell in the top bar counts a notification made while the page is open, without a reload."""

from __future__ import annotations

import pytest

from projects.models import Notification
from tests.browser.conftest import log_in
from tests.factories import ProjectFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_bell_counts_a_new_notification_while_the_page_stays_open(page, commons):
    alice = UserFactory(username="alice")
    project = ProjectFactory(owner=alice, person_labels={"en": "Barack Obama"})
    log_in(page, "alice")
    page.goto(f"/projects/{project.pk}/")
    assert page.locator("#notifications-bell .unread-count").count() == 0
    loads = []
    page.on("framenavigated", lambda frame: loads.append(frame.url))
    Notification.objects.create(
        recipient=alice,
        project=project,
        kind=Notification.Kind.SEND_FINISHED,
        event="batch-1",
        params={"sent": 3, "failed": 0},
    )
    page.wait_for_selector("#notifications-bell .unread-count >> text=1", timeout=12_000)
    assert page.get_attribute("#notifications-bell .unread-count", "aria-label") == "1 unread"
    assert loads == []  # counted in place, not by a reload
