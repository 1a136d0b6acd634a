"""A real Celery worker process for the tests that need one.

The worker is a separate process, as in production: it reads the same test database
(SQLite file or MariaDB test schema) and the same broker (filesystem or Redis) as the test.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from core import enqueue

ROOT = Path(__file__).resolve().parent.parent
QUEUES = "default,crawl,detect,learn,write"


def database_url() -> str:
    """The URL of the database this test session uses (the test schema, not the real one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    port = f":{db['PORT']}" if db["PORT"] else ""
    return f"mysql://{db['USER']}{password}@{db['HOST']}{port}/{db['NAME']}"


class WorkerProcess:
    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.output: list[str] = []
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)
            if " ready." in line:
                self.ready.set()

    def wait_ready(self, timeout: float = 90) -> None:
        if not self.ready.wait(timeout):
            self.stop()
            raise RuntimeError("Celery worker did not start:\n" + "".join(self.output[-40:]))

    def kill(self) -> None:
        """SIGKILL the whole process group: the worker dies mid-task, as on an OOM kill."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def celery_worker(
    *, concurrency: int = 1, extra_env: dict[str, str] | None = None, purge: bool = True
) -> Iterator[WorkerProcess]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
        "PYTHONUNBUFFERED": "1",
        "WIKIVISAGE_BROKER_DIR": str(settings.WIKIVISAGE_BROKER_DIR),
        **(extra_env or {}),
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "wikivisage",
        "worker",
        "-Q",
        QUEUES,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"test-{secrets.token_hex(4)}@%h",
    ]
    if purge:
        command.append("--purge")
    popen = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    worker = WorkerProcess(popen)
    recorder = enqueue.send
    enqueue.send = enqueue.send_to_broker  # the test process sends; the worker runs
    try:
        worker.wait_ready()
        yield worker
    finally:
        enqueue.send = recorder
        worker.stop()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
