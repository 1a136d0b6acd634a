"""Celery entry points of the face pipeline: thin, by id, in the queues of DESIGN.md."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, current_app, shared_task, signals
from django.conf import settings
from django.utils import timezone

from commons.client import commons_client
from core.enqueue import enqueue, enqueue_each, retry_later
from core.errors import TransientError
from core.retry import IN_TASK_RETRY
from faceengine import detection
from faces.models import Image
from faces.services import (
    bootstrap,
    crawl,
    detect,
    drawn,
    processing,
    reencode,
    rescoring,
    scoring,
)
from projects.models import Project

logger = logging.getLogger(__name__)


@signals.worker_process_init.connect
def warm_detector(**kwargs: Any) -> None:
    """Each process of a worker that takes ``detect`` tasks loads the face models as it starts
    (about 0.5 s), so that its first photo takes no longer than the others."""
    queues = current_app.amqp.queues.consume_from or {}
    listed = settings.WIKIVISAGE_DETECTORS or [settings.WIKIVISAGE_DETECTOR]
    if "dlib" in listed and "detect" in queues:
        detection.load_models()
        logger.info("detection models loaded")


# A task crawls this many batches (of up to 500 members), then hands over to a fresh task:
# no task runs into its time limit, and other projects get their turn in between.
CRAWL_BATCHES_PER_TASK = 20


@shared_task(bind=True, name="faces.crawl.project", acks_late=True)
def crawl_project(self: Task, project_id: int) -> None:
    """Crawl (or continue crawling) a project's category, then bootstrap from P180."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None or not project.accepts_answers:
        return
    # The chain is alive: the periodic re-crawl leaves it alone (without_running_crawl).
    Project.objects.filter(pk=project_id).update(crawl_task_at=timezone.now())
    try:
        _crawl(project)
    except TransientError as error:
        retry_later(self, error)


def _crawl(project: Project) -> None:
    project_id = project.pk
    with commons_client(retry=IN_TASK_RETRY) as client:
        summary = crawl.project_crawl(
            project=project, client=client, max_batches=CRAWL_BATCHES_PER_TASK
        )
        if not summary.finished:
            enqueue("faces.crawl.project", project_id)
            return
        bootstrap.project_bootstrap(project=project, client=client)


@shared_task(name="faces.crawl.recrawl_active", ignore_result=True)
def recrawl_active() -> None:
    """Periodically pick up files added to the categories of active projects, and read
    their persons' labels from Wikidata again (``projects.crawl.refresh_labels``). A project whose
    crawl is under way is left to its own chain of tasks."""
    projects = Project.objects.active().without_running_crawl()
    enqueue_each("faces.crawl.project", projects.values_list("pk", flat=True))
    enqueue("projects.crawl.refresh_labels")


@shared_task(
    bind=True,
    name="faces.detect.image",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def detect_image(self: Task, image_id: int) -> None:
    """Detect this one image (messages queued before ``faces.detect.next``; a run by hand)."""
    if not Image.objects.filter(pk=image_id).exists():
        return
    try:
        with commons_client(retry=IN_TASK_RETRY) as client:
            detect.image_detect(image_id=image_id, client=client)
    except TransientError as error:
        retry_later(self, error)  # the image was handed back, pending, before this


@shared_task(
    bind=True,
    name="faces.detect.next",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def detect_next(self: Task) -> None:
    """Detect one image: the next of the project whose turn it is (one message per image)."""
    try:
        with commons_client(retry=IN_TASK_RETRY) as client:
            detect.image_detect_next(client=client)
    except TransientError as error:
        retry_later(self, error)  # the image was handed back, pending, before this


@shared_task(name="faces.detect.reclaim", ignore_result=True)
def reclaim_images() -> None:
    """Queue again the images whose worker died mid-way, and pending ones never picked up;
    and images whose faces another model encoded, to encode them with the configured one."""
    detect.detect_turns_refresh()
    processing.queue_detection(detect.images_reclaim())
    processing.queue_detection(reencode.images_reencode())


@shared_task(bind=True, name="faces.detect.encode_face", acks_late=True, ignore_result=True)
def encode_face(self: Task, face_id: int) -> None:
    """Encode a face drawn or corrected by hand, then let the learner see it."""
    try:
        with commons_client(retry=IN_TASK_RETRY) as client:
            encoded = drawn.face_encode(face_id=face_id, client=client)
    except TransientError as error:
        retry_later(self, error)
    if encoded:
        project_ids = Project.objects.filter(project_images__image__faces__pk=face_id)
        for project_id in project_ids.values_list("pk", flat=True):
            rescoring.request_rescore(project_id=project_id)


@shared_task(name="faces.learn.project", acks_late=True, ignore_result=True)
def learn_project(project_id: int) -> None:
    """Score every face of the project from all its answers."""
    # Cleared before scoring: answers that arrive meanwhile queue the next run.
    if not Project.objects.filter(pk=project_id).update(rescore_pending=False):
        return
    scoring.project_rescore(project_id=project_id)


@shared_task(name="faces.learn.pending", ignore_result=True)
def learn_pending() -> None:
    """Re-queue re-scorings whose task was lost; a duplicate run is harmless."""
    enqueue_each("faces.learn.project", scoring.projects_awaiting_rescore())
