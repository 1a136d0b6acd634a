"""``benchmark_pipeline``: the whole detect pipeline against the stand-in, with N processes.

Prints, for 1..N worker processes: images, faces, wall seconds, images/s, and the share of
time spent outside detection + encoding (download, decode, database). Run it on a scratch
database, e.g. ``DATABASE_URL=sqlite:///var/bench.sqlite3 python manage.py migrate`` first.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections

from commons.client import ApiClient
from commons.fakecommons.build import ROOT_CATEGORY, build_world_from_manifest
from commons.fakecommons.server import FakeCommons
from faces import detection
from faces.models import Face, Image
from faces.services import pipeline
from projects.models import Project


class Command(BaseCommand):
    help = "Measure the detect pipeline (download, decode, detect, store) with 1..N processes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--processes", type=int, default=2, help="largest process count")
        parser.add_argument("--per-identity", type=int, default=4, help="photos per person")
        parser.add_argument("--json", action="store_true", help="last line: JSON results")

    def handle(self, *args: Any, **options: Any) -> None:
        manifest = Path(settings.FACES_DATA_DIR) / "manifest.csv"
        world = build_world_from_manifest(manifest, max_per_identity=options["per_identity"])
        results = []
        with FakeCommons(world) as server:
            for processes in range(1, options["processes"] + 1):
                results.append(self._round(server, processes))
                self.stdout.write(_line(results[-1]))
        if options["json"]:
            self.stdout.write(json.dumps(results))

    def _round(self, server: FakeCommons, processes: int) -> dict[str, Any]:
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
