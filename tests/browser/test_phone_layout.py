"""A newcomer on a phone-sized viewport (390 x 844): every button in view without scrolling
sideways, and a button that cannot be used looks it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from faces.services import scoring
from tests.browser.conftest import log_in, shot
from tests.browser.test_undo_batch import approved_project, commons, send_the_approved
from tests.depicts import writing
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

__all__ = ["commons"]  # the three-photo world of the undo test, used here as a fixture

PHONE = {"width": 390, "height": 844}


def sideways_overflow(page) -> int:
    """How far the page reaches past the viewport's right edge (0: no sideways scroll)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_a_sent_batch_is_undone_on_a_phone_without_scrolling_sideways(page, commons, queued):
    alice = UserFactory(username="alice")
    writing.log_in(commons, alice)
    project = approved_project(alice)
    log_in(page, "alice")
    page.goto(reverse("depicts:send", args=[project.pk]))
    send_the_approved(page, queued)
    page.set_viewport_size(PHONE)
    page.goto(reverse("depicts:send", args=[project.pk]))
    shot(page, "phone-send-batches")
    assert sideways_overflow(page) == 0
    undo = page.locator("#batches a:has-text('Undo this batch')")
    box = undo.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Each figure keeps its name once the table's header row is out of sight.
    written = page.locator("#batches td[data-label=Written]")
    assert written.inner_text() == "3"
    assert "Written" in written.evaluate("(td) => getComputedStyle(td, '::before').content")
    undo.click()
    page.wait_for_selector("#undo-count")


def test_the_send_button_looks_unusable_until_a_wikimedia_account_is_linked(page, commons):
    alice = UserFactory(username="alice")
    project = approved_project(alice)
    log_in(page, "alice")
    page.goto(reverse("depicts:send", args=[project.pk]))
    send = page.locator("button:has-text('Send the selected edits to Commons')")
    assert send.is_disabled()
    linked = page.locator("#wikimedia-account button[type=submit]")
    assert linked.is_enabled()
    looks = "(b) => { const s = getComputedStyle(b); return [s.opacity, s.cursor]; }"
    assert send.evaluate(looks) != linked.evaluate(looks)
    assert send.evaluate(looks)[1] == "not-allowed"


def test_the_health_page_scrolls_its_queue_table_not_the_page_on_a_phone(page):
    UserFactory(username="alice", is_staff=True)  # staff see one more column
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("health"))
    page.wait_for_selector("#queues")
    assert sideways_overflow(page) == 0
    overflow = page.locator("#queues").evaluate("(table) => getComputedStyle(table).overflowX")
    assert overflow == "auto"


def test_the_learners_chart_is_readable_on_a_phone(page, commons):
    alice = UserFactory(username="alice")
    project = approved_project(alice)
    scoring.project_rescore(project_id=project.pk)
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("projects:detail", args=[project.pk]))
    tick = page.locator(".chart svg text.tick").first
    box = tick.bounding_box()
    # The chart is drawn 600 units wide: shrunk to a phone, 11-unit text was 6 px high.
    assert box is not None and box["height"] >= 9
    assert sideways_overflow(page) == 0
    shot(page, "phone-project-chart")


def test_the_dashboards_photo_count_stays_on_one_line_on_a_phone(page, commons):
    approved_project(UserFactory(username="alice"))
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("projects:dashboard"))
    count = page.locator("table.projects td:has(progress) small")
    assert count.inner_text() == "3 / 3"
    # A big project's count, as the newcomer's 416-photo project showed it.
    count.evaluate("(small) => { small.textContent = '154 / 416'; }")
    line = count.evaluate("(small) => parseFloat(getComputedStyle(small).lineHeight)")
    box = count.bounding_box()
    # It was cut after the slash, "416" alone on the next line.
    assert box is not None and box["height"] < 1.5 * line


TAP_TARGET_PX = 40


def short_targets(page, targets: dict[str, str]) -> dict[str, float]:
    """The controls (name: selector) of the page that are less than 40 px high."""
    heights = {
        name: page.locator(selector).first.bounding_box() for name, selector in targets.items()
    }
    return {name: box["height"] for name, box in heights.items() if box["height"] < TAP_TARGET_PX}


def test_what_a_finger_taps_is_at_least_40_px_high_on_a_phone(page, commons):
    project = approved_project(UserFactory(username="alice"))
    log_in(page, "alice")
    page.set_viewport_size(PHONE)
    page.goto(reverse("depicts:send", args=[project.pk]))
    # Measured at 24, 21, 21 and 37 px before.
    assert (
        short_targets(
            page,
            {
                "header link": ".topbar nav a:has-text('My projects')",
                "Log out": ".topbar button:has-text('Log out')",
                "Withdraw the approval": "button:has-text('Withdraw the approval')",
                "Send": "button:has-text('Send the selected edits to Commons')",
            },
        )
        == {}
    )
    page.goto(reverse("projects:classify", args=[project.pk]))
    # Every face is answered: the page offers its Undo tool alone (32 px before).
    assert short_targets(page, {"Undo": "#undo-only [data-action=undo]"}) == {}
