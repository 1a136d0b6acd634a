"""One retry policy: inside a task the client tries once, and the queue retries the task
with TASK_RETRY's backoff (Retry-After a floor) — attempts never multiply, no worker sleeps
holding an image."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.exceptions import Retry

from core.enqueue import retry_later
from core.errors import TransientError
from core.retry import TASK_RETRY
from faces.models import Image
from faces.services import crawl
from faces.services import detect as detect_service
from faces.tasks import detect_image
from tests.pipeline.test_pipeline import client

pytestmark = pytest.mark.django_db


class TaskAt:
    """What ``retry_later`` sees of a Celery task at its ``retries``-th retry."""

    def __init__(self, retries: int) -> None:
        self.request = SimpleNamespace(retries=retries)
        self.asked: dict[str, object] = {}

    def retry(self, **options: object) -> Retry:
        self.asked = options
        return Retry()


def test_the_queue_retries_with_the_policys_backoff():
    task = TaskAt(retries=2)
    with pytest.raises(Retry):
        retry_later(task, TransientError("http-503"))
    backoff = TASK_RETRY.base_delay * 2**2
    assert backoff / 2 <= task.asked["countdown"] <= backoff
    assert task.asked["max_retries"] == TASK_RETRY.max_attempts - 1


def test_a_servers_retry_after_is_a_floor():
    task = TaskAt(retries=0)
    with pytest.raises(Retry):
        retry_later(task, TransientError("maxlag", retry_after=300.0))
    assert task.asked["countdown"] == 300.0


def test_past_the_last_attempt_the_error_stands():
    error = TransientError("http-503")
    with pytest.raises(TransientError) as raised:
        retry_later(TaskAt(retries=TASK_RETRY.max_attempts - 1), error)
    assert raised.value is error


@pytest.mark.django_db(transaction=True)
def test_a_detect_task_makes_one_request_per_attempt(stand_in, obama_project, monkeypatch):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
    image = Image.objects.get(title="File:Obama 2.jpg")
    stand_in.inject("http503", times=2, target="upload")
    runs = []
    detect = detect_service.image_detect
    monkeypatch.setattr(detect_service, "image_detect", lambda **kw: runs.append(1) or detect(**kw))
    detect_image.apply(args=[image.pk])  # as a worker runs it, retries included (no countdown)
    image.refresh_from_db()
    thumbnails = [r for r in stand_in.requests if r.site == "upload" and "Obama_2" in r.path]
    assert image.state == Image.State.DONE
    assert [r.status for r in thumbnails] == [503, 503, 200]
    assert len(runs) == 3  # each failed request was a task attempt, not a sleep inside one
