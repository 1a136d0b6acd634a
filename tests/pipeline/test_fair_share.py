"""Projects take turns on the detect queue: a small project queued behind a large one is
detected alongside it, not after its whole backlog."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commons.client import commons_client
from faces.models import DetectTurn, Image, ProjectImage
from faces.services import crawl, detect, processing
from faces.tasks import detect_next, reclaim_images
from projects.models import Project
from tests.factories import ImageFactory, ProjectFactory, ProjectImageFactory
from tests.pipeline.test_pipeline import client
from tests.workers import celery_worker, wait_for

pytestmark = pytest.mark.django_db


def project_with_images(count: int) -> tuple[Project, list[int]]:
    project = ProjectFactory()
    links = [ProjectImageFactory(project=project) for _ in range(count)]
    return project, [link.image_id for link in links]


def claims_by_project(count: int, projects: dict[str, Project]) -> list[str]:
    """Which project each of the next ``count`` claims served (by the names given)."""
    names = {project.pk: name for name, project in projects.items()}
    order = []
    for _ in range(count):
        image = detect.image_claim_next()
        assert image is not None
        link = ProjectImage.objects.filter(image=image, project__in=projects.values()).first()
        order.append(names[link.project_id])
    return order


def test_one_message_per_image_and_none_names_an_image(queued, django_capture_on_commit_callbacks):
    _large, image_ids = project_with_images(3)
    with django_capture_on_commit_callbacks(execute=True):
        processing.queue_detection(image_ids)
    assert [(q.task, q.args) for q in queued] == [("faces.detect.next", ())] * 3


def test_a_project_queued_behind_another_is_served_in_turn():
    large, large_ids = project_with_images(10)
    small, small_ids = project_with_images(3)
    processing.queue_detection(large_ids)
    processing.queue_detection(small_ids)
    order = claims_by_project(8, {"large": large, "small": small})
    assert order == ["large", "small"] * 3 + ["large", "large"]


def test_a_project_queueing_more_keeps_its_place_in_the_turns():
    large, large_ids = project_with_images(6)
    small, small_ids = project_with_images(2)
    processing.queue_detection(large_ids[:3])
    processing.queue_detection(small_ids)
    assert claims_by_project(1, {"large": large, "small": small}) == ["large"]
    processing.queue_detection(large_ids[3:])  # the crawl's next batch
    assert claims_by_project(2, {"large": large, "small": small}) == ["small", "large"]


def test_an_image_shared_by_two_projects_is_claimed_once():
    first, _ = project_with_images(0)
    second, _ = project_with_images(0)
    shared = ImageFactory()
    for project in (first, second):
        ProjectImageFactory(project=project, image=shared)
    processing.queue_detection([shared.pk])
    processing.queue_detection([shared.pk])
    assert detect.image_claim_next() == shared
    assert detect.image_claim_next() is None


def test_an_image_whose_project_has_no_turn_is_still_claimed():
    _project, image_ids = project_with_images(1)
    ImageFactory()  # in no project: nobody asked for it
    assert not DetectTurn.objects.exists()
    assert detect.image_claim_next().pk == image_ids[0]
    assert detect.image_claim_next() is None


def test_a_turn_with_nothing_left_is_closed_and_the_next_one_served():
    done, done_ids = project_with_images(1)
    _waiting, waiting_ids = project_with_images(1)
    processing.queue_detection(done_ids)
    processing.queue_detection(waiting_ids)
    Image.objects.filter(pk__in=done_ids).update(state=Image.State.DONE)
    assert detect.image_claim_next().pk == waiting_ids[0]
    assert not DetectTurn.objects.filter(project=done).exists()


def test_an_image_that_failed_for_now_waits_behind_the_untried_ones():
    _project, image_ids = project_with_images(2)
    processing.queue_detection(image_ids)
    Image.objects.filter(pk=image_ids[0]).update(attempts=1)  # handed back after a 503
    assert detect.image_claim_next().pk == image_ids[1]


def test_the_sweep_closes_finished_turns_and_opens_lost_ones(queued):
    _done, done_ids = project_with_images(1)
    processing.queue_detection(done_ids)
    Image.objects.filter(pk__in=done_ids).update(state=Image.State.DONE)
    lost, _ = project_with_images(2)  # its images were queued, the turn lost to a race
    reclaim_images()
    assert set(DetectTurn.objects.values_list("project_id", flat=True)) == {lost.pk}


def test_a_worker_that_died_mid_image_leaves_it_to_the_sweep_and_its_turn(
    queued, django_capture_on_commit_callbacks
):
    project, image_ids = project_with_images(2)
    processing.queue_detection(image_ids)
    dead = detect.image_claim_next()
    Image.objects.filter(pk=dead.pk).update(claimed_at=timezone.now() - timedelta(days=1))
    DetectTurn.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        reclaim_images()
    assert [q.task for q in queued] == ["faces.detect.next"]
    assert DetectTurn.objects.filter(project=project).exists()
    assert detect.image_claim_next().pk in image_ids


@pytest.mark.slow
def test_running_detect_next_more_often_than_there_are_images_detects_each_once(
    stand_in, obama_project
):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=True)
    count = Image.objects.count()
    outcomes = [detect_next.apply().result for _ in range(count * 2)]
    assert all(outcome is None for outcome in outcomes)
    assert not Image.objects.filter(state=Image.State.PENDING).exists()
    assert Image.objects.filter(attempts=1).count() == count


# --- with a real worker -------------------------------------------------------------------

LARGE, SMALL = 40, 4


@pytest.fixture
def two_projects_world(tmp_path):
    """A large category and a small one, of small generated photos (fast to detect)."""

    def photos(prefix: str, count: int, seed: int) -> dict[str, dict]:
        return {
            f"{prefix} {n}.jpg": {
                "generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed + n}
            }
            for n in range(count)
        }

    large, small = photos("Crowd", LARGE, 1000), photos("Portrait", SMALL, 5000)
    return {
        "items": {
            "Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]},
            "Q207": {"labels": {"en": "George W. Bush"}, "P31": ["Q5"]},
        },
        "categories": {
            "Large": {"files": list(large), "subcats": []},
            "Small": {"files": list(small), "subcats": []},
        },
        "files": {**large, **small},
    }


def pending(project: Project, *, or_in_hand: bool = False) -> int:
    states = [Image.State.PENDING, Image.State.PROCESSING] if or_in_hand else [Image.State.PENDING]
    return Image.objects.filter(project_links__project=project, state__in=states).count()


@pytest.mark.worker
@pytest.mark.slow
def test_a_small_project_queued_after_a_large_one_finishes_first(
    transactional_db, make_fake_commons, two_projects_world
):
    server = make_fake_commons(two_projects_world)
    # Every thumbnail takes a while, as real ones do: the large backlog is surely still
    # there when the small project is queued behind it.
    server.inject("slow", times=None, target="upload", seconds=0.3)
    large = ProjectFactory(qid="Q76", category="Large", crawl_depth=0)
    small = ProjectFactory(qid="Q207", category="Small", crawl_depth=0)
    env = {"COMMONS_API_URL": server.commons_api_url, "WIKIDATA_API_URL": server.wikidata_api_url}

    with celery_worker(extra_env=env) as worker, commons_client() as api:
        crawl.project_crawl(project=large, client=api)
        crawl.project_crawl(project=small, client=api)
        small_queued_at = timezone.now()
        assert wait_for(lambda: pending(small, or_in_hand=True) == 0, timeout=120), "".join(
            worker.output[-30:]
        )
        assert pending(large) > 0  # the large one keeps going, after the small one is done
        assert wait_for(lambda: pending(large, or_in_hand=True) == 0, timeout=300), "".join(
            worker.output[-30:]
        )

    assert set(Image.objects.values_list("state", flat=True)) == {Image.State.DONE}
    order = list(
        ProjectImage.objects.filter(image__processed_at__gt=small_queued_at)
        .order_by("image__processed_at")
        .values_list("project_id", flat=True)
    )
    # Turn by turn: the small project's first image came at once (after at most the large
    # one's image in hand), and its images went between the large one's, one for one.
    first, last = order.index(small.pk), len(order) - 1 - order[::-1].index(small.pk)
    assert first <= 1, order
    assert order[first : last + 1].count(large.pk) <= SMALL, order
