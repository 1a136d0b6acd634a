"""The pipeline benchmark's machinery on a few photos, so that it cannot rot (no timings)."""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from PIL import Image as PILImage

from benchmarks import pipeline as bench
from core import enqueue
from faces.models import Face, Image
from fakecommons import media
from fakecommons.build import build_world_from_manifest
from tests.workers import database_url

FACES_MANIFEST = Path(settings.FACES_DATA_DIR) / "manifest.csv"
UA = "WikiVisage-tests/1.0 (https://wikivisage.toolforge.org; tests@example.org)"


def few_photos(folder: Path, photos: int = 3) -> dict[str, Any]:
    return build_world_from_manifest(bench.sample_manifest(FACES_MANIFEST, folder, photos))


def thumbnails(server: Any, names: list[str]) -> list[dict[str, Any]]:
    answer = requests.get(
        server.commons_api_url,
        params={
            "action": "query",
            "prop": "imageinfo",
            "titles": "|".join(f"File:{name}" for name in names),
            "iiprop": "url|size",
            "iiurlwidth": bench.THUMB_WIDTH,
            "format": "json",
            "formatversion": 2,
        },
        headers={"User-Agent": UA},
        timeout=10,
    ).json()
    infos = [page["imageinfo"][0] for page in answer["query"]["pages"] if "imageinfo" in page]
    return [info for info in infos if "/thumb/" in info.get("thumburl", "")]


def test_prerendered_thumbnails_are_served_without_rendering_again(tmp_path, monkeypatch):
    world = few_photos(tmp_path)
    with bench.stand_in(world) as server:

        def render_again(*args: Any, **kwargs: Any) -> bytes:
            raise AssertionError("a prerendered thumbnail was rendered again")

        monkeypatch.setattr(media, "render_thumbnail", render_again)
        bitmaps = [
            name
            for name, page in server.world.files.items()
            if page.facts().is_bitmap and name != world["fixtures"]["broken_file"]
        ]
        scaled = thumbnails(server, bitmaps[:50])
        assert scaled, "the sample has files wider than the thumbnail"
        for info in scaled:
            response = requests.get(info["thumburl"], headers={"User-Agent": UA}, timeout=10)
            assert response.status_code == 200
            with PILImage.open(io.BytesIO(response.content)) as image:
                assert image.size == (info["thumbwidth"], info["thumbheight"])


def test_prerender_skips_files_no_wider_than_the_thumbnail(tmp_path):
    world = few_photos(tmp_path)
    server = bench.stand_in(world)
    wider = [page for page in server.world.files.values() if page.facts().width > bench.THUMB_WIDTH]
    assert server.uploads.prerender([bench.THUMB_WIDTH]) == len(wider) > 0


@pytest.mark.worker
def test_the_benchmark_runs_a_project_through_a_real_worker_and_the_learner(
    tmp_path, transactional_db, monkeypatch
):
    monkeypatch.setattr(enqueue, "send", enqueue.send_to_broker)  # the app's own sending
    with bench.stand_in(few_photos(tmp_path)) as server:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "WIKIVISAGE_BROKER_DIR": str(settings.WIKIVISAGE_BROKER_DIR),
            "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(40),
            **bench.stand_in_env(server),
        }
        result = bench.measure(
            server=server, processes=1, env=env, folder=tmp_path / "round", idle_seconds=0.5
        )
    assert result["photos"] == Image.objects.count() > 0
    assert result["faces"] == Face.objects.count() > 0
    assert {name.split(".")[1] for name in result["tasks"]} >= {"crawl", "detect", "learn"}
    assert result["detection_seconds"] > 0
    for share in ("idle_share", "outside_detection_share"):
        assert 0 <= result[share] <= 1
    print(bench._line(result))


def test_the_summary_takes_each_process_counts_median_round():
    def round_of(processes: int, seconds: float) -> dict[str, Any]:
        return {"processes": processes, "seconds": seconds, "faces": 100}

    results = [round_of(1, s) for s in (30.0, 50.0, 40.0)]
    results += [round_of(2, s) for s in (25.0, 20.0, 21.0)]

    lines = bench._summary("servers", results, [1, 2])

    assert lines[0] == (
        "servers: 1 process(es), median of 3: 40.00 s (range 30.00-50.00), 2.50 faces/s per core"
    )
    cores = min(2, os.cpu_count() or 1)
    assert lines[1].startswith("servers: 2 process(es), median of 3: 21.00 s (range 20.00-25.00)")
    assert lines[1].endswith(f"{100 / 21 / cores:.2f} faces/s per core")
    assert lines[2] == "2 vs 1: 1.90x (medians)"
