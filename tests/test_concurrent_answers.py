"""Reviewers answering at the same moment, each on their own connection, as gunicorn's
workers do: no answer fails because another reviewer answered too, and every one is kept.

Meaningful on MariaDB, where an answer's rows hold shared locks (their foreign keys) on the
project's row; SQLite takes one writer at a time, and the test shows the same outcome there.
"""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from faces.models import Answer, Label
from projects.models import Project
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.ui.conftest import photos_of

REVIEWERS = 12
ROUNDS = 6


def answer_rounds(project: Project, user, faces, barrier: threading.Barrier) -> list[int]:
    """One reviewer's answers, each round started with everybody else's; the statuses."""
    client = Client(raise_request_exception=False)
    client.force_login(user)
    url = reverse("projects:answer", args=[project.pk])
    statuses = []
    try:
        for face in faces:
            barrier.wait(timeout=60)
            body = {"face": face.pk, "verdict": "no", "request_id": str(uuid.uuid4())}
            response = client.post(url, body, content_type="application/json")
            statuses.append(response.status_code)
    finally:
        connection.close()
    return statuses


@pytest.mark.django_db(transaction=True)
def test_reviewers_answering_at_once_all_have_their_answers_stored(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    project = ProjectFactory()
    faces = photos_of(project, REVIEWERS * ROUNDS)
    users = [MembershipFactory(project=project, user=UserFactory()).user for _ in range(REVIEWERS)]
    barrier = threading.Barrier(REVIEWERS)
    statuses: dict[int, list[int]] = {}

    def run(index: int) -> None:
        mine = faces[index * ROUNDS : (index + 1) * ROUNDS]
        statuses[index] = answer_rounds(project, users[index], mine, barrier)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(REVIEWERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answered = [status for index in range(REVIEWERS) for status in statuses.get(index, [])]
    assert answered == [200] * (REVIEWERS * ROUNDS)
    assert Answer.objects.filter(project=project).count() == REVIEWERS * ROUNDS
    human = Label.objects.filter(project=project, source=Label.Source.HUMAN)
    assert human.count() == REVIEWERS * ROUNDS
    assert Project.objects.get(pk=project.pk).rescore_pending
