"""Debian's chromium driven by Playwright against ``live_server``, with the offline Commons.

Every page a test visits can be saved with ``shot(page, name)`` into
``test-artifacts/screenshots/`` for a person to look at. The README's screenshots are made
by ``readme_shot(page, name)`` when ``WIKIVISAGE_SCREENSHOTS`` names a folder (the README's
are in ``docs/screenshots``).
"""

from __future__ import annotations

import copy
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from PIL import Image as PillowImage

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The browser loads thumbnails from the stand-in's upload server, as a reader's browser
# loads them from upload.wikimedia.org; it names the test run in its User-Agent so a
# screenshot's requests are easy to tell apart in the stand-in's records.
BROWSER_USER_AGENT = (
    "WikiVisage-browser-tests/0.1 (https://wikivisage.toolforge.org; wikivisage@toolforge.org)"
)
CSP = "wikivisage.middleware.ContentSecurityPolicyMiddleware"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def browser_settings() -> Iterator[None]:
    """Before the live server starts: the CSP middleware on, cheap password hashing.

    Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make
    between browser steps are plain synchronous code all the same.
    """
    middleware = settings.MIDDLEWARE if CSP in settings.MIDDLEWARE else [*settings.MIDDLEWARE, CSP]
    override = override_settings(
        MIDDLEWARE=middleware,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    )
    override.enable()
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    override.disable()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageProblems:
    """What the browser complained about: script errors and blocked resources (CSP)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def page_error(self, error: Any) -> None:
        self.errors.append(str(error))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(request, browser, live_server) -> Iterator[Any]:
    context = browser.new_context(
        base_url=live_server.url,
        user_agent=BROWSER_USER_AGENT,
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    problems = PageProblems()
    tab.on("console", problems.console)
    tab.on("pageerror", problems.page_error)
    yield tab
    if request.node.stash.get(FAILED, False):
        shot(tab, f"FAILED-{request.node.name}")
    context.close()
    assert problems.errors == [], problems.errors


def shot(page: Any, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


README_SHOTS_VARIABLE = "WIKIVISAGE_SCREENSHOTS"
README_SHOT_MAX_BYTES = 300_000


def readme_shot(page: Any, name: str) -> Path | None:
    """The page as the README shows it, if ``WIKIVISAGE_SCREENSHOTS`` names a folder (relative
    to the repository, or absolute): the desktop viewport, once the thumbnails have loaded, in
    256 colours so each PNG stays small enough to commit (under 300 KB)."""
    folder = os.environ.get(README_SHOTS_VARIABLE, "")
    if not folder:
        return None
    path = ROOT / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    with PillowImage.open(io.BytesIO(page.screenshot(full_page=False))) as image:
        image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    size = path.stat().st_size
    assert size < README_SHOT_MAX_BYTES, f"{path} is {size} bytes"
    return path


def log_in(page: Any, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url("**/projects/")


@pytest.fixture
def browser_world(faces_world) -> dict[str, Any]:
    """The faces world, with two group photos in Barack Obama's category."""
    world = copy.deepcopy(faces_world)
    world["categories"]["Barack Obama"]["files"] += ["Group photo 01.jpg", "Group photo 02.jpg"]
    return world


@pytest.fixture
def commons(make_fake_commons, browser_world):
    return make_fake_commons(browser_world)
