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
from faces.services import answers, learner_memory, scoring
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


@pytest.mark.django_db(transaction=True)
def test_an_answer_does_not_wait_for_the_learners_whole_write(monkeypatch):
    """The learner's run writes the project's model labels; an answer given meanwhile goes
    through between two of its statements, not after the whole run's writes."""
    project = ProjectFactory()
    faces = photos_of(project, 4)
    user = MembershipFactory(project=project, user=UserFactory()).user
    scoring.project_rescore(project_id=project.pk)  # the model labels the next run rewrites
    Label.objects.filter(project=project, source=Label.Source.MODEL).update(score=None)
    learner_memory.forget()  # so the run reads them back, and writes every one again
    finished = threading.Event()

    def answer() -> None:
        try:
            answers.answer_record(
                project=project, face=faces[0], user=user, verdict="yes", request_id=uuid.uuid4()
            )
            finished.set()
        finally:
            connection.close()

    answering = threading.Thread(target=answer)

    in_time = []

    def then_answer(write):
        def write_then_answer(project_id, rows, **kwargs) -> None:
            write(project_id, rows, **kwargs)
            if rows and not answering.is_alive() and not in_time:
                answering.start()
                in_time.append(finished.wait(timeout=5))  # the run goes on, whatever happened

        return write_then_answer

    # The learner's first statement that writes rows (labels that exist are updated).
    for name in ("model_upsert", "model_update"):
        monkeypatch.setattr(Label.objects, name, then_answer(getattr(Label.objects, name)))
    scoring.project_rescore(project_id=project.pk)
    answering.join()
    assert in_time == [True]
    assert Answer.objects.filter(project=project, face=faces[0]).count() == 1
