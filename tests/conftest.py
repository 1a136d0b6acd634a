"""Shared fixtures: the personas every view is tested with, and the queue as a record.

Work the code under test queues (``core.enqueue``) is recorded in ``queued``, not run:
a test calls the task function it means to test. Inside ``tests.workers.celery_worker`` the
messages go to the broker, where a real worker process takes them.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from core import enqueue
from faces.services import learner_memory
from tests.factories import MembershipFactory, ProjectFactory, UserFactory

pytest_plugins = ["fakecommons.pytest_plugin", "tests.depicts.writing"]


@pytest.fixture(scope="session", autouse=True)
def broker_folder_cleanup():
    """The embedded broker's folders of this test run go with it."""
    yield
    folder = Path(settings.WIKIVISAGE_BROKER_DIR)
    if folder.name.startswith("broker-test-"):
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Queued:
    task: str
    args: tuple[Any, ...]
    countdown: float | None = None


@pytest.fixture(autouse=True)
def fresh_rate_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rate limits count in the cache, which outlives a test: each test starts with none
    used (the test settings' cache is the process's own memory). The minute they count in is
    held still, so a test that crosses a minute of the clock does not find its count reset;
    ``tests.ui.test_rate_limits`` moves it on where a test needs the next minute."""
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr("core.ratelimit.current_minute", lambda: 29_000_000)


@pytest.fixture(autouse=True)
def learner_forgets() -> Iterator[None]:
    """Each test starts with a learner that remembers no project (test databases reuse ids)."""
    learner_memory.forget()
    yield
    learner_memory.forget()


@pytest.fixture(autouse=True)
def queued(monkeypatch) -> list[Queued]:
    """What the code under test asked workers to do, in order, as it left (at commit)."""
    record: list[Queued] = []
    monkeypatch.setattr(
        enqueue, "send", lambda task, args, countdown: record.append(Queued(task, args, countdown))
    )
    return record


@pytest.fixture
def owner(db):
    return UserFactory(username="owner")


@pytest.fixture
def project(owner):
    return ProjectFactory(
        owner=owner,
        qid="Q76",
        category="Barack Obama",
        person_labels={"en": "Barack Obama", "fr": "Barack Obama"},
    )


@pytest.fixture
def member(project):
    return MembershipFactory(project=project, user=UserFactory(username="member")).user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def moderator(db):
    return UserFactory(username="moderator", is_staff=True, is_superuser=True)


@pytest.fixture
def client_of(client):
    """``client_of(user)`` → the test client logged in as that user."""

    def login(user):
        client.force_login(user)
        return client

    return login
