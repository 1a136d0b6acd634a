"""``make demo`` in Chromium: the Wikimedia button logs a newcomer in, and the demo account is
offered to link a Wikimedia account on the send page, with a clear answer when that account
is already someone else's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.journey.conftest import App
from tests.journey.test_journey import STOP_TIMEOUT, Journey, log_in

pytestmark = pytest.mark.journey


def test_make_demo_logs_in_with_wikimedia_and_offers_to_link_the_demo_account(
    demo_app: App, journey_browser: Any
) -> None:
    journey_browser.run(walk_the_demo, demo_app)
    seconds = demo_app.services["make-demo"].interrupt_and_wait(timeout=STOP_TIMEOUT)
    print(f"make demo after Ctrl-C: {seconds:.1f} s")


def walk_the_demo(demo_app: App, browser: Any) -> None:
    with Journey(demo_app, browser) as newcomer:
        log_in(newcomer)  # the button, the stand-in's approval, the dashboard
    with Journey(demo_app, browser) as demo:
        log_in_as_demo(demo)
        with demo.step("send-page") as page:
            page.get_by_role("link", name=re.compile("Barack Obama")).first.click()
            page.get_by_role("link", name="Send approved edits").click()
            assert (
                page.get_by_role("button", name="Send the selected edits to Commons").count() == 0
            )
        with demo.step("link-refused") as page:
            # The stand-in's only Wikimedia user is the newcomer's by now.
            page.get_by_role("button", name="Link your Wikimedia account").click()
            page.wait_for_selector("text=already linked to another WikiVisage account")
            assert "/edits/" in page.url


def log_in_as_demo(journey: Journey) -> None:
    with journey.step("demo-login") as page:
        page.goto("/login/")
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.locator("#login-form button[type=submit]").click()
        page.wait_for_url(f"{journey.app.url}/projects/")
