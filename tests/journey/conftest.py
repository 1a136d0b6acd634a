"""WikiVisage started the two ways it really runs, against the stand-in started as a process.

- ``production_app``: the services of docker-compose.yml as separate processes (migrate, then
  gunicorn, three Celery workers and beat) with debug off, a fresh MariaDB database, Redis
  under a key prefix of its own, and static files collected and served by WhiteNoise.
- ``embedded_app``: ``make run``, as a newcomer types it, on SQLite and the filesystem broker
  in a temporary data folder.

Nothing here uses pytest-django's test database or ``live_server``: the app runs in its own
processes, as it does for its users. Every process writes its output to
``test-artifacts/journey/<shape>/<service>.log``; teardown kills every process they started and
drops what it created, whatever happened.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from playwright.sync_api import sync_playwright

from fakecommons.oauth import DEFAULT_CONSUMER_KEY, DEFAULT_CONSUMER_SECRET
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.journey.processes import (
    ROOT,
    VENV_BIN,
    Service,
    compose_commands,
    free_port,
    wait_until_answers,
)
from tests.journey.world import JourneyWorld, write_journey_world

ARTIFACTS = ROOT / "test-artifacts" / "journey"
MARIADB = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
REDIS_URL = "redis://127.0.0.1:6379/14"
# Production sits behind Toolforge's TLS proxy: the browser says so on every request.
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
LONG_RUNNING = ("web", "worker", "detect", "writer", "beat")
# The first `make run` of a checkout may install the virtualenv's packages first.
MAKE_RUN_START_TIMEOUT = 600


@dataclass
class StandIn:
    service: Service
    url: str

    @property
    def commons_api(self) -> str:
        return f"{self.url}/commons/w/api.php"

    def env(self, callback: str) -> dict[str, str]:
        """What points WikiVisage at the stand-in, its OAuth consumer included."""
        return {
            "COMMONS_API_URL": self.commons_api,
            "WIKIDATA_API_URL": f"{self.url}/wikidata/w/api.php",
            "SOCIAL_AUTH_MEDIAWIKI_URL": f"{self.url}/meta/w/index.php",
            "SOCIAL_AUTH_MEDIAWIKI_KEY": DEFAULT_CONSUMER_KEY,
            "SOCIAL_AUTH_MEDIAWIKI_SECRET": DEFAULT_CONSUMER_SECRET,
            "SOCIAL_AUTH_MEDIAWIKI_CALLBACK": callback,
        }

    def assert_no_internal_errors(self) -> None:
        assert "fakecommons failed" not in self.service.output(), self.service.tail(60)


@dataclass
class App:
    """WikiVisage running in one shape, and what a test needs to walk through it."""

    shape: str
    url: str
    world: JourneyWorld | None
    stand_in: StandIn | None
    artifacts: Path
    headers: dict[str, str] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def callback(self) -> str:
        return oauth_callback(self.url)

    def tails(self, lines: int = 30) -> str:
        own = [self.stand_in.service] if self.stand_in else []  # make demo runs its own
        parts = [*own, *self.services.values()]
        return "\n".join(f"--- {s.log.name} (last {lines} lines)\n{s.tail(lines)}" for s in parts)

    def assert_still_running(self, names: tuple[str, ...]) -> None:
        ended = {n: self.services[n].popen.poll() for n in names if n in self.services}
        ended = {n: code for n, code in ended.items() if code is not None}
        assert not ended, f"services ended during the walk: {ended}\n{self.tails()}"


def oauth_callback(app_url: str) -> str:
    """The callback registered with the OAuth consumer on meta."""
    return f"{app_url}/oauth/complete/mediawiki/"


def artifacts_for(shape: str) -> Path:
    """A clean folder per shape: screenshots and logs of an earlier run would mislead."""
    folder = ARTIFACTS / shape
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def journey_world(tmp_path_factory: pytest.TempPathFactory) -> JourneyWorld:
    manifest = Path(settings.FACES_DATA_DIR) / "manifest.csv"
    return write_journey_world(manifest, tmp_path_factory.mktemp("journey-world"))


class BrowserThread:
    """Chromium, driven from a thread of its own.

    Playwright's sync API allows one instance per thread, and the browser tests keep theirs
    open on the main thread for the whole session; every call to this browser must come
    from the thread that started it, so whole walks run there.
    """

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journey-browser")
        self.playwright = self.executor.submit(lambda: sync_playwright().start()).result()
        launch = self.playwright.chromium.launch
        self.browser = self.executor.submit(
            launch, executable_path=CHROMIUM, args=CHROMIUM_ARGS
        ).result()

    def run(self, walk: Callable[[App, Any], None], app: App) -> None:
        self.executor.submit(walk, app, self.browser).result()

    def close(self) -> None:
        self.executor.submit(self.browser.close).result()
        self.executor.submit(self.playwright.stop).result()
        self.executor.shutdown()


@pytest.fixture(scope="session")
def journey_browser() -> Iterator[BrowserThread]:
    browser = BrowserThread()
    yield browser
    browser.close()


def inherited_env(*, drop: tuple[str, ...]) -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(drop)}


@contextmanager
def stand_in_running(world: JourneyWorld, *, callback: str, logs: Path) -> Iterator[StandIn]:
    port = free_port()
    env = {
        **inherited_env(drop=("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")),
        "PYTHONUNBUFFERED": "1",
    }
    args = [str(VENV_BIN / "python"), "-m", "fakecommons", "serve", "--world", str(world.path)]
    args += ["--port", str(port), "--callback", callback, "--user", world.user]
    service = Service("fakecommons", args, env=env, logs=logs)
    try:
        service.wait_for_output("SOCIAL_AUTH_MEDIAWIKI_SECRET=", timeout=60)
        yield StandIn(service, f"http://127.0.0.1:{port}")
    finally:
        service.kill()


@contextmanager
def services_of(app: App) -> Iterator[App]:
    """Yields the app; on the way out every process it started is killed, whatever happened.

    A start that fails prints the tails of the logs: the reason is nearly always in one.
    """
    try:
        yield app
    except BaseException:
        print(f"WikiVisage ({app.shape}) failed; the last lines of its processes:\n{app.tails()}")
        raise
    finally:
        for service in reversed(list(app.services.values())):
            service.kill()


def new_app(
    stack: ExitStack, shape: str, world: JourneyWorld, *, headers: dict | None = None
) -> App:
    """An app on a free port, its stand-in running; its processes end with ``stack``."""
    app_url = f"http://127.0.0.1:{free_port()}"
    artifacts = artifacts_for(shape)
    stand_in = stack.enter_context(
        stand_in_running(world, callback=oauth_callback(app_url), logs=artifacts)
    )
    app = App(shape, app_url, world, stand_in, artifacts, dict(headers or {}))
    stack.enter_context(services_of(app))
    return app


# --- production shape ------------------------------------------------------------------------


@contextmanager
def mariadb_database() -> Iterator[str]:
    """A fresh utf8mb4 database; its URL. Dropped at the end."""
    import MySQLdb

    name = f"wikivisage_journey_{secrets.token_hex(4)}"
    with MySQLdb.connect(**MARIADB) as connection:
        connection.cursor().execute(
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    try:
        yield f"mysql://{MARIADB['user']}@{MARIADB['host']}:{MARIADB['port']}/{name}"
    finally:
        with MySQLdb.connect(**MARIADB) as connection:
            connection.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of our own on the shared Redis; its keys are deleted at the end."""
    import redis

    prefix = f"wikivisage-journey-{secrets.token_hex(4)}:"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)


def production_env(base: dict[str, str], *, app: App, data: Path) -> dict[str, str]:
    return {
        **inherited_env(drop=("DJANGO_", "DATABASE_", "CELERY_", "WIKIVISAGE_", "SOCIAL_AUTH_")),
        **base,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The browser's Origin is http: the TLS proxy of production is only a header here.
        "DJANGO_CSRF_TRUSTED_ORIGINS": app.url,
        "DJANGO_STATIC_ROOT": str(data / "staticfiles"),
        "WIKIVISAGE_DATA_DIR": str(data / "var"),
        "WIKIVISAGE_TOKEN_KEY": Fernet.generate_key().decode(),
        "PYTHONUNBUFFERED": "1",
    }


def start_compose_services(app: App, env: dict[str, str], *, bind: str) -> None:
    """collectstatic (the image build), migrate (to completion), then the long-running ones."""
    logs = app.artifacts
    collect = [str(VENV_BIN / "python"), "manage.py", "collectstatic", "--no-input"]
    app.services["collectstatic"] = Service("collectstatic", collect, env=env, logs=logs)
    app.services["collectstatic"].run_to_completion(timeout=120)
    commands = compose_commands(env, bind=bind)
    app.services["migrate"] = Service("migrate", commands.pop("migrate"), env=env, logs=logs)
    app.services["migrate"].run_to_completion(timeout=300)
    for name, args in commands.items():
        app.services[name] = Service(name, args, env=env, logs=logs)
    wait_until_answers(f"{app.url}/", headers=app.headers, server=app.services["web"], timeout=60)
    app.assert_still_running(LONG_RUNNING)


@pytest.fixture
def production_app(journey_world: JourneyWorld, tmp_path: Path) -> Iterator[App]:
    with ExitStack() as stack:
        # Left in reverse order: the processes stop before their database and keys go.
        servers = {
            "DATABASE_URL": stack.enter_context(mariadb_database()),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_KEY_PREFIX": stack.enter_context(redis_prefix()),
        }
        app = new_app(stack, "production", journey_world, headers=PROXY_HEADERS)
        env = production_env({**servers, **app.stand_in.env(app.callback)}, app=app, data=tmp_path)
        start_compose_services(app, env, bind=app.url.removeprefix("http://"))
        yield app


# --- embedded shape ----------------------------------------------------------------------------


@pytest.fixture
def embedded_app(journey_world: JourneyWorld, tmp_path: Path) -> Iterator[App]:
    with ExitStack() as stack:
        app = new_app(stack, "embedded", journey_world)
        # Only what must point elsewhere: the stand-in, a temporary data folder (SQLite and
        # the broker live there) and a token key. CI's second pass sets the server URLs, and
        # `make test` its own make's flags and pytest the test settings: a person types
        # `make run` in a fresh shell.
        drop = (
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "WIKIVISAGE_BROKER_DIR",
            "MAKE",
            "MFLAGS",
            "DJANGO_SETTINGS_MODULE",
        )
        env = {
            **inherited_env(drop=drop),
            **app.stand_in.env(app.callback),
            "WIKIVISAGE_DATA_DIR": str(tmp_path / "var"),
            "WIKIVISAGE_TOKEN_KEY": Fernet.generate_key().decode(),
        }
        host, port = app.url.removeprefix("http://").split(":")
        args = ["make", "run", f"HOST={host}", f"PORT={port}"]
        make = app.services["make-run"] = Service("make-run", args, env=env, logs=app.artifacts)
        wait_until_answers(f"{app.url}/", headers={}, server=make, timeout=MAKE_RUN_START_TIMEOUT)
        yield app


# --- make demo ----------------------------------------------------------------------------------


@pytest.fixture
def demo_app(tmp_path: Path) -> Iterator[App]:
    """``make demo`` as a newcomer types it, its data in a temporary folder."""
    port, stand_in_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    artifacts = artifacts_for("demo")
    with ExitStack() as stack:
        app = App("demo", url, None, None, artifacts)
        stack.enter_context(services_of(app))
        drop = ("DATABASE_URL", "CELERY_BROKER_URL", "WIKIVISAGE_", "MAKE", "DJANGO_SETTINGS")
        env = inherited_env(drop=drop)
        args = ["make", "demo", "HOST=127.0.0.1", f"PORT={port}"]
        args += [f"DEMO_STANDIN_PORT={stand_in_port}", f"DEMO_DIR={tmp_path / 'demo'}"]
        make = app.services["make-demo"] = Service("make-demo", args, env=env, logs=artifacts)
        make.wait_for_output("Demo ready", timeout=MAKE_RUN_START_TIMEOUT)
        wait_until_answers(f"{url}/", headers={}, server=make, timeout=60)
        yield app
