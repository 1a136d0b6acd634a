"""Celery entry points of the face pipeline: thin, by id, in the queues of DESIGN.md."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from commons.client import TransientError, commons_client
from faces.models import Image
from faces.services import pipeline
from projects.models import Project

logger = logging.getLogger(__name__)

RETRY: dict[str, Any] = {
    "autoretry_for": (TransientError,),
    "retry_backoff": 30,
    "retry_backoff_max": 1800,
    "retry_jitter": True,
    "max_retries": 8,
}


# A task crawls this many batches (of up to 500 members), then hands over to a fresh task:
# no task runs into its time limit, and other projects get their turn in between.
CRAWL_BATCHES_PER_TASK = 20


@shared_task(name="crawl.project", acks_late=True, **RETRY)
def crawl_project(project_id: int) -> None:
    """Crawl (or continue crawling) a project's category, then bootstrap from P180."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not project.accepts_answers:
        return
    with commons_client() as client:
        summary = pipeline.project_crawl(
            project=project, client=client, max_batches=CRAWL_BATCHES_PER_TASK
        )
        if not summary.finished:
            crawl_project.delay(project_id)
            return
        pipeline.project_bootstrap(project=project, client=client)


@shared_task(name="crawl.recrawl_active", ignore_result=True)
def recrawl_active() -> None:
    """Periodically pick up files added to the categories of active projects."""
    for project_id in Project.objects.active().values_list("pk", flat=True):
        crawl_project.delay(project_id)


@shared_task(
    name="detect.image", acks_late=True, reject_on_worker_lost=True, ignore_result=True, **RETRY
)
def detect_image(image_id: int) -> None:
    if not Image.objects.filter(pk=image_id).exists():
        return
    with commons_client() as client:
        pipeline.image_detect(image_id=image_id, client=client)


@shared_task(name="detect.reclaim", ignore_result=True)
def reclaim_images() -> None:
    """Queue again the images whose worker died mid-way, and pending ones never picked up."""
    for image_id in pipeline.images_reclaim():
        detect_image.delay(image_id)


@shared_task(name="detect.encode_face", acks_late=True, ignore_result=True, **RETRY)
def encode_face(face_id: int) -> None:
    """Encode a face drawn or corrected by hand, then let the learner see it."""
    with commons_client() as client:
        if pipeline.face_encode(face_id=face_id, client=client):
            from faces.services import scoring

            project_ids = Project.objects.filter(
                project_images__image__faces__pk=face_id
            ).values_list("pk", flat=True)
            for project_id in project_ids:
                scoring.request_rescore(project_id=project_id)


@shared_task(name="learn.project", acks_late=True, ignore_result=True)
def learn_project(project_id: int) -> None:
    """Score every face of the project from all its answers."""
    from faces.services import scoring

    # Cleared before scoring: answers that arrive meanwhile queue the next run.
    if not Project.objects.filter(pk=project_id).update(rescore_pending=False):
        return
    scoring.project_rescore(project_id=project_id)


@shared_task(name="learn.pending", ignore_result=True)
def learn_pending() -> None:
    """Re-queue re-scorings whose task was lost; a duplicate run is harmless."""
    from faces.services import scoring

    for project_id in scoring.projects_awaiting_rescore():
        learn_project.delay(project_id)
