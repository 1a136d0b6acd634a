"""The one enqueue seam: by task name, after commit, and a broker that is down never loses a
committed change (the sweeps find the work again)."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction
from kombu.exceptions import OperationalError

from core import enqueue
from wikivisage.celery import app

pytestmark = pytest.mark.django_db(transaction=True)


def test_work_leaves_when_the_transaction_commits(queued):
    with transaction.atomic():
        enqueue.enqueue("detect.image", 7)
        assert queued == []
    assert [(q.task, q.args) for q in queued] == [("detect.image", (7,))]


def test_a_rolled_back_change_queues_nothing(queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue.enqueue("detect.image", 7)
        raise RuntimeError("rolled back")
    assert queued == []


def test_each_id_is_one_message_and_a_countdown_is_kept(queued):
    enqueue.enqueue_each("write.edit", [3, 4])
    enqueue.enqueue("learn.project", 5, countdown=2)
    assert [(q.task, q.args, q.countdown) for q in queued] == [
        ("write.edit", (3,), None),
        ("write.edit", (4,), None),
        ("learn.project", (5,), 2),
    ]


def test_every_name_queued_by_the_product_is_a_registered_task():
    """Names are the contract between services and tasks: a typo would be lost silently."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    names = set()
    for path in [*root.glob("[dfpcw]*/**/*.py")]:
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", ""))
                in ("enqueue", "enqueue_each")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names.add(node.args[0].value)
    app.loader.import_default_modules()
    assert names, "no enqueue call found"
    assert names <= set(app.tasks), names - set(app.tasks)


def test_a_broker_that_is_down_is_logged_and_the_commit_stands(monkeypatch, caplog):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(enqueue, "send", enqueue.send_to_broker)
    monkeypatch.setattr(app, "send_task", refused)
    caplog.set_level(logging.WARNING, logger="core.enqueue")
    with transaction.atomic():
        enqueue.enqueue("learn.project", 5)
    assert "learn.project" in caplog.text and "sweep" in caplog.text
