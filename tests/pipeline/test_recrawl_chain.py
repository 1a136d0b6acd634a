"""The periodic re-crawl leaves a crawl under way to its own chain of tasks (a second chain
would crawl the category twice at once), but continues one whose chain was lost."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from faces import tasks
from projects.models import CRAWL_CHAIN_LOST, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_batch_per_task(monkeypatch):
    monkeypatch.setattr(tasks, "CRAWL_BATCHES_PER_TASK", 1)


def crawl_task(project, capture) -> None:
    """One ``faces.crawl.project`` task, as a worker runs it (its next task queued at commit)."""
    with capture(execute=True):
        tasks.crawl_project(project.pk)


def recrawl_queues(project, queued, capture) -> bool:
    """Whether beat's periodic re-crawl queues a crawl of the project."""
    queued.clear()
    with capture(execute=True):
        tasks.recrawl_active()
    return ("faces.crawl.project", (project.pk,)) in [(job.task, job.args) for job in queued]


def test_a_crawl_under_way_gets_no_second_chain_from_the_recrawl(
    stand_in, obama_project, one_batch_per_task, queued, django_capture_on_commit_callbacks
):
    crawl_task(obama_project, django_capture_on_commit_callbacks)  # one batch of several
    obama_project.refresh_from_db()
    assert obama_project.crawl_cursor is not None
    assert "faces.crawl.project" in [job.task for job in queued]  # its own next task
    assert not recrawl_queues(obama_project, queued, django_capture_on_commit_callbacks)


def test_a_crawl_whose_chain_was_lost_is_continued_by_the_recrawl(
    stand_in, obama_project, one_batch_per_task, queued, django_capture_on_commit_callbacks
):
    crawl_task(obama_project, django_capture_on_commit_callbacks)
    queued.clear()  # the chain's next message is lost
    long_ago = timezone.now() - CRAWL_CHAIN_LOST - timedelta(minutes=1)
    Project.objects.filter(pk=obama_project.pk).update(crawl_task_at=long_ago)
    assert recrawl_queues(obama_project, queued, django_capture_on_commit_callbacks)


def test_a_finished_crawl_is_crawled_again_by_the_recrawl(
    stand_in, obama_project, queued, django_capture_on_commit_callbacks
):
    crawl_task(obama_project, django_capture_on_commit_callbacks)  # the whole category
    obama_project.refresh_from_db()
    assert obama_project.crawl_cursor is None and obama_project.crawled_at is not None
    assert recrawl_queues(obama_project, queued, django_capture_on_commit_callbacks)
