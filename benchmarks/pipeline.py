"""The detect pipeline as users run it: real Celery workers, the learner included.

    .venv/bin/python benchmarks/pipeline.py [--processes 1,2] [--rounds 3] [--servers]
        [--photos N] [--json]

Embedded (the default, what ``make run`` uses): a fresh SQLite file and filesystem broker in a
temporary folder. ``--servers``: MariaDB and Redis (``--mariadb`` / ``--redis``, or
BENCHMARK_MARIADB_URL / BENCHMARK_REDIS_URL), in a fresh database and under a Redis key prefix
of its own, both removed afterwards.

1. The stand-in serves the shared-faces world with every thumbnail rendered beforehand, so its
   own thumbnailing is not in the measured CPU.
2. Each round starts a worker as ``make run`` does (every queue, N processes; through
   benchmarks/worker_probe.py, which only adds timers), waits until it is ready and measures
   what it costs while idle.
3. The clock starts when a project over the whole world is created (its crawl queued, as the
   web page does) and stops when every photo is detected and the learner (``learn`` queue) has
   scored every face.
4. Reported: photos/s, faces/s per core, the workers' idle share, and the share of worker time
   outside detection + encoding (idle included), and when each kind of task first began and
   last ended (a tail after the last photo is time the learner kept users waiting), for each
   process count; with ``--rounds``,
   the rounds alternate the process counts and the summary takes each count's median.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fakecommons.build import LOOP_PERSON, ROOT_CATEGORY, build_world_from_manifest  # noqa: E402
from fakecommons.server import FakeCommons  # noqa: E402

PROBE = Path(__file__).resolve().parent / "worker_probe.py"
QUEUES = "default,crawl,detect,learn,write"  # Procfile.dev's worker
THUMB_WIDTH = 500  # the width the crawl asks for (README, "How the pipeline works")
PERSON = "Q76"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- where the app keeps its data ---------------------------------------------------------


@dataclass
class Backend:
    """The database and broker of a run: the environment the app's processes read."""

    name: str
    env: dict[str, str]
    cleanups: list[Any] = field(default_factory=list)


@contextlib.contextmanager
def embedded_backend(folder: Path) -> Iterator[Backend]:
    """SQLite and the filesystem broker, as ``make run`` has them, in ``folder``."""
    yield Backend(
        "embedded",
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "",
            "WIKIVISAGE_BROKER_DIR": str(folder / "broker"),
            "WIKIVISAGE_DATA_DIR": str(folder),
        },
    )


@contextlib.contextmanager
def servers_backend(folder: Path, mariadb: str, redis: str) -> Iterator[Backend]:
    """A fresh MariaDB database and a Redis key prefix of its own; both gone afterwards."""
    token = secrets.token_hex(4)
    database, prefix = f"wikivisage_bench_{token}", f"wikivisage-bench-{token}:"
    server = urlsplit(mariadb)
    _mariadb(server, f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    env = {
        "DATABASE_URL": server._replace(path=f"/{database}").geturl(),
        "CELERY_BROKER_URL": redis,
        "CELERY_KEY_PREFIX": prefix,
        "WIKIVISAGE_DATA_DIR": str(folder),
    }
    try:
        yield Backend("servers", env)
    finally:
        _mariadb(server, f"DROP DATABASE IF EXISTS {database}")
        _redis_forget(redis, prefix)


def _mariadb(server: Any, statement: str) -> None:
    import MySQLdb

    connection = MySQLdb.connect(
        host=server.hostname or "127.0.0.1",
        port=server.port or 3306,
        user=server.username or "root",
        password=server.password or "",
    )
    try:
        connection.cursor().execute(statement)
    finally:
        connection.close()


def _redis_forget(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)


# --- the stand-in -------------------------------------------------------------------------


def sample_manifest(manifest: Path, folder: Path, photos: int) -> Path:
    """A manifest of the first ``photos`` rows, Barack Obama's (the project's person) first."""
    with manifest.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows.sort(key=lambda row: row["identity"] != LOOP_PERSON)
    for row in rows:
        row["file"] = str((manifest.parent / row["file"]).resolve())
    sample = folder / "manifest.csv"
    with sample.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows[:photos])
    return sample


def stand_in(world: Mapping[str, Any]) -> FakeCommons:
    """The stand-in over ``world``, its thumbnails rendered before anything is measured."""
    server = FakeCommons(world)
    server.uploads.prerender([THUMB_WIDTH])
    return server


def stand_in_env(server: FakeCommons) -> dict[str, str]:
    return {"COMMONS_API_URL": server.commons_api_url, "WIKIDATA_API_URL": server.wikidata_api_url}


# --- one round ----------------------------------------------------------------------------


@dataclass
class Worker:
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_text(errors="replace"):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the worker did not start:\n{self.tail()}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        """CPU time of the worker and its pool processes so far."""
        return sum(_cpu_ticks(pid) for pid in [self.popen.pid, *_children(self.popen.pid)]) / (
            CLOCK_TICKS
        )

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, 15)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, 9)
                self.popen.wait(timeout=10)


def start_worker(*, processes: int, env: Mapping[str, str], folder: Path) -> Worker:
    """``celery -A wikivisage worker`` as Procfile.dev starts it (without beat, which sends
    nothing in the first 300 s), its pool timed by the probe."""
    args = ["worker", "-Q", QUEUES, "--concurrency", str(processes), "--loglevel", "INFO"]
    args += ["-n", f"bench-{secrets.token_hex(4)}@%h", "--purge"]
    log = folder / f"worker-{processes}.log"
    with log.open("wb") as output:
        popen = subprocess.Popen(
            [sys.executable, str(PROBE), *args],
            cwd=ROOT,
            env={**env, "BENCHMARK_TIMINGS": str(folder), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(popen, log)


def measure(
    *,
    server: FakeCommons,
    processes: int,
    env: Mapping[str, str],
    folder: Path,
    idle_seconds: float = 5.0,
    timeout: float = 1800.0,
) -> dict[str, Any]:
    """One round: a fresh worker of ``processes`` processes does a whole project.

    The database must hold no project of the world's category yet (``reset`` between rounds).
    """
    folder.mkdir(parents=True, exist_ok=True)
    worker = start_worker(processes=processes, env=env, folder=folder)
    try:
        worker.wait_ready(timeout=120)
        idle = _idle_cpu_share(worker, idle_seconds)
        person = _person(server)
        cpu, driver_cpu, start = worker.cpu_seconds(), time.process_time(), time.perf_counter()
        clock = time.time()
        server_ticks, steal_ticks = _server_ticks(), _steal_ticks()
        project_id = _start_project(person)
        _wait_until_done(project_id, worker, timeout)
        wall = time.perf_counter() - start
        cpu, driver_cpu = worker.cpu_seconds() - cpu, time.process_time() - driver_cpu
        server_cpu = (_server_ticks() - server_ticks) / CLOCK_TICKS
        steal = (_steal_ticks() - steal_ticks) / CLOCK_TICKS / (wall * (os.cpu_count() or 1))
    finally:
        worker.stop()
    tasks = _task_times(folder, clock)
    result = _result(processes, wall, project_id, tasks, cpu, driver_cpu, idle)
    return {**result, "server_cpu_seconds": round(server_cpu, 2), "steal_share": round(steal, 3)}


def _idle_cpu_share(worker: Worker, seconds: float) -> float:
    """Share of one core the ready, idle worker (and its pool) uses."""
    before = worker.cpu_seconds()
    time.sleep(seconds)
    return (worker.cpu_seconds() - before) / seconds if seconds else 0.0


def _person(server: FakeCommons) -> Any:
    """The person, checked on Wikidata as the new-project page does (outside the clock)."""
    from commons.client import ApiClient
    from projects.services import person_check

    with ApiClient(api_url=server.wikidata_api_url) as client:
        return person_check(client=client, qid=PERSON, languages=["en"])


def _start_project(person: Any) -> int:
    """What the new-project page does: create the project and queue its crawl on commit."""
    from django.contrib.auth import get_user_model

    from projects.services import project_start

    owner, _ = get_user_model().objects.get_or_create(username="benchmark")
    project = project_start(owner=owner, person=person, category=ROOT_CATEGORY, crawl_depth=3)
    return project.pk


def project_counts(project_id: int) -> dict[str, Any]:
    """Photos and faces of the project, and whether the learner has seen them all."""
    from faces.models import Face, Image
    from projects.models import Project

    project = Project.objects.get(pk=project_id)
    images = Image.objects.filter(project_links__project=project)
    faces = Face.objects.current().of_project(project).filter(encoding__isnull=False).count()
    waiting = images.filter(state__in=[Image.State.PENDING, Image.State.PROCESSING]).exists()
    scored = (project.learning or {}).get("faces")
    done = project.crawled_at is not None and not waiting and not project.rescore_pending
    return {
        "images": images.count(),
        "faces": faces,
        "done": done and scored == faces,
    }


def _maybe_done(project_id: int) -> bool:
    """One query on the project's row: False while it is surely not done (crawling, a learner
    run waiting, never scored), so the driver's polling adds little to the database's load."""
    from projects.models import Project

    row = Project.objects.filter(pk=project_id).values("crawled_at", "rescore_pending", "learning")
    project = row.first()
    return (
        project is not None
        and project["crawled_at"] is not None
        and not project["rescore_pending"]
        and "faces" in (project["learning"] or {})
    )


def _wait_until_done(project_id: int, worker: Worker, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (_maybe_done(project_id) and project_counts(project_id)["done"]):
        if worker.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the project was not done:\n{worker.tail()}")
        time.sleep(0.2)


def _task_times(folder: Path, clock: float) -> dict[str, dict[str, float]]:
    """Per task name: how many ran; wall, CPU, detection wall and CPU seconds summed; when
    the first began and the last ended, in seconds after ``clock`` (Unix time)."""
    totals: dict[str, dict[str, float]] = {}
    keys = ("wall", "cpu", "detect", "detect_cpu")
    for path in folder.glob("*.tsv"):
        for line in path.read_text().splitlines():
            name, *values = line.split("\t")
            *sums, began, ended = (float(value) for value in values)
            entry = totals.setdefault(
                name, {**dict.fromkeys(("count", *keys), 0.0), "first": float("inf"), "last": 0.0}
            )
            entry["count"] += 1
            for key, value in zip(keys, sums, strict=True):
                entry[key] += value
            entry["first"] = min(entry["first"], began - clock)
            entry["last"] = max(entry["last"], ended - clock)
    return totals


def _result(
    processes: int,
    wall: float,
    project_id: int,
    tasks: dict[str, dict[str, float]],
    cpu: float,
    driver_cpu: float,
    idle_cpu: float,
) -> dict[str, Any]:
    counts = project_counts(project_id)
    capacity = wall * processes  # worker-process seconds available
    busy = sum(entry["wall"] for entry in tasks.values())
    detect = sum(entry["detect"] for entry in tasks.values())
    detect_cpu = sum(entry["detect_cpu"] for entry in tasks.values())
    cores = min(processes, os.cpu_count() or 1)
    return {
        "processes": processes,
        "photos": counts["images"],
        "faces": counts["faces"],
        "seconds": round(wall, 2),
        "photos_per_second": round(counts["images"] / wall, 2),
        "faces_per_second_per_core": round(counts["faces"] / wall / cores, 2),
        "idle_share": round(max(0.0, 1 - busy / capacity), 3),
        "outside_detection_share": round(1 - detect / capacity, 3),
        "detection_seconds": round(detect, 2),
        # CPU, not wall: what other processes on the machine take does not count.
        "detection_cpu_seconds": round(detect_cpu, 2),
        "faces_per_cpu_second": round(counts["faces"] / cpu, 2) if cpu else 0.0,
        "cpu_outside_detection_share": round(1 - detect_cpu / cpu, 3) if cpu else 0.0,
        "tasks": {
            name: {k: round(v, 2) for k, v in entry.items()} for name, entry in tasks.items()
        },
        "worker_cpu_seconds": round(cpu, 2),
        "driver_cpu_seconds": round(driver_cpu, 2),
        "idle_worker_cpu_share": round(idle_cpu, 4),
    }


def _line(result: dict[str, Any]) -> str:
    tasks = ", ".join(
        f"{name} {entry['count']:.0f} in {entry['wall']:.1f} s "
        f"(+{entry['first']:.1f} to +{entry['last']:.1f} s)"
        for name, entry in sorted(result["tasks"].items())
    )
    return (
        f"{result['processes']} process(es): {result['photos']} photos, {result['faces']} faces "
        f"in {result['seconds']} s — {result['photos_per_second']} photos/s, "
        f"{result['faces_per_second_per_core']} faces/s per core; idle "
        f"{100 * result['idle_share']:.1f} %, outside detection + encoding "
        f"{100 * result['outside_detection_share']:.1f} % (detection {result['detection_seconds']}"
        f" s, CPU {result['detection_cpu_seconds']} s); worker CPU "
        f"{result['worker_cpu_seconds']} s ({result['faces_per_cpu_second']} faces per CPU "
        f"second, {100 * result['cpu_outside_detection_share']:.1f} % outside detection), "
        f"stand-in + driver CPU {result['driver_cpu_seconds']} s, "
        f"database + broker CPU {result.get('server_cpu_seconds', 0)} s; stolen by the "
        f"hypervisor {100 * result.get('steal_share', 0):.1f} % of the cores; idle worker "
        f"{100 * result['idle_worker_cpu_share']:.1f} % of a core; tasks: {tasks}"
    )


# --- the command --------------------------------------------------------------------------


def reset() -> None:
    """An empty database for the next round (its worker starts with ``--purge``)."""
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", default="1,2", help="worker processes per round: 1,2")
    parser.add_argument("--servers", action="store_true", help="MariaDB + Redis")
    parser.add_argument(
        "--mariadb", default=os.environ.get("BENCHMARK_MARIADB_URL", "mysql://root@127.0.0.1:3306")
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCHMARK_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--manifest", type=Path, help="default: the shared faces' manifest")
    parser.add_argument("--photos", type=int, help="only the manifest's first N photos")
    parser.add_argument("--idle-seconds", type=float, default=5.0)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure each process count so many times"
    )
    parser.add_argument("--json", action="store_true", help="last line: JSON results")
    return parser.parse_args()


def _backend(args: argparse.Namespace, folder: Path) -> contextlib.AbstractContextManager[Backend]:
    if args.servers:
        return servers_backend(folder, args.mariadb, args.redis)
    return embedded_backend(folder)


def main() -> None:
    args = _arguments()
    from fakecommons.__main__ import default_manifest

    folder = Path(tempfile.mkdtemp(prefix="wikivisage-bench-"))
    manifest = args.manifest or default_manifest()
    if args.photos:
        manifest = sample_manifest(manifest, folder, args.photos)
    world = build_world_from_manifest(manifest)
    results = []
    try:
        with _backend(args, folder) as backend, stand_in(world) as server:
            env = {**os.environ, **backend.env, **stand_in_env(server)}
            env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
            os.environ.update(env)
            _setup_django()
            counts = [int(n) for n in args.processes.split(",")]
            # Rounds alternate the process counts, so a slow spell of a shared machine falls
            # on both rather than on one.
            for round_number in range(1, args.rounds + 1):
                for processes in counts:
                    reset()
                    round_folder = folder / f"round-{round_number}-{processes}"
                    result = measure(
                        server=server,
                        processes=processes,
                        env=env,
                        folder=round_folder,
                        idle_seconds=args.idle_seconds,
                    )
                    results.append(result)
                    print(f"{backend.name}: {_line(result)}", flush=True)
            _close_django()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for line in _summary(backend.name, results, counts):
        print(line)
    if args.json:
        print(json.dumps(results))


def _summary(name: str, results: list[dict[str, Any]], counts: list[int]) -> list[str]:
    """Per process count, the median round (and the spread); the speed-up of the medians."""
    medians = {}
    lines = []
    for processes in counts:
        seconds = sorted(r["seconds"] for r in results if r["processes"] == processes)
        median = statistics.median(seconds)
        medians[processes] = median
        faces = next(r["faces"] for r in results if r["processes"] == processes)
        cores = min(processes, os.cpu_count() or 1)
        lines.append(
            f"{name}: {processes} process(es), median of {len(seconds)}: {median:.2f} s "
            f"(range {seconds[0]:.2f}-{seconds[-1]:.2f}), "
            f"{faces / median / cores:.2f} faces/s per core"
        )
    if len(counts) > 1:
        first, last = counts[0], counts[-1]
        lines.append(f"{last} vs {first}: {medians[first] / medians[last]:.2f}x (medians)")
    return lines


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def _close_django() -> None:
    from django.db import connections

    connections.close_all()  # MariaDB drops the database only once nobody uses it


# --- helpers: /proc -----------------------------------------------------------------------


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime, stime


# The servers' own processes, when they run on this machine: their CPU shares the cores.
SERVER_PROCESSES = ("mariadbd", "mysqld", "redis-server")


def _server_ticks() -> int:
    """CPU ticks so far of the database and broker servers running on this machine."""
    total = 0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() in SERVER_PROCESSES:
                total += _cpu_ticks(int(comm.parent.name))
    return total


def _steal_ticks() -> int:
    """CPU time the hypervisor gave other machines while this one wanted it (all cores)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) if len(fields) > 8 else 0


def _children(pid: int) -> list[int]:
    """The pool processes: those whose parent is ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


if __name__ == "__main__":
    main()
