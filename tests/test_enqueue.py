"""The one enqueue seam: by task name, after commit, and a broker that is down never loses a
committed change (the sweeps find the work again). Every name queued is a task, named after
its app and its queue."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from core import enqueue
from wikivisage.celery import QUEUES, RENAMED, app, queue_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_work_leaves_when_the_transaction_commits(queued):
    with transaction.atomic():
        enqueue.enqueue("faces.detect.image", 7)
        assert queued == []
    assert [(q.task, q.args) for q in queued] == [("faces.detect.image", (7,))]


def test_a_rolled_back_change_queues_nothing(queued):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue.enqueue("faces.detect.image", 7)
        raise RuntimeError("rolled back")
    assert queued == []


def test_each_id_is_one_message_and_a_countdown_is_kept(queued):
    enqueue.enqueue_each("depicts.write.edit", [3, 4])
    enqueue.enqueue("faces.learn.project", 5, countdown=2)
    assert [(q.task, q.args, q.countdown) for q in queued] == [
        ("depicts.write.edit", (3,), None),
        ("depicts.write.edit", (4,), None),
        ("faces.learn.project", (5,), 2),
    ]


PRODUCT = ("core", "commons", "projects", "faces", "depicts", "wikivisage")
ROOT = Path(__file__).resolve().parent.parent
SEAM = {"enqueue", "enqueue_each"}


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """The module's top-level ``NAME = value`` assignments."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                found[target.id] = node.value
    return found


def _task_names(argument: ast.expr, constants: dict[str, ast.expr], where: str) -> set[str]:
    """The names an enqueue call's first argument can take: a literal, a module constant, or
    an entry of a module's dict of names (``WRITE_TASKS[kind]``)."""
    if isinstance(argument, ast.Name) and argument.id in constants:
        return _task_names(constants[argument.id], constants, where)
    if isinstance(argument, ast.Subscript):
        return _task_names(argument.value, constants, where)
    if isinstance(argument, ast.Dict):
        return {name for value in argument.values for name in _task_names(value, {}, where)}
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return {argument.value}
    raise AssertionError(f"{where}: a task name this test cannot read: {ast.dump(argument)}")


def queued_names() -> set[str]:
    """Every task name the product hands to the seam, read from the source."""
    names: set[str] = set()
    for path in [p for package in PRODUCT for p in (ROOT / package).rglob("*.py")]:
        if path == ROOT / "core" / "enqueue.py" or "migrations" in path.parts:
            continue  # the seam itself passes its caller's name on
        tree = ast.parse(path.read_text())
        constants = _constants(tree)
        for node in ast.walk(tree):
            func = node.func if isinstance(node, ast.Call) else None
            if getattr(func, "id", getattr(func, "attr", None)) in SEAM and node.args:
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                names |= _task_names(node.args[0], constants, where)
    return names


def registered() -> dict[str, object]:
    """The project's tasks by their own names (the old names in RENAMED are aliases)."""
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if task.name == name}


def test_every_name_queued_by_the_product_is_a_registered_task():
    """Names are the contract between services and tasks: a typo would be lost silently."""
    names = queued_names()
    assert {"faces.crawl.project", "depicts.write.edit", "health.default.heartbeat"} <= names
    assert names <= set(registered()), names - set(registered())


def test_every_scheduled_task_is_registered():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled <= set(registered()), scheduled - set(registered())


def test_a_task_is_named_after_its_app_then_its_queue():
    """``<app>.<queue>.<what>``: the app whose tasks module defines it, and the queue its
    name routes it to (wikivisage/celery.py)."""
    ours = {name: task for name, task in registered().items() if not name.startswith("celery.")}
    assert len(ours) > 15
    for name, task in ours.items():
        owner = apps.get_containing_app_config(type(task).__module__)
        label, queue, what = name.split(".")
        assert owner is not None and label == owner.label, (name, type(task).__module__)
        assert queue in QUEUES and queue_of(name) == queue and what, name
        assert app.amqp.router.route({}, name)["queue"].name == queue, name


def test_a_message_under_an_old_name_runs_the_renamed_task():
    tasks = registered()
    app.loader.import_default_modules()
    for old, new in RENAMED.items():
        assert app.tasks[old] is tasks[new], old


def test_a_broker_that_is_down_is_logged_and_the_commit_stands(monkeypatch, caplog):
    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(enqueue, "send", enqueue.send_to_broker)
    monkeypatch.setattr(app, "send_task", refused)
    caplog.set_level(logging.WARNING, logger="core.enqueue")
    with transaction.atomic():
        enqueue.enqueue("faces.learn.project", 5)
    assert "faces.learn.project" in caplog.text and "sweep" in caplog.text
