"""The journey (issue #10): a contributor's whole path, in Chromium, through real processes.

Log in with the Wikimedia button, create a project, watch its photos being processed, answer
by keyboard until the grid suggests, find the "suggestions ready" notification, approve, send,
read the statements back from the stand-in's API, undo the batch, read again. Once as
production runs (gunicorn, Celery per queue, MariaDB, Redis, WhiteNoise, debug off, behind a
TLS proxy) and once as ``make run``.

Any console error, page error, CSP violation, failed request of the site, or stylesheet or
script that does not load fails the walk. Every step leaves a full-page screenshot in
``test-artifacts/journey/<shape>/``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.browser.conftest import BROWSER_USER_AGENT
from tests.journey.conftest import LONG_RUNNING, App
from tests.journey.processes import poll

pytestmark = pytest.mark.journey

# A contributor answers every face at most once; the category holds this many.
MAX_ANSWERS = 20
PROCESSING_TIMEOUT = 240
WRITE_TIMEOUT = 120
# A re-scoring starts two seconds after an answer and takes well under a second here.
LEARNER_TIMEOUT = 15
# honcho gives the worker 20 s (the Makefile's STOP_SECONDS) to stop warmly; it needs about 9.
STOP_TIMEOUT = 25
# Scripts read the stand-in's API as WikiVisage does: the etiquette is the same for both.
API_USER_AGENT = (
    "WikiVisage-journey-test/0.1 (https://wikivisage.toolforge.org; wikivisage@toolforge.org)"
)
PCT_REGION = re.compile(r"^pct:\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?,\d+(\.\d+)?$")


def test_journey_in_the_production_shape(production_app, journey_browser):
    journey_browser.run(walk, production_app)
    production_app.assert_still_running(LONG_RUNNING)


def test_journey_in_the_embedded_shape(embedded_app, journey_browser):
    journey_browser.run(walk, embedded_app)
    make = embedded_app.services["make-run"]
    seconds = make.interrupt_and_wait(timeout=STOP_TIMEOUT)
    print(f"make run: every process gone {seconds:.1f} s after Ctrl-C")
    assert_stopped_warmly(make.output())


def assert_stopped_warmly(log: str) -> None:
    """After Ctrl-C, no process was killed and none logged an error (a pool process killed by
    the SIGTERM honcho sends its whole process group logs ERROR in the worker)."""
    stop = log[log.rindex("SIGINT received") :]
    problems = [line for line in stop.splitlines() if re.search(r"ERROR|Traceback|SIGKILL", line)]
    assert not problems, "\n".join(problems)


def walk(app: App, browser: Any) -> None:
    started = time.monotonic()
    with Journey(app, browser) as journey:
        log_in(journey)
        project = create_project(journey)
        watch_processing(journey)
        answer_until_suggested(journey, project)
        notified_of_suggestions(journey)
        approved = approve_suggestions(journey, project)
        send_approved(journey, approved)
        assert_depicts_exactly(app, approved)
        undo_batch(journey, len(approved))
        assert_depicts_exactly(app, set())
    app.stand_in.assert_no_internal_errors()
    walked = time.monotonic() - started
    print(f"{app.shape}: walked in {walked:.1f} s; {len(journey.assets_checked)} assets loaded")


class Journey:
    """One contributor's browser, watched for every problem a person would see or not see."""

    def __init__(self, app: App, browser: Any) -> None:
        self.app = app
        self.context = browser.new_context(
            base_url=app.url,
            user_agent=BROWSER_USER_AGENT,
            extra_http_headers=app.headers,
            viewport={"width": 1280, "height": 900},
            locale="en-GB",
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.assets_checked: set[str] = set()
        self.steps = 0
        self.label = "00-start"
        self.context.on("console", self._console)
        self.context.on("weberror", lambda e: self.saw(f"page error: {e.error}"))
        self.context.on("response", self._response)

    def __enter__(self) -> Journey:
        return self

    def __exit__(self, failure: type[BaseException] | None, *rest: object) -> None:
        self.context.close()
        report = "the browser saw problems:\n" + "\n".join(self.problems)
        if failure is not None:
            print(report)  # beside the failure, which stays the one reported
            return
        assert not self.problems, report

    def saw(self, problem: str) -> None:
        """Problems fail the walk at its end, all of them listed with the step they came in."""
        self.problems.append(f"{self.label}: {problem}")

    def _console(self, message: Any) -> None:
        # CSP violations are console errors in Chromium, as are resources that failed.
        if message.type == "error":
            self.saw(f"console error ({message.location.get('url')}): {message.text}")

    def _response(self, response: Any) -> None:
        if response.url.startswith(self.app.url) and response.status >= 400:
            self.saw(f"{response.status} {response.request.method} {response.url}")

    @contextmanager
    def step(self, name: str) -> Iterator[Any]:
        """A step of the walk: a screenshot after it; on failure, the logs' tails too."""
        self.steps += 1
        label = f"{self.steps:02d}-{name}"
        self.label = label
        try:
            yield self.page
            self.assert_assets_load()
        except BaseException:
            self.shot(f"{label}-FAILED")
            print(f"step {label} failed ({self.app.shape}); logs:\n{self.app.tails()}")
            raise
        self.shot(label)

    def shot(self, label: str) -> None:
        self.page.screenshot(path=str(self.app.artifacts / f"{label}.png"), full_page=True)

    def assert_assets_load(self) -> None:
        """Every stylesheet and script of the page answers 200 with a body (not a 404 page)."""
        if not self.page.url.startswith(self.app.url):
            return
        for url in self._asset_urls():
            if url in self.assets_checked:
                continue
            response = self.context.request.get(url)
            if response.status != 200 or not response.body():
                self.saw(f"asset {url}: {response.status}, {len(response.body())} B")
            self.assets_checked.add(url)

    def _asset_urls(self) -> list[str]:
        links = self.page.locator("link[rel=stylesheet]").all()
        scripts = self.page.locator("script[src]").all()
        found = [e.get_attribute("href") for e in links] + [e.get_attribute("src") for e in scripts]
        return [urljoin(self.page.url, url) for url in found if url]

    def get_json(self, path: str) -> Any:
        response = self.context.request.get(path, headers={"Accept": "application/json"})
        assert response.ok, f"{path}: {response.status}"
        return response.json()

    def get_text(self, path: str) -> str:
        response = self.context.request.get(path)
        assert response.ok, f"{path}: {response.status}"
        return response.text()


# --- the steps --------------------------------------------------------------------------------


def log_in(journey: Journey) -> None:
    with journey.step("login-page") as page:
        page.goto("/login/")
    with journey.step("logged-in") as page:
        # The stand-in's Special:OAuth approves at once and sends the browser back.
        page.get_by_text("Log in with your Wikimedia account").click()
        page.wait_for_url(f"{journey.app.url}/projects/")
        assert page.get_by_role("button", name=re.compile("^Log out")).is_visible()


@dataclass(frozen=True)
class Project:
    path: str  # /projects/<id>/
    min_answers: int  # the form's default: a contributor leaves it as it is


def create_project(journey: Journey) -> Project:
    world = journey.app.world
    with journey.step("new-project") as page:
        follow(page, page.locator("header.topbar").get_by_role("link", name="New project"))
        page.fill("#id_qid", world.qid)
        page.keyboard.press("Tab")  # leaving the field checks the person on Wikidata
        page.wait_for_selector(f"#person-card .qid >> text={world.qid}")
        page.fill("#id_category", world.category)
    with journey.step("project-created") as page:
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/projects/\d+/$"))
        path = re.sub(r"^https?://[^/]+", "", page.url)
        return Project(path, int(page.input_value("#id_min_answers")))


def watch_processing(journey: Journey) -> None:
    """The progress bar, updated by the page itself, reaches every photo of the category."""
    photos = journey.app.world.photos
    with journey.step("processed") as page:
        bar = page.locator("#bar-processed")
        done = poll(
            lambda: bar.get_attribute("value") == bar.get_attribute("max") == str(photos),
            timeout=PROCESSING_TIMEOUT,
            interval=1,
        )
        assert done, (
            f"after {PROCESSING_TIMEOUT} s the bar shows {bar.get_attribute('value')} of "
            f"{bar.get_attribute('max')}, not {photos} of {photos}"
        )
        assert page.text_content("dd[data-key=errors]") == "0"


def answer_until_suggested(journey: Journey, project: Project) -> None:
    """Y or N, truthfully, until the learner suggests a face of its own.

    Faces answered yes wait in the grid from the first answer on; the learner suggests once
    the project has its minimum of answers. From then on the contributor looks at the
    grid after each answer, giving the learner (a background task) time to catch up: a
    contributor who only answered would in the end answer every face, leaving nothing to
    suggest in a category this small.
    """
    with journey.step("classify") as page:
        follow(page, page.get_by_role("link", name="Answer questions"))
        page.wait_for_selector("#stage:not([hidden])")
    with journey.step("answered") as page:
        answers = confirmed = 0
        while answers < project.min_answers or not learner_suggests(journey, project):
            assert answers < MAX_ANSWERS, f"no suggestion after {answers} answers, {confirmed} yes"
            truth = journey.app.world.shows_person(page.text_content("#file-link") or "")
            press_and_move_on(page, "y" if truth else "n")
            answers, confirmed = answers + 1, confirmed + truth
        # The answers leave through the page's outbox: all of them must have arrived.
        counted = poll(lambda: answered_count(journey, project) == answers, timeout=30)
        assert counted, f"{answers} answers, the project counts {answered_count(journey, project)}"
        print(f"{journey.app.shape}: the learner suggested after {answers} answers")


def notified_of_suggestions(journey: Journey) -> None:
    """The bell in the top bar counts the learner's news; its list says suggestions are ready."""
    with journey.step("notified") as page:
        ready = '#notifications li.notification[data-kind="suggestions_ready"]'
        bell = page.locator("#notifications-bell")

        def told() -> bool:
            page.goto("/notifications/")  # the bell counts on each page load
            return page.locator(ready).count() == 1

        assert poll(told, timeout=LEARNER_TIMEOUT, interval=1), "no suggestions-ready notification"
        assert int(bell.get_attribute("data-unread") or 0) >= 1


def follow(page: Any, link: Any) -> None:
    """Clicks what loads another page, and waits until that page's scripts have run."""
    with page.expect_navigation():
        link.click()


def press_and_move_on(page: Any, key: str) -> None:
    """Answers with ``key`` and waits for the next face (the page may briefly load one)."""
    before = page.get_attribute("#stage", "data-face")
    page.keyboard.press(key)
    page.wait_for_selector(f'#stage:not([hidden]):not([data-face="{before}"])')


def answered_count(journey: Journey, project: Project) -> int:
    return int(journey.get_json(f"{project.path}status.json")["answered"])


def file_name(title: str) -> str:
    return title.strip().removeprefix("File:")


def learner_suggests(journey: Journey, project: Project) -> bool:
    """Whether the grid, filtered to the learner's own suggestions, shows one within a while."""
    grid = f"{project.path}suggestions/?source=model"
    return bool(poll(lambda: "data-card" in journey.get_text(grid), timeout=LEARNER_TIMEOUT))


def approve_suggestions(journey: Journey, project: Project) -> set[str]:
    """Selects the right faces by keyboard and approves them; the files approved."""
    with journey.step("suggestions") as page:
        page.goto(f"{project.path}suggestions/")
        page.wait_for_selector("[data-card]")
        assert not page.locator("a[rel=next]").count(), "the suggestions fill more than a page"
        offered = [file_name(t) for t in page.locator("[data-card] a.file").all_text_contents()]
        right = [journey.app.world.shows_person(name) for name in offered]
        print(f"{journey.app.shape}: the grid offers {dict(zip(offered, right, strict=True))}")
    with journey.step("approved") as page:
        select_by_keyboard(page, right)
        with page.expect_navigation():
            page.keyboard.press("Shift+A")  # approves the selection
        left = [file_name(t) for t in page.locator("[data-card] a.file").all_text_contents()]
        assert left == [name for name, ok in zip(offered, right, strict=True) if not ok]
    return {name for name, ok in zip(offered, right, strict=True) if ok}


def select_by_keyboard(page: Any, wanted: list[bool]) -> None:
    """The first arrow key enters the grid; Space selects, ArrowRight moves on."""
    page.keyboard.press("ArrowRight")
    for position, select in enumerate(wanted):
        if select:
            page.keyboard.press("Space")
        if position < len(wanted) - 1:
            page.keyboard.press("ArrowRight")


def send_approved(journey: Journey, approved: set[str]) -> None:
    with journey.step("send-page") as page:
        follow(page, page.get_by_role("link", name="Go to the send page"))
        previews = page.locator(".edit-preview figcaption strong").all_text_contents()
        assert {file_name(title) for title in previews} == approved
    with journey.step("sent") as page:
        follow(page, page.get_by_role("button", name="Send the selected edits to Commons"))
        wait_for_edit_states(page, "sent", count=len(approved))


def undo_batch(journey: Journey, count: int) -> None:
    with journey.step("undone") as page:
        # No reload: the page redraws its batches table once every edit has arrived, and
        # only then offers to undo the batch; undoing asks first, with the count.
        follow(page, page.get_by_role("link", name="Undo this batch"))
        confirm = re.compile(rf"Remove {count} statements? from Commons")
        follow(page, page.get_by_role("button", name=confirm))
        wait_for_edit_states(page, "reverted", count=count)
        # The way back: the undone edits wait above, approved, to be sent again.
        page.locator("#approved .edit-preview .undone").nth(count - 1).wait_for()


def wait_for_edit_states(page: Any, wanted: str, *, count: int) -> None:
    """Until the send page's table, polled by its own script, shows every edit ``wanted``."""
    rows = page.locator("#edit-states tbody tr")

    def states() -> list[str]:
        return [row.get_attribute("data-state") or "" for row in rows.all()]

    done = poll(lambda: len(states()) == count and set(states()) == {wanted}, timeout=WRITE_TIMEOUT)
    assert "failed" not in states(), "\n".join(rows.all_inner_texts())
    assert done, f"edits are {states()}, not {count} {wanted}"


# --- reading Commons back ------------------------------------------------------------------------


def assert_depicts_exactly(app: App, approved: set[str]) -> None:
    """Each approved file has one P180 of the person, with a face region; no other file has."""
    statements = depicts_statements(app, list(app.world.identity_of))
    for name, found in statements.items():
        values = [s["mainsnak"]["datavalue"]["value"]["id"] for s in found]
        if name not in approved:
            assert values == [], f"{name} was not approved but depicts {values}"
            continue
        assert values == [app.world.qid], f"{name} depicts {values}, not [{app.world.qid}]"
        regions = [q["datavalue"]["value"] for q in found[0].get("qualifiers", {}).get("P2677", [])]
        assert len(regions) == 1 and PCT_REGION.match(regions[0]), f"{name}: region {regions}"


def depicts_statements(app: App, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """File name → its P180 statements, read through the stand-in's public API."""
    pages = commons_api(app, action="query", titles="|".join(f"File:{n}" for n in names))
    mids = {f"M{p['pageid']}": p["title"].removeprefix("File:") for p in pages["query"]["pages"]}
    entities = commons_api(app, action="wbgetentities", ids="|".join(mids))["entities"]
    # formatversion=2 prints a file without statements as an empty list, not an object.
    statements = {name: entities[mid].get("statements") or {} for mid, name in mids.items()}
    return {name: found.get("P180", []) for name, found in statements.items()}


def commons_api(app: App, **params: str) -> dict[str, Any]:
    response = requests.get(
        app.stand_in.commons_api,
        params={**params, "format": "json", "formatversion": "2", "maxlag": "5"},
        headers={"User-Agent": API_USER_AGENT},
        timeout=30,
    )
    response.raise_for_status()
    data = response.json()
    assert "error" not in data, data["error"]
    return data
