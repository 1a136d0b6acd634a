"""Celery entry points of the site's own pages (those that combine apps)."""

from __future__ import annotations

from celery import shared_task

from wikivisage.uploads.services import uploaders_notify


@shared_task(name="wikivisage.default.uploader_notices", ignore_result=True)
def uploader_notices() -> None:
    """Periodic (beat): tell uploaders of new suggestions on their files, at most once a day
    each (``wikivisage.uploads.services.uploaders_notify``); a failed run waits for the next."""
    uploaders_notify()
