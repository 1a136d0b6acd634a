"""The web process hands work to a separate, real Celery worker process."""

from __future__ import annotations

import os
import uuid

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.workers import celery_worker, wait_for
from wikivisage.celery import app
from wikivisage.health.models import Heartbeat


@pytest.mark.worker
def test_task_sent_from_the_web_process_runs_in_the_worker(client, transactional_db):
    with celery_worker() as worker:
        response = client.post(reverse("health-ping"))
        assert response.status_code == 302
        beat = Heartbeat.objects.get()
        assert wait_for(lambda: Heartbeat.objects.filter(answered_at__isnull=False).exists()), (
            "".join(worker.output[-30:])
        )
    beat.refresh_from_db()
    _host, pid = beat.worker.rsplit(":", 1)
    assert int(pid) != os.getpid()  # answered by another process
    client.force_login(UserFactory(username="mod", is_staff=True))  # staff see who answered
    page = client.get(reverse("health"), HTTP_ACCEPT="application/json").json()
    assert page["worker"] == beat.worker


@pytest.mark.worker
def test_a_message_the_old_code_queued_under_an_old_name_still_runs(transactional_db):
    """At a deploy the queues may hold messages of the old code, named "default.heartbeat"
    and so on: the new worker runs them under the task's new name (wikivisage/celery.py)."""
    beat = Heartbeat.objects.create(token=uuid.uuid4())
    with celery_worker() as worker:
        app.send_task("default.heartbeat", args=[str(beat.token)], queue="default")
        assert wait_for(lambda: Heartbeat.objects.filter(answered_at__isnull=False).exists()), (
            "".join(worker.output[-30:])
        )


@pytest.mark.parametrize(
    ("queues", "detector", "loads"),
    [
        ({"detect", "learn"}, "dlib", True),
        ({"learn", "write"}, "dlib", False),
        ({"detect"}, "http", False),
        ({"detect"}, "http,dlib", True),  # WIKIVISAGE_DETECTORS: dlib among several
    ],
)
def test_a_detect_workers_processes_load_the_models_as_they_start(
    monkeypatch, settings, queues, detector, loads
):
    from celery import current_app

    from faceengine import detection
    from faces.tasks import warm_detector

    loaded = []
    monkeypatch.setattr(detection, "load_models", lambda: loaded.append(True))
    monkeypatch.setattr(
        type(current_app.amqp.queues), "consume_from", property(lambda self: dict.fromkeys(queues))
    )
    settings.WIKIVISAGE_DETECTORS = detector.split(",") if "," in detector else []
    settings.WIKIVISAGE_DETECTOR = detector.split(",")[0]  # ignored beside the list

    warm_detector()

    assert loaded == ([True] if loads else [])
