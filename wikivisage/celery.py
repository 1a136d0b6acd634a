"""The Celery app. Queues follow DESIGN.md: crawl, detect, learn, write."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")

app = Celery("wikivisage")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "crawl", "detect", "learn", "write")
app.conf.task_queues = [Queue(name) for name in QUEUES]
# Task names start with their queue ("detect.image", "write.edit"), so routing is by name.
app.conf.task_routes = {f"{queue}.*": {"queue": queue} for queue in QUEUES}
app.autodiscover_tasks()
