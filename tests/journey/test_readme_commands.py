"""The README's commands, exactly as it prints them, in a fresh clone: a newcomer's first hour.

The repository is cloned into a temporary folder beside a ``shared`` link (so ``../shared/data``
resolves, as it does for a checkout), and ``make demo``, ``make superuser`` and ``make run`` are
read out of the README's ``sh`` blocks and run there as printed: no variable added, the default
ports (8000 and the stand-in's 8765), the clone's own first install. Chromium logs in to the demo
as demo / demo; ``make superuser`` answers its questions on a terminal beside the running demo;
its account then logs in to ``make run``'s admin. Each Ctrl-C must stop everything warmly.
A README change that breaks one of these commands fails here.
"""

from __future__ import annotations

import os
import pty
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.journey.conftest import MAKE_RUN_START_TIMEOUT, App, artifacts_for, inherited_env
from tests.journey.processes import ROOT, Service, wait_until_answers
from tests.journey.test_demo import log_in_as_demo
from tests.journey.test_journey import STOP_TIMEOUT, Journey, assert_stopped_warmly

pytestmark = pytest.mark.journey

COMMANDS = ("make demo", "make superuser", "make run")
URL = "http://127.0.0.1:8000"
PORTS = (8000, 8765)
# The clone's first `make demo` installs its virtualenv and builds the demo's world first.
FIRST_START_TIMEOUT = 900
# What a person's fresh shell does not have: CI's and pytest's settings, make's own variables.
NOT_IN_A_FRESH_SHELL = (
    "DATABASE_URL",
    "CELERY_",
    "WIKIVISAGE_",
    "DJANGO_",
    "MAKE",
    "MFLAGS",
    "HOST",
    "PORT",
    "WORKERS",
    "DEMO_",
    "STOP_SECONDS",
    "VIRTUAL_ENV",
    "FACES_DATA_DIR",
)


def readme_commands() -> dict[str, str]:
    """Each of COMMANDS as the README's ``sh`` blocks print it (comments left out)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    found = {}
    for command in COMMANDS:
        printed = [line for line in lines if shlex.split(line)[:2] == command.split()]
        assert printed, f"the README prints no `{command}` in a sh block"
        found[command] = printed[0]
    return found


def test_the_readme_prints_the_commands_a_newcomer_needs():
    assert set(readme_commands()) == set(COMMANDS)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh clone of this repository's commit, beside a link to the shared folder (the
    checkout's ../shared, unless FACES_DATA_DIR points the tests elsewhere)."""
    faces = Path(settings.FACES_DATA_DIR)
    assert faces.is_dir() and faces.parts[-2:] == ("data", "faces"), f"{faces}: the photos"
    shared = faces.parents[1]
    home = tmp_path_factory.mktemp("newcomer")
    (home / "shared").symlink_to(shared)
    subprocess.run(["git", "clone", "-q", str(ROOT), str(home / "wikivisage")], check=True)
    return home / "wikivisage"


@pytest.fixture
def newcomer_env() -> dict[str, str]:
    for port in PORTS:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} is taken"
    return {**inherited_env(drop=NOT_IN_A_FRESH_SHELL), "PYTHONUNBUFFERED": "1"}


def started(command: str, *, clone: Path, env: dict[str, str], app: App) -> Service:
    """The README's line run by bash in the clone, as a person types it."""
    name = command.replace(" ", "-")
    service = Service(name, ["bash", "-c", command], env=env, logs=app.artifacts, cwd=clone)
    app.services[name] = service
    return service


def stop_warmly(service: Service) -> None:
    seconds = service.interrupt_and_wait(timeout=STOP_TIMEOUT)
    print(f"{service.name}: every process gone {seconds:.1f} s after Ctrl-C")
    assert_stopped_warmly(service.output())


@pytest.fixture
def app() -> Iterator[App]:
    app = App("readme", URL, None, None, artifacts_for("readme"))
    try:
        yield app
    finally:
        for service in app.services.values():
            service.kill()


def test_the_readme_commands_as_printed_in_a_fresh_clone(clone, newcomer_env, app, journey_browser):
    commands = readme_commands()
    demo = started(commands["make demo"], clone=clone, env=newcomer_env, app=app)
    demo.wait_for_output("Demo ready", timeout=FIRST_START_TIMEOUT)
    wait_until_answers(f"{URL}/", headers={}, server=demo, timeout=60)
    journey_browser.run(walk_the_demo, app)
    # Beside the demo, in another terminal, as the README says.
    password = secrets.token_urlsafe(16)
    transcript = create_superuser(commands["make superuser"], clone, newcomer_env, password)
    (app.artifacts / "make-superuser.log").write_text(transcript)
    assert "Superuser created successfully." in transcript, transcript[-2000:]
    stop_warmly(demo)

    run = started(commands["make run"], clone=clone, env=newcomer_env, app=app)
    run.wait_for_output(" ready.", timeout=MAKE_RUN_START_TIMEOUT)  # the worker
    wait_until_answers(f"{URL}/", headers={}, server=run, timeout=60)
    journey_browser.run(lambda app, browser: walk_the_admin(app, browser, password), app)
    stop_warmly(run)


def walk_the_demo(app: App, browser: Any) -> None:
    with Journey(app, browser) as newcomer:
        with newcomer.step("first-page") as page:
            page.goto("/")
            assert page.get_by_role("heading", name="Who is in this photo?").is_visible()
            page.get_by_role("link", name="Log in to start").click()
            page.wait_for_url(f"{app.url}/login/")
        log_in_as_demo(newcomer)
        with newcomer.step("demo-project") as page:
            assert page.get_by_role("link", name=re.compile("Barack Obama")).first.is_visible()


def walk_the_admin(app: App, browser: Any, password: str) -> None:
    with Journey(app, browser) as admin, admin.step("admin-login") as page:
        page.goto("/admin/login/?next=/admin/")
        page.fill("#id_username", "newcomer")
        page.fill("#id_password", password)
        page.locator("input[type=submit]").click()
        page.wait_for_url(f"{app.url}/admin/")
        assert page.get_by_text("Site administration").is_visible()


PROMPTS = (
    (re.compile(rb"Username[^:]*: $"), "newcomer"),
    (re.compile(rb"Email address: $"), "newcomer@example.org"),
    (re.compile(rb"Password: $"), None),
    (re.compile(rb"Password \(again\): $"), None),
)


def create_superuser(command: str, clone: Path, env: dict[str, str], password: str) -> str:
    """The command on a terminal of its own (createsuperuser asks only on a terminal), its
    questions answered as they come; returns everything it printed."""
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the terminal is its standard input, output and error
        os.chdir(clone)
        os.execvpe("bash", ["bash", "-c", command], env)
    output, todo = b"", list(PROMPTS)
    deadline = time.monotonic() + MAKE_RUN_START_TIMEOUT
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the terminal closed: the command ended
                break
            if not chunk:
                break
            output += chunk
            if todo and todo[0][0].search(output):
                answer = todo.pop(0)[1] or password
                os.write(terminal, answer.encode() + b"\n")
                output += b"\n"
    finally:
        os.close(terminal)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    return text
