"""A new upload waits before it is detected (WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS): many new
files are deleted within days, so MachineVision waits 48 h before labelling one. A waiting
file is never lost (the sweep queues it once it is old enough) and never keeps a worker busy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from faces.models import DetectTurn, Image
from faces.services import crawl as crawl_service
from faces.services import detect
from faces.tasks import detect_image, detect_next, reclaim_images
from tests.factories import ProjectFactory
from tests.pipeline.test_pipeline import client

pytestmark = pytest.mark.django_db

NEW, OLD = "Just uploaded.jpg", "Uploaded long ago.jpg"


def _api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _file(seed: int, **extra: Any) -> dict[str, Any]:
    return {"generate": {"format": "JPEG", "width": 64, "height": 48, "seed": seed}, **extra}


@pytest.fixture
def uploads(make_fake_commons):
    """A category holding a file uploaded an hour ago and one uploaded years ago."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    return make_fake_commons(
        {
            "categories": {"Uploads": {"files": [NEW, OLD], "subcats": []}},
            "files": {
                NEW: _file(1, timestamp=_api_time(an_hour_ago)),
                OLD: _file(2, timestamp="2015-03-01T12:00:00Z"),
            },
        }
    )


@pytest.fixture
def project(db):
    return ProjectFactory(category="Uploads", crawl_depth=0)


def crawl(project, capture) -> None:
    with capture(execute=True), client() as api:
        crawl_service.project_crawl(project=project, client=api)


def image(name: str) -> Image:
    return Image.objects.get(title=f"File:{name}")


def hours_pass(hours: float) -> None:
    """Time moves on for every image row (uploaded, first met and last touched that much
    earlier)."""
    Image.objects.update(
        uploaded_at=F("uploaded_at") - timedelta(hours=hours),
        updated_at=F("updated_at") - timedelta(hours=hours),
        created_at=F("created_at") - timedelta(hours=hours),
    )


def run_queued(queued, capture) -> None:
    """Run the detect messages queued so far, as a worker would; others are dropped."""
    while queued:
        job = queued.pop(0)
        if job.task == "faces.detect.next":
            with capture(execute=True):
                detect_next.apply(throw=True)


def sweep(capture) -> None:
    with capture(execute=True):
        reclaim_images.apply(throw=True)


def test_the_crawl_stores_each_files_upload_time(
    uploads, project, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    assert image(OLD).uploaded_at == datetime(2015, 3, 1, 12, tzinfo=UTC)
    expected = timezone.now() - timedelta(hours=1)
    assert abs(image(NEW).uploaded_at - expected) < timedelta(minutes=1)


def test_a_new_upload_gets_no_message_and_is_not_detected_yet(
    uploads, project, queued, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    assert [job.task for job in queued] == ["faces.detect.next"]  # for the old file only
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(OLD).state == Image.State.DONE
    young = image(NEW)
    assert (young.state, young.attempts, young.error) == (Image.State.PENDING, 0, "")


def test_a_message_that_finds_only_waiting_files_ends_without_queueing_more(
    uploads, project, queued, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert detect.image_claim_next() is None
    with django_capture_on_commit_callbacks(execute=True):
        detect_next.apply(throw=True)
    assert queued == []
    sweep(django_capture_on_commit_callbacks)
    assert queued == [] and not DetectTurn.objects.exists()
    assert image(NEW).state == Image.State.PENDING


def test_the_sweep_queues_a_waiting_file_once_it_is_old_enough(
    uploads, project, queued, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    hours_pass(46)
    sweep(django_capture_on_commit_callbacks)
    assert queued == []  # 47 hours old: still waiting
    hours_pass(1.5)
    sweep(django_capture_on_commit_callbacks)
    assert [job.task for job in queued] == ["faces.detect.next"]
    run_queued(queued, django_capture_on_commit_callbacks)
    young = image(NEW)
    assert (young.state, young.attempts) == (Image.State.DONE, 1)
    sweep(django_capture_on_commit_callbacks)
    assert queued == []  # queued once, not at every sweep


def test_a_waiting_file_whose_message_the_sweep_sent_is_not_queued_twice(
    uploads, project, queued, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    hours_pass(48)
    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)
    assert [job.task for job in queued] == ["faces.detect.next"]


def test_the_wait_follows_the_setting(
    uploads, project, queued, settings, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS = 0.5
    crawl(project, django_capture_on_commit_callbacks)
    assert [job.task for job in queued] == ["faces.detect.next"] * 2


def test_no_wait_when_the_setting_is_zero(
    uploads, project, queued, settings, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_NEW_UPLOAD_WAIT_HOURS = 0
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(NEW).state == Image.State.DONE


def test_a_project_whose_only_left_files_wait_is_not_shown_as_stalled(
    uploads, project, queued, django_capture_on_commit_callbacks, client_of
):
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(OLD).state == Image.State.DONE and image(NEW).state == Image.State.PENDING
    hours_pass(0.5)  # long past the stall alarm's 10 minutes, still inside the 48 h
    project.created_at = timezone.now() - timedelta(hours=1)
    project.save(update_fields=["created_at"])
    status = client_of(project.owner).get(reverse("projects:status", args=[project.pk])).json()
    assert status["waiting"] == 1
    assert not status["detecting"] and not status["stalled"]
    assert "1 new file waits until it is 48 hours old" in status["limits"]


# --- the wait is part of the claim: no path detects a new upload ------------------------


def assert_waiting(name: str) -> None:
    young = image(name)
    assert (young.state, young.attempts, young.processed_at) == (Image.State.PENDING, 0, None)
    assert not young.faces.exists()


def test_a_detect_task_by_id_leaves_a_new_upload_waiting(
    uploads, project, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        detect_image.apply(args=[image(NEW).pk], throw=True)
    assert_waiting(NEW)


def test_the_claim_itself_refuses_a_new_upload(
    uploads, project, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    assert detect.image_claim(image_id=image(NEW).pk) is None
    assert detect.image_claim(image_id=image(OLD).pk) is not None


def test_processproject_leaves_a_new_upload_waiting(uploads, project):
    call_command("processproject", project.pk, "--no-progress")
    assert image(OLD).state == Image.State.DONE
    assert_waiting(NEW)


def test_a_requeued_message_of_a_dead_worker_does_not_detect_a_new_upload(
    uploads, project, settings, django_capture_on_commit_callbacks
):
    """A worker died holding a new upload (claimed before the wait applied to claims); the
    sweep hands it back and the broker delivers the dead worker's message again."""
    crawl(project, django_capture_on_commit_callbacks)
    stale = timezone.now() - timedelta(seconds=settings.WIKIVISAGE_DETECT_CLAIM_TIMEOUT + 60)
    Image.objects.filter(pk=image(NEW).pk).update(state=Image.State.PROCESSING, claimed_at=stale)
    assert detect.image_claim(image_id=image(NEW).pk) is None  # a stale claim is no way in
    sweep(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        detect_image.apply(args=[image(NEW).pk], throw=True)
    young = image(NEW)
    assert young.state == Image.State.PENDING and not young.faces.exists()


def test_a_new_upload_left_waiting_by_a_task_is_detected_once_old_enough(
    uploads, project, queued, django_capture_on_commit_callbacks
):
    crawl(project, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        detect_image.apply(args=[image(NEW).pk], throw=True)
    hours_pass(48.5)
    queued.clear()
    sweep(django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(NEW).state == Image.State.DONE


# --- the switch that turns off processing of new uploads ---------------------------------


def test_with_new_uploads_switched_off_a_new_upload_is_never_detected(
    uploads, project, queued, settings, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = False
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(OLD).state == Image.State.DONE
    hours_pass(24 * 30)  # a month later: long past the wait
    sweep(django_capture_on_commit_callbacks)
    assert queued == []
    with django_capture_on_commit_callbacks(execute=True):
        detect_image.apply(args=[image(NEW).pk], throw=True)
    call_command("processproject", project.pk, "--no-progress")
    assert_waiting(NEW)


def test_with_new_uploads_switched_off_a_file_first_met_when_old_is_processed(
    make_fake_commons, settings, queued, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = False
    three_days_ago = timezone.now() - timedelta(days=3)
    make_fake_commons(
        {
            "categories": {"Uploads": {"files": [NEW], "subcats": []}},
            "files": {NEW: _file(1, timestamp=_api_time(three_days_ago))},
        }
    )
    crawl(ProjectFactory(category="Uploads", crawl_depth=0), django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(NEW).state == Image.State.DONE


def test_new_uploads_switched_on_again_are_detected_at_the_next_sweep(
    uploads, project, queued, settings, django_capture_on_commit_callbacks
):
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = False
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    hours_pass(24 * 30)
    sweep(django_capture_on_commit_callbacks)
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = True
    sweep(django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    assert image(NEW).state == Image.State.DONE


def test_the_project_page_says_new_uploads_are_not_processed_when_switched_off(
    uploads, project, queued, settings, django_capture_on_commit_callbacks, client_of
):
    settings.WIKIVISAGE_PROCESS_NEW_UPLOADS = False
    crawl(project, django_capture_on_commit_callbacks)
    run_queued(queued, django_capture_on_commit_callbacks)
    status = client_of(project.owner).get(reverse("projects:status", args=[project.pk])).json()
    assert status["waiting"] == 1 and not status["detecting"]
    assert "1 new upload is not processed" in status["limits"]
