"""A write that MariaDB refuses for a moment (a deadlock, a lock wait timeout) is run again,
whole, by the server, before any error reaches the contributor."""

from __future__ import annotations

import uuid

import pytest
from django.db import OperationalError, transaction
from django.urls import reverse

from core import transactions
from faces.models import Answer, Label
from faces.services import answers, undo
from tests.ui.conftest import answer_body, photos_of

DEADLOCK = OperationalError(1213, "Deadlock found when trying to get lock; try restarting")


@pytest.fixture(autouse=True)
def no_pause(monkeypatch):
    monkeypatch.setattr(transactions, "FIRST_PAUSE_SECONDS", 0)


def failing(times: int, error: OperationalError, then=lambda: "done"):
    calls = []

    def run(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise error
        return then(*args, **kwargs)

    return run, calls


@pytest.mark.django_db(transaction=True)
def test_an_answer_refused_by_a_deadlock_is_tried_again_and_stored(
    client_of, owner, project, monkeypatch
):
    face = photos_of(project, 1)[0]
    # The deadlock strikes mid-way, after the answer's first rows: InnoDB rolls it all back.
    align, calls = failing(1, DEADLOCK, then=answers.twins_align)
    monkeypatch.setattr(answers, "twins_align", align)
    response = client_of(owner).post(
        reverse("projects:answer", args=[project.pk]),
        answer_body(face, "yes"),
        content_type="application/json",
    )
    assert (response.status_code, response.json()["stored"], len(calls)) == (200, True, 2)
    assert Answer.objects.filter(face=face).count() == 1
    assert Label.objects.filter(face=face, source=Label.Source.HUMAN).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_undo_refused_by_a_lock_wait_timeout_takes_back_one_step(owner, project, monkeypatch):
    first, second = photos_of(project, 2)
    for face in (first, second):
        answers.answer_record(
            project=project, face=face, user=owner, verdict="yes", request_id=face_request(face)
        )
    timeout = OperationalError(1205, "Lock wait timeout exceeded; try restarting transaction")
    restore, calls = failing(1, timeout, then=undo._label_restore)
    monkeypatch.setattr(undo, "_label_restore", restore)
    outcome = undo.answer_undo(project=project, user=owner)
    assert outcome is not None and [a.face_id for a in outcome.answers] == [second.pk]
    assert len(calls) == 2
    assert list(Answer.objects.filter(undone_at__isnull=True).values_list("face", flat=True)) == [
        first.pk
    ]


def face_request(face):
    return uuid.uuid5(uuid.NAMESPACE_OID, str(face.pk))


def test_a_deadlock_is_tried_again_a_bounded_number_of_times():
    run, calls = failing(99, DEADLOCK)
    with pytest.raises(OperationalError):
        transactions.retried(run)()
    assert len(calls) == transactions.ATTEMPTS


def test_other_database_errors_are_not_tried_again():
    run, calls = failing(1, OperationalError(2006, "MySQL server has gone away"))
    with pytest.raises(OperationalError):
        transactions.retried(run)()
    assert len(calls) == 1


@pytest.mark.django_db
def test_inside_an_enclosing_transaction_the_caller_runs_again_not_the_part():
    """InnoDB rolled back the whole transaction: running only this part would be wrong."""
    run, calls = failing(1, DEADLOCK)
    with pytest.raises(OperationalError), transaction.atomic():
        transactions.retried(run)()
    assert len(calls) == 1
