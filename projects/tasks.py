"""Celery entry points of the projects app."""

from __future__ import annotations

from celery import shared_task

from commons.client import wikidata_client
from core.retry import IN_TASK_RETRY

from . import notifications, services
from .models import Project


@shared_task(name="projects.crawl.refresh_labels", ignore_result=True)
def refresh_labels() -> None:
    """With the periodic re-crawl: the labels of the active projects' persons, read from
    Wikidata again (``services.projects_labels_refresh``); a failure keeps the old ones
    until the next run, so nothing is retried here."""
    with wikidata_client(retry=IN_TASK_RETRY) as client:
        services.projects_labels_refresh(client=client, projects=Project.objects.active())


@shared_task(
    name="projects.default.notification_email",
    ignore_result=True,
    # A mail server down or slow: try again later (smtplib's errors are OSErrors).
    autoretry_for=(OSError,),
    retry_backoff=60,
    retry_backoff_max=3600,
    max_retries=5,
)
def notification_email(notification_id: int) -> None:
    """E-mail one notification to its recipient (see ``notifications.notify``)."""
    notifications.notification_email(notification_id=notification_id)
