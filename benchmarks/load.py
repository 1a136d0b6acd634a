"""An edit-a-thon's load on the production shape: K contributors answering at a human pace.

    .venv/bin/python benchmarks/load.py [--contributors 1,10,25,50] [--seconds 40]
        [--photos 20000] [--projects 2] [--web-workers 3] [--worker-nice 0]
        [--mariadb URL] [--redis URL]

1. The production shape on loopback: gunicorn (``--web-workers``, debug off, static files
   collected and served by WhiteNoise, every request with the TLS proxy's header as in
   tests/journey), Celery workers per queue as docker-compose.yml has them (default + crawl +
   learn, and write; nothing is left to detect), a fresh MariaDB database and a Redis key
   prefix of their own for the broker and the cache (rate limits), all removed afterwards.
   ``--worker-nice N`` starts the Celery workers at that niceness: on one machine it stands
   for what separates them from the web service in production (Toolforge gives each job and
   the webservice CPU of their own, jobs.yaml), so the learner's bursts do not take the web
   tier's cores.
2. A world of ``--photos`` photos over ``--projects`` projects, seeded straight into the
   database (``seedproject``: faces, random encodings, the learner's labels): detecting 20,000
   photos would take hours on 2 cores, and the contributors below never fetch a thumbnail.
3. For each K of ``--contributors``: K contributors, logged in by a session made server-side,
   each on one of the shared projects, take a question (``next.json``) and answer it
   (``answer.json``, which brings the next one) every 0.7-2 s, truthfully (a face has one true
   verdict, whoever is asked). A transient failure (5xx, no connection) is sent again with the
   same request id, as the classify page does. One contributor in five also opens the
   suggestion grid now and then and approves a few faces, and opens the send page.
   Bounded by ``--seconds`` per K.
4. Reported per K: per endpoint p50/p95/p99 and errors; answers lost (a 200 without its row)
   or doubled (two answers on one face of a project); faces served to two contributors at
   once; re-scoring lag (an answer's 200 until the learner's summary counts it); the
   database's peak connections of this app (its processlist, sampled) and the server's
   Max_used_connections; the peak RSS of the web and worker processes, and the CPU time each
   of them took (the learner's share is the workers'), and the CPU time of this driver
   (its contributors' threads share the same cores).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import random
import re
import secrets
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import (  # noqa: E402
    CLOCK_TICKS,
    _children,
    _cpu_ticks,
    _mariadb,
    _redis_forget,
)

VENV_BIN = Path(sys.executable).parent
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}  # as tests/journey: behind Toolforge's TLS proxy
PACE = (0.7, 2.0)  # seconds between two keypresses
APPROVER_EVERY = 5  # one contributor in five also approves in the grid
GRID_EVERY = 15  # answers between two visits of the grid
FACES_PER_PHOTO = 2.17  # seedproject's mix of portraits, pairs and groups
SAMPLE_SECONDS = 0.25


# --- the app, as production runs it --------------------------------------------------------


@dataclass
class App:
    url: str
    env: dict[str, str]
    database: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def pids(self, *names: str) -> list[int]:
        """The processes of ``names`` (all by default): each master and its pool."""
        chosen = [self.processes[name] for name in names] if names else self.processes.values()
        masters = [p.pid for p in chosen if p.poll() is None]
        return masters + [child for pid in masters for child in _children(pid)]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of the web server and of the Celery workers."""
        return {
            "web": sum(map(_cpu_ticks, self.pids("web"))) / CLOCK_TICKS,
            "workers": sum(map(_cpu_ticks, self.pids("worker", "writer"))) / CLOCK_TICKS,
        }


def app_env(folder: Path, database_url: str, redis: str, prefix: str, port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    url = f"http://127.0.0.1:{port}"
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    return {
        **keep,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis,
        "CELERY_KEY_PREFIX": prefix,
        "CACHE_URL": redis,
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_CSRF_TRUSTED_ORIGINS": url,
        "DJANGO_STATIC_ROOT": str(folder / "static"),
        "WIKIVISAGE_DATA_DIR": str(folder / "var"),
        "WIKIVISAGE_TOKEN_KEY": Fernet.generate_key().decode(),
        "DJANGO_SETTINGS_MODULE": "wikivisage.settings",
        "PYTHONUNBUFFERED": "1",
    }


@contextlib.contextmanager
def production_app(args: argparse.Namespace, folder: Path) -> Iterator[App]:
    token = secrets.token_hex(4)
    database, prefix = f"wikivisage_load_{token}", f"wikivisage-load-{token}:"
    server = urlsplit(args.mariadb)
    _mariadb(server, f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    port = _free_port()
    env = app_env(folder, server._replace(path=f"/{database}").geturl(), args.redis, prefix, port)
    app = App(url=f"http://127.0.0.1:{port}", env=env, database=database)
    try:
        os.environ.update(env)
        _run(["manage.py", "collectstatic", "--no-input", "-v0"], env)
        _run(["manage.py", "migrate", "--no-input", "-v0"], env)
        _start(app, folder, args.web_workers, args.worker_nice)
        yield app
    finally:
        for popen in app.processes.values():
            popen.terminate()
        for popen in app.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout=20)
        from django.db import connections

        connections.close_all()
        _mariadb(server, f"DROP DATABASE IF EXISTS {database}")
        _redis_forget(args.redis, prefix)


def _start(app: App, folder: Path, web_workers: int, worker_nice: int) -> None:
    port = urlsplit(app.url).port
    commands = {
        "web": f"gunicorn wikivisage.wsgi --bind 127.0.0.1:{port} --workers {web_workers} "
        "--timeout 30",
        "worker": "celery -A wikivisage worker -n worker@%h -Q default,crawl,learn "
        "--concurrency 1 --max-tasks-per-child 200",
        "writer": "celery -A wikivisage worker -n writer@%h -Q write --concurrency 1",
    }
    for name, command in commands.items():
        log = (folder / f"{name}.log").open("wb")
        argv = [str(VENV_BIN / command.split()[0]), *command.split()[1:]]
        if name != "web" and worker_nice:
            argv = ["nice", "-n", str(worker_nice), *argv]
        app.processes[name] = subprocess.Popen(
            argv, cwd=ROOT, env=app.env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{app.url}/health", headers=PROXY_HEADERS, timeout=5)
            return
        time.sleep(0.5)
    raise RuntimeError(f"gunicorn did not answer; see {folder / 'web.log'}")


def _run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run([str(VENV_BIN / "python"), *argv], cwd=ROOT, env=env, check=True)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the world and the people ------------------------------------------------------------


def seed_world(photos: int, projects: int) -> list[int]:
    """``projects`` projects of ``photos / projects`` photos each; their learner may run."""
    from django.core.management import call_command

    from benchmarks.commands import seedproject
    from projects.models import Project

    ids = []
    faces = int(photos / projects * FACES_PER_PHOTO) + 1
    for number in range(projects):
        out = io.StringIO()
        call_command(seedproject.Command(), faces=faces, owner="seed", seed=number + 1, stdout=out)
        ids.append(int(out.getvalue().strip()))
    Project.objects.filter(pk__in=ids).update(rescore_pending=False)
    return ids


def contributors(count: int, project_ids: list[int], run: str) -> list[tuple[str, int]]:
    """``count`` members, each with a session cookie and the project they work on."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.models import User
    from django.contrib.sessions.backends.db import SessionStore

    from projects.models import Membership

    people = []
    for index in range(count):
        user = User.objects.create_user(f"load-{run}-{index}", password=None)
        project_id = project_ids[index % len(project_ids)]
        Membership.objects.create(project_id=project_id, user=user, role=Membership.Role.REVIEWER)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        people.append((session.session_key or "", project_id))
    return people


def truth(face_id: int) -> str:
    """The face's true verdict: the same whoever is asked."""
    return "yes" if (face_id * 2654435761) % 100 < 30 else "no"


# --- a contributor --------------------------------------------------------------------------


@dataclass
class Record:
    """What every contributor saw, shared by their threads (appends are atomic)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    stored: list[tuple[int, float, str]] = field(default_factory=list)  # project, when, request
    holds: list[tuple[int, int, str, float, float]] = field(default_factory=list)
    approved: list[tuple[int, float]] = field(default_factory=list)


class Contributor:
    def __init__(self, app: App, session: str, project_id: int, record: Record) -> None:
        self.app, self.project_id, self.record = app, project_id, record
        self.who = session[:8]
        csrf = "".join(random.choices(string.ascii_letters + string.digits, k=32))
        self.http = requests.Session()
        self.http.cookies.set("sessionid", session)
        self.http.cookies.set("csrftoken", csrf)
        self.http.headers.update(
            {**PROXY_HEADERS, "X-CSRFToken": csrf, "Origin": app.url, "Referer": app.url + "/"}
        )
        self.base = f"{app.url}/projects/{project_id}"

    def request(self, name: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        """One request, timed; a transient failure is sent again as it was (same body)."""
        for _attempt in range(5):
            started = time.monotonic()
            try:
                response = self.http.request(
                    method, self.base + path, timeout=30, allow_redirects=False, **kwargs
                )
            except requests.RequestException:
                self.record.errors[name] += 1
                continue
            self.record.latencies[name].append(time.monotonic() - started)
            if response.status_code < 500:
                return response
            self.record.errors[name] += 1
            time.sleep(1)
        raise RuntimeError(f"{name}: no answer after 5 tries")

    def work(self, until: float, approver: bool) -> None:
        question = self.request("next", "GET", "/classify/next.json").json().get("question")
        answered = 0
        while question and time.monotonic() < until:
            face = question["face"]["id"]
            served = time.time()
            time.sleep(random.uniform(*PACE))
            request_id = str(uuid.uuid4())
            body = {"face": face, "verdict": truth(face), "request_id": request_id}
            response = self.request("answer", "POST", "/classify/answer.json", json=body)
            data = response.json()
            self.record.holds.append((self.project_id, face, self.who, served, time.time()))
            if response.status_code == 200:
                self.record.stored.append((self.project_id, time.time(), request_id))
            else:
                self.record.errors["answer refused"] += 1
            question = data.get("next")
            answered += 1
            if approver and answered % GRID_EVERY == 0:
                self.grid()

    def grid(self) -> None:
        page = self.request("grid", "GET", "/suggestions/").text
        faces = sorted(set(re.findall(r'name="face" value="(\d+)"', page)))[:3]
        if faces:
            form = {"face": faces, "next": ""}
            self.request("approve", "POST", "/suggestions/approve/", data=form)
            self.record.approved.extend((self.project_id, time.time()) for _ in faces)
        self.request("send page", "GET", "/edits/")


# --- what the servers do meanwhile ----------------------------------------------------------


@dataclass
class Samples:
    connections: list[int] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    learned: dict[int, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))


def sample(app: App, project_ids: list[int], samples: Samples, stop: threading.Event) -> None:
    from django.db import connection

    from projects.models import Project

    while not stop.is_set():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> "
                "CONNECTION_ID()",
                [app.database],
            )
            samples.connections.append(int(cursor.fetchone()[0]))
        for pk, learning in Project.objects.filter(pk__in=project_ids).values_list(
            "pk", "learning"
        ):
            samples.learned[pk].append((time.time(), int((learning or {}).get("answers", 0))))
        samples.rss_mb.append(sum(_rss_kb(pid) for pid in app.pids()) / 1024)
        stop.wait(SAMPLE_SECONDS)
    connection.close()


def _rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# --- one round: K contributors ---------------------------------------------------------------


def round_of(app: App, k: int, seconds: float, project_ids: list[int]) -> dict[str, Any]:
    people = contributors(k, project_ids, run=secrets.token_hex(3))
    record, samples, stop = Record(), Samples(), threading.Event()
    sampler = threading.Thread(target=sample, args=(app, project_ids, samples, stop))
    sampler.start()
    cpu_before, locks_before = app.cpu_seconds(), row_lock_waits()
    driver_before = time.process_time()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=Contributor(app, session, project_id, record).work,
            args=(until, index % APPROVER_EVERY == APPROVER_EVERY - 1),
        )
        for index, (session, project_id) in enumerate(people)
    ]
    for thread in threads:
        thread.start()
        time.sleep(random.uniform(0, PACE[1] / max(k, 1)))  # people do not all start at once
    for thread in threads:
        thread.join()
    time.sleep(10)  # the learner's last runs
    stop.set()
    sampler.join()
    cpu = {name: spent - cpu_before[name] for name, spent in app.cpu_seconds().items()}
    cpu["driver"] = time.process_time() - driver_before
    locks = [after - before for before, after in zip(locks_before, row_lock_waits(), strict=True)]
    return {"k": k, "cpu_seconds": cpu, "row_lock_waits": locks, **results(app, record, samples)}


def row_lock_waits() -> tuple[int, int]:
    """The server's row lock waits so far, and the milliseconds spent in them (every
    database of the server: other users' share is in it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Innodb_row_lock_%'")
        status = dict(cursor.fetchall())
    return int(status["Innodb_row_lock_waits"]), int(status["Innodb_row_lock_time"])


def results(app: App, record: Record, samples: Samples) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count

    from faces.models import Answer

    sent = [request_id for _p, _t, request_id in record.stored]
    kept = Answer.objects.filter(request_id__in=sent).count()
    doubled = (
        Answer.objects.filter(request_id__in=sent, undone_at__isnull=True)
        .values("project", "face")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Max_used_connections'")
        max_used = int(cursor.fetchone()[1])
    return {
        "endpoints": {name: _percentiles(v) for name, v in record.latencies.items()},
        "errors": dict(record.errors),
        "answers": len(sent),
        "lost": len(sent) - kept,
        "doubled": doubled,
        "served_twice": _served_twice(record.holds),
        "lag": _percentiles(_lags(record, samples)),
        "connections_peak": max(samples.connections, default=0),
        "server_max_used_connections": max_used,
        "rss_mb_peak": max(samples.rss_mb, default=0.0),
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values), "p50": values[0] if values else 0.0, "p95": 0.0, "p99": 0.0}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def _served_twice(holds: list[tuple[int, int, str, float, float]]) -> int:
    """Faces two contributors held at overlapping times (served, not yet answered)."""
    by_face: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    for project, face, who, start, end in holds:
        by_face[(project, face)].append((start, end, who))
    twice = 0
    for spans in by_face.values():
        spans.sort()
        twice += any(b[0] < a[1] and a[2] != b[2] for a, b in itertools.pairwise(spans))
    return twice


def _lags(record: Record, samples: Samples) -> list[float]:
    """For the n-th answer of a project (approvals count too), the time until the learner's
    summary counted n answers more than at the start."""
    events: dict[int, list[float]] = defaultdict(list)
    for project, when, _request in record.stored:
        events[project].append(when)
    for project, when in record.approved:
        events[project].append(when)
    lags = []
    for project, times in events.items():
        seen = samples.learned.get(project, [])
        if not seen:
            continue
        base = seen[0][1]
        for n, when in enumerate(sorted(times), start=1):
            counted = next((t for t, count in seen if count >= base + n and t >= when), None)
            if counted is not None:
                lags.append(counted - when)
    return lags


# --- the report -----------------------------------------------------------------------------


def report(result: dict[str, Any]) -> str:
    lines = [f"K={result['k']}: {result['answers']} answers"]
    for name, p in sorted(result["endpoints"].items()):
        lines.append(
            f"  {name:<10} n={p['n']:<5} p50 {p['p50'] * 1000:6.0f} ms  p95 "
            f"{p['p95'] * 1000:6.0f} ms  p99 {p['p99'] * 1000:6.0f} ms  "
            f"errors {result['errors'].get(name, 0)}"
        )
    lag = result["lag"]
    lines += [
        f"  refused {result['errors'].get('answer refused', 0)}, lost {result['lost']}, "
        f"doubled {result['doubled']}, served twice at once {result['served_twice']}",
        f"  re-scoring lag n={lag['n']} p50 {lag['p50']:.2f} s p95 {lag['p95']:.2f} s "
        f"p99 {lag['p99']:.2f} s",
        f"  database connections (this app) peak {result['connections_peak']}; "
        f"server Max_used_connections {result['server_max_used_connections']}; row lock "
        f"waits {result['row_lock_waits'][0]} ({result['row_lock_waits'][1]} ms)",
        f"  web + worker RSS peak {result['rss_mb_peak']:.0f} MB; CPU web "
        f"{result['cpu_seconds']['web']:.1f} s ({_per_answer(result)}), workers "
        f"{result['cpu_seconds']['workers']:.1f} s, this driver "
        f"{result['cpu_seconds']['driver']:.1f} s",
    ]
    return "\n".join(lines)


def _per_answer(result: dict[str, Any]) -> str:
    """The web tier's CPU per answer, every other request of the run included: what decides
    how many contributors the cores hold, whatever else the machine runs."""
    if not result["answers"]:
        return "no answer"
    return f"{result['cpu_seconds']['web'] / result['answers'] * 1000:.0f} ms per answer"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contributors", default="1,10,25,50")
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--projects", type=int, default=2, choices=range(1, 6))
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-nice", type=int, default=0, choices=range(20))
    parser.add_argument(
        "--mariadb", default=os.environ.get("BENCHMARK_MARIADB_URL", "mysql://root@127.0.0.1:3306")
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    with (
        tempfile.TemporaryDirectory(prefix="wv-load-") as tmp,
        production_app(args, Path(tmp)) as app,
    ):
        import django

        django.setup()
        started = time.monotonic()
        project_ids = seed_world(args.photos, args.projects)
        print(
            f"world: {args.photos} photos in {len(project_ids)} projects, "
            f"seeded in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        for k in [int(k) for k in args.contributors.split(",")]:
            print(report(round_of(app, k, args.seconds, project_ids)), flush=True)


if __name__ == "__main__":
    main()
