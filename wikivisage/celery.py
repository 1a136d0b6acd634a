"""The Celery app. Queues follow DESIGN.md: crawl, detect, learn, write.

The settings create no folder at import; the folders Celery works in are made here, by the
process that needs them, before it uses them: kombu's filesystem transport lists, writes and
locks files in its folders but makes none of them, and beat opens its schedule file as is.
"""

import os
import time
from pathlib import Path
from typing import Any

from celery import Celery, signals
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")

app = Celery("wikivisage")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "crawl", "detect", "learn", "write")
app.conf.task_queues = [Queue(name) for name in QUEUES]
# A task's name is "<app>.<queue>.<what>" ("faces.detect.image", "depicts.write.edit"): the
# app that owns it, then its queue, so that routing is by name, in the web process too (which
# never imports the task modules).
app.conf.task_routes = {f"*.{queue}.*": {"queue": queue} for queue in QUEUES}
app.autodiscover_tasks()

# The names before "<app>.<queue>.<what>". A message the old code queued and a worker of the
# new code takes runs under its new name (a retry goes out under the new one). Drop these
# once no queue holds a message of the old code (README, "Upgrading").
RENAMED = {
    "crawl.project": "faces.crawl.project",
    "crawl.recrawl_active": "faces.crawl.recrawl_active",
    "detect.image": "faces.detect.image",
    "detect.next": "faces.detect.next",
    "detect.reclaim": "faces.detect.reclaim",
    "detect.encode_face": "faces.detect.encode_face",
    "learn.project": "faces.learn.project",
    "learn.pending": "faces.learn.pending",
    "learn.reverts": "depicts.learn.reverts",
    "write.edit": "depicts.write.edit",
    "write.revert": "depicts.write.revert",
    "write.resume": "depicts.write.resume",
    "write.unlinked_cancel": "depicts.write.unlinked_cancel",
    "crawl.refresh_labels": "projects.crawl.refresh_labels",
    "default.notification_email": "projects.default.notification_email",
    "default.heartbeat": "health.default.heartbeat",
    "default.watch_write_queue": "health.default.watch_write_queue",
    **{f"{queue}.queue_heartbeat": f"health.{queue}.queue_heartbeat" for queue in QUEUES},
}

BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def make_broker_folders() -> None:
    """The embedded (filesystem) broker's folders; nothing to make for Redis."""
    if not str(app.conf.broker_url or "").startswith("filesystem://"):
        return
    options = app.conf.broker_transport_options or {}
    for folder in {options[key] for key in BROKER_FOLDERS if options.get(key)}:
        Path(folder).mkdir(parents=True, exist_ok=True)


@signals.import_modules.connect
def accept_old_names(**kwargs: Any) -> None:
    """A worker or beat, once the task modules are imported (``autodiscover_tasks`` above
    connected first): each old name finds the task of its new name."""
    for old, new in RENAMED.items():
        app.tasks[old] = app.tasks[new]


@signals.import_modules.connect
def prepare_worker_or_beat(**kwargs: Any) -> None:
    """A worker or beat starting, before it connects and before beat opens its schedule.

    A worker started with ``-B`` (``make run``) runs beat in a child process it starts later.
    """
    make_broker_folders()
    Path(app.conf.beat_schedule_filename).parent.mkdir(parents=True, exist_ok=True)


@signals.worker_process_init.connect
def leave_the_workers_process_group(**kwargs: Any) -> None:
    """A pool process takes a process group of its own.

    honcho (``make run``, ``make demo``) stops a worker by sending SIGTERM to its whole process
    group: the pool processes died of it mid-shutdown, each an ERROR line, and the main process,
    which waits for them, outlived honcho's 5 s and was killed. Out of the group, only the main
    process gets the signal and stops them warmly, as it does under Docker or Kubernetes (which
    signal the main process alone). Celery makes each pool process die with its parent
    (PR_SET_PDEATHSIG), so a killed worker still leaves none behind.
    """
    os.setpgid(0, 0)


@signals.before_task_publish.connect
def prepare_sender(**kwargs: Any) -> None:
    """Any process right before it sends a message: the web process sends but starts no worker."""
    make_broker_folders()


def queue_of(task_name: str) -> str:
    """The queue a task goes to: the middle of its name (the routes above)."""
    parts = task_name.split(".")
    queue = parts[1] if len(parts) == 3 else ""
    return queue if queue in QUEUES else app.conf.task_default_queue


@signals.before_task_publish.connect
def stamp_heartbeat(sender: str | None = None, headers: dict | None = None, **kwargs: Any) -> None:
    """A queue's heartbeat (sent by beat) carries when it left: the worker that answers it
    records how long it waited behind the queue's backlog."""
    if headers is not None and str(sender).endswith(".queue_heartbeat"):
        from wikivisage.health.tasks import HEARTBEAT_SENT_AT

        headers[HEARTBEAT_SENT_AT] = time.time()


@signals.beat_init.connect
def first_heartbeats(**kwargs: Any) -> None:
    """Beat starting (alone, or inside a worker with ``-B``): a heartbeat to every queue now.

    The schedule's first heartbeat leaves one interval after beat starts: until then /health
    showed every queue "stale", answered "never", for over a minute after ``make run``.
    """
    from wikivisage.health.models import QueueHealth
    from wikivisage.health.tasks import queue_heartbeat_name

    for queue in QUEUES:
        app.send_task(queue_heartbeat_name(queue), args=[queue])
    # Until a worker answers, /health says "starting", not "stale" (for the stale limit).
    QueueHealth.objects.beat_started(QUEUES)


@signals.task_failure.connect
def count_failure(
    sender: Any = None, exception: BaseException | None = None, **kwargs: Any
) -> None:
    """A task failed for good (retries are not failures): counted on its queue's health row.
    Runs in the worker process that ran the task; Celery logs a handler's own error."""
    from wikivisage.health.models import QueueHealth

    name = getattr(sender, "name", "") or ""
    QueueHealth.objects.failed(
        queue=queue_of(name),
        failure=f"{name}: {type(exception).__name__}",
        window=settings.WIKIVISAGE_FAILURE_WINDOW_SECONDS,
    )
