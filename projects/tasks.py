"""Celery entry points of the projects app."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(name="default.heartbeat", ignore_result=True)
def heartbeat(token: str) -> None:
    """Answer a ping from the web process (see ``services.heartbeat_send``)."""
    services.heartbeat_answer(token=token)
