"""A detect worker killed mid-image: a restarted worker finishes the job, exactly once."""

from __future__ import annotations

import pytest

from commons.client import commons_client
from faces.models import Image
from faces.services import crawl, processing
from faces.tasks import reclaim_images
from tests.pipeline.conftest import PHOTOS, manifest
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]


def stand_in_env(server) -> dict[str, str]:
    return {
        "COMMONS_API_URL": server.commons_api_url,
        "WIKIDATA_API_URL": server.wikidata_api_url,
        # Claims of a dead worker go stale fast here; production waits 15 minutes.
        "WIKIVISAGE_DETECT_CLAIM_TIMEOUT": "3",
        "WIKIVISAGE_REQUEUE_PENDING_AFTER": "3",
    }


def test_killed_worker_leaves_images_to_a_restarted_one(transactional_db, stand_in, obama_project):
    with commons_client() as client:
        crawl.project_crawl(project=obama_project, client=client, queue=False)
    image_ids = list(Image.objects.values_list("pk", flat=True))
    # The first thumbnail download hangs, so the worker is surely mid-image when killed.
    stand_in.inject("slow", times=1, target="upload", seconds=20.0)

    with celery_worker(extra_env=stand_in_env(stand_in)) as first:
        processing.queue_detection(image_ids)  # faces.detect.next messages, taken turn by turn
        assert wait_for(
            lambda: Image.objects.filter(state=Image.State.PROCESSING).exists(), timeout=60
        ), "".join(first.output[-30:])
        first.kill()
    stuck = list(Image.objects.exclude(state=Image.State.DONE).values_list("pk", flat=True))
    assert stuck, "the kill came too late to leave any image unfinished"

    with celery_worker(extra_env=stand_in_env(stand_in), purge=False) as second:

        def all_done() -> bool:
            if Image.objects.exclude(state__in=[Image.State.DONE, Image.State.ERROR]).exists():
                reclaim_images.delay()  # what beat does every few minutes
                return False
            return True

        assert wait_for(all_done, timeout=180, interval=2), "".join(second.output[-40:])

    assert set(Image.objects.values_list("state", flat=True)) == {Image.State.DONE}
    for image in Image.objects.all():
        indexes = list(image.faces.values_list("index", flat=True))
        assert indexes == list(range(len(indexes))), image.title  # written once, no gaps
    rows = manifest()
    for name in ("Obama 1.jpg", "Obama 2.jpg", "Obama 3.jpg", "Obama 4.jpg"):
        expected = int(rows[PHOTOS[name]]["detected_faces"])
        assert Image.objects.get(title=f"File:{name}").faces.count() == expected, name
    assert Image.objects.filter(pk__in=stuck, attempts__gte=2).exists()
