"""The whole detect pipeline against the stand-in, with 1..N processes.

    DATABASE_URL=sqlite:///var/bench.sqlite3 .venv/bin/python manage.py migrate
    DATABASE_URL=sqlite:///var/bench.sqlite3 .venv/bin/python benchmarks/pipeline.py [--processes 2]

Prints, for 1..N worker processes: images, faces, wall seconds, images/s, and the share of
time spent outside detection + encoding (download, decode, database). Run it on a scratch
database, as above: every round deletes the database's images.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wikivisage.settings")
django.setup()

from django.conf import settings  # noqa: E402  (the models need the settings loaded first)
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402

from commons.client import ApiClient  # noqa: E402
from faces import detection  # noqa: E402
from faces.models import Face, Image  # noqa: E402
from faces.services import pipeline  # noqa: E402
from fakecommons.build import ROOT_CATEGORY, build_world_from_manifest  # noqa: E402
from fakecommons.server import FakeCommons  # noqa: E402
from projects.models import Project  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--processes", type=int, default=2, help="largest process count")
    parser.add_argument("--per-identity", type=int, default=4, help="photos per person")
    parser.add_argument("--json", action="store_true", help="last line: JSON results")
    args = parser.parse_args()
    manifest = Path(settings.FACES_DATA_DIR) / "manifest.csv"
    world = build_world_from_manifest(manifest, max_per_identity=args.per_identity)
    results = []
    with FakeCommons(world) as server:
        for processes in range(1, args.processes + 1):
            results.append(measure(server, processes))
            print(_line(results[-1]), flush=True)
    if args.json:
        print(json.dumps(results))


def measure(server: FakeCommons, processes: int) -> dict[str, Any]:
    Image.objects.all().delete()
    project = _project(server)
    with _client(server) as client:
        pipeline.project_crawl(project=project, client=client, queue=False)
    ids = list(Image.objects.values_list("pk", flat=True))
    connections.close_all()  # children open their own connections
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        detect_seconds = sum(pool.map(_detect_many, _split(ids, processes, server)))
    wall = time.perf_counter() - start
    faces = Face.objects.count()
    busy = wall * processes
    return {
        "processes": processes,
        "images": len(ids),
        "faces": faces,
        "seconds": round(wall, 2),
        "images_per_second": round(len(ids) / wall, 2),
        "faces_per_second": round(faces / wall, 2),
        "overhead_share": round(max(0.0, busy - detect_seconds) / busy, 3),
    }


def _line(result: dict[str, Any]) -> str:
    return (
        f"{result['processes']} process(es): {result['images']} images, {result['faces']} "
        f"faces in {result['seconds']} s — {result['images_per_second']} images/s, "
        f"{result['faces_per_second']} faces/s, outside detect+encode "
        f"{100 * result['overhead_share']:.1f} %"
    )


def _project(server: FakeCommons) -> Project:
    owner, _ = get_user_model().objects.get_or_create(username="benchmark")
    project, _ = Project.objects.get_or_create(
        owner=owner, qid="Q76", category=ROOT_CATEGORY, defaults={"crawl_depth": 3}
    )
    Project.objects.filter(pk=project.pk).update(crawl_cursor=None)
    return project


def _client(server: FakeCommons) -> ApiClient:
    return ApiClient(api_url=server.commons_api_url)


def _split(ids: list[int], parts: int, server: FakeCommons) -> list[tuple[list[int], str]]:
    return [(ids[i::parts], server.commons_api_url) for i in range(parts)]


def _detect_many(job: tuple[list[int], str]) -> float:
    """One worker process: run the real pipeline step on its images; return the seconds
    spent inside detection + encoding, so the rest is the pipeline's overhead."""
    ids, api_url = job
    spent = 0.0
    analyse = detection.analyse_image

    def timed(image, *, config):
        nonlocal spent
        start = time.perf_counter()
        try:
            return analyse(image, config=config)
        finally:
            spent += time.perf_counter() - start

    pipeline.analyse_image = timed  # type: ignore[assignment]
    # A benchmark's scratch projects need no learner runs queued for later.
    pipeline._rescore_projects_of = lambda image: None  # type: ignore[assignment]
    detection.load_models()  # once per process, as a worker does at start
    with ApiClient(api_url=api_url) as client:
        for image_id in ids:
            pipeline.image_detect(image_id=image_id, client=client)
    connections.close_all()
    return spent


if __name__ == "__main__":
    main()
