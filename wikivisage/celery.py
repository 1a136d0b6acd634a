"""The Celery app. Queues follow DESIGN.md: crawl, detect, learn, write.

The settings create no folder at import; the folders Celery works in are made here, by the
process that needs them, before it uses them: kombu's filesystem transport lists, writes and
locks files in its folders but makes none of them, and beat opens its schedule file as is.
"""

import os
from pathlib import Path
from typing import Any

from celery import Celery, signals
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")

app = Celery("wikivisage")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "crawl", "detect", "learn", "write")
app.conf.task_queues = [Queue(name) for name in QUEUES]
# Task names start with their queue ("detect.image", "write.edit"), so routing is by name.
app.conf.task_routes = {f"{queue}.*": {"queue": queue} for queue in QUEUES}
app.autodiscover_tasks()

BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def make_broker_folders() -> None:
    """The embedded (filesystem) broker's folders; nothing to make for Redis."""
    if not str(app.conf.broker_url or "").startswith("filesystem://"):
        return
    options = app.conf.broker_transport_options or {}
    for folder in {options[key] for key in BROKER_FOLDERS if options.get(key)}:
        Path(folder).mkdir(parents=True, exist_ok=True)


@signals.import_modules.connect
def prepare_worker_or_beat(**kwargs: Any) -> None:
    """A worker or beat starting, before it connects and before beat opens its schedule.

    A worker started with ``-B`` (``make run``) runs beat in a child process it starts later.
    """
    make_broker_folders()
    Path(app.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)


@signals.before_task_publish.connect
def prepare_sender(**kwargs: Any) -> None:
    """Any process right before it sends a message: the web process sends but starts no worker."""
    make_broker_folders()
