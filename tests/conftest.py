"""Shared fixtures: the personas every view is tested with."""

from __future__ import annotations

import pytest

from tests.factories import MembershipFactory, ProjectFactory, UserFactory


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
