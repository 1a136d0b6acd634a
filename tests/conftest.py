"""Shared fixtures: the personas every view is tested with, and Celery run in-process.

Tasks queued by the code under test run eagerly in the test's own process, except inside
``tests.workers.celery_worker``, where a real worker process takes them from the broker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from wikivisage.celery import app as celery_app

pytest_plugins = ["commons.fakecommons.pytest_plugin", "tests.commons.writing"]


@pytest.fixture(scope="session", autouse=True)
def broker_folder_cleanup():
    """The embedded broker's folders of this test run go with it."""
    yield
    folder = Path(settings.WIKIVISAGE_BROKER_DIR)
    if folder.name.startswith("broker-test-"):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def celery_eager():
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


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
