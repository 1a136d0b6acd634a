"""Celery entry points of the depicts writer: thin, by id, in the ``write`` queue.

Retries are decided by the service (which knows a transient failure from a permanent one and
counts attempts on the edit row, so the count survives a lost worker); the task only waits
the delay it is given. Periodic entries for ``settings.CELERY_BEAT_SCHEDULE``::

    "resume-edits": {"task": "depicts.write.resume", "schedule": 300},
    "learn-reverts": {"task": "depicts.learn.reverts", "schedule": 6 * 3600},
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from commons.client import commons_client
from depicts.services import cancel, resume, reverts, sending, undo

# Hard limit below the claim timeout (common.DEFAULT_CLAIM_TIMEOUT): by the time an edit
# counts as abandoned, the worker that held it has certainly been stopped.
WRITE_SOFT_TIME_LIMIT = 270
WRITE_TIME_LIMIT = 300
WRITE_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
    # The service caps failed attempts (sending.MAX_ATTEMPTS); this also bounds throttle
    # waits. An edit whose task ran out of retries stays queued for depicts.write.resume.
    "max_retries": 20,
    "soft_time_limit": WRITE_SOFT_TIME_LIMIT,
    "time_limit": WRITE_TIME_LIMIT,
}


@shared_task(name="depicts.write.edit", **WRITE_OPTIONS)
def write_edit(self, edit_id: int) -> None:
    """Send one queued edit under its sender's login."""
    outcome = sending.edit_send(edit_id=edit_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="depicts.write.revert", **WRITE_OPTIONS)
def write_revert(self, edit_id: int) -> None:
    """Remove one statement WikiVisage wrote, under the login of who asked for the undo."""
    outcome = undo.edit_revert(edit_id=edit_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="depicts.write.resume", ignore_result=True)
def resume_edits() -> None:
    """Periodically: edits left by a dead worker or a lost message go back to the queue
    (additions about files that left their project, should their message be lost, are
    cancelled first)."""
    cancel.edits_of_unlinked_cancel()
    resume.edits_resume()


@shared_task(name="depicts.write.unlinked_cancel", ignore_result=True)
def unlinked_cancel(project_id: int) -> None:
    """After a crawl unlinked files: their unsent additions are cancelled."""
    cancel.edits_of_unlinked_cancel(project_id=project_id)


@shared_task(name="depicts.learn.reverts", ignore_result=True, soft_time_limit=540, time_limit=600)
def learn_reverts() -> None:
    """Periodically: statements removed on Commons by someone else become "no" answers."""
    with commons_client() as client:
        reverts.sent_edits_check(client=client)
