"""Category → images → faces through the real client, the offline stand-in and real dlib."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from commons.client import ApiClient, commons_client
from core import enqueue
from core.errors import TransientError
from core.retry import RetryPolicy
from faces.models import Face, Image, Label, ProjectImage
from faces.services import bootstrap, crawl, detect, leases, scoring
from faces.services.rescoring import RESCORE_DELAY_SECONDS
from faces.tasks import crawl_project, detect_image, detect_next
from projects.models import Project
from tests.conftest import Queued
from tests.factories import ProjectFactory, UserFactory
from tests.pipeline.conftest import PHOTOS, manifest

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

NO_WAIT = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0)


def client() -> ApiClient:
    return commons_client(retry=NO_WAIT, sleep=lambda seconds: None)


def crawl_and_detect(project) -> None:
    with client() as api:
        summary = crawl.project_crawl(project=project, client=api, queue=False)
        assert summary.finished
        bootstrap.project_bootstrap(project=project, client=api, queue=False)
        for image_id in Image.objects.filter(project_links__project=project).values_list(
            "pk", flat=True
        ):
            detect.image_detect(image_id=image_id, client=api)


def titles(project) -> set[str]:
    return set(Image.objects.filter(project_links__project=project).values_list("title", flat=True))


def test_crawl_follows_subcategories_once_and_skips_non_bitmaps(stand_in, obama_project):
    with client() as api:
        summary = crawl.project_crawl(project=obama_project, client=api, queue=False)
    expected = {
        "Obama 1.jpg",
        "Obama 2.jpg",
        "Obama 3.jpg",
        "Obama 4.jpg",
        "Obama with a friend.jpg",
        "Three people.jpg",
    }
    assert titles(obama_project) == {f"File:{name}" for name in expected}
    assert summary.skipped == {"svg": 1}
    obama_project.refresh_from_db()
    assert obama_project.crawl_cursor is None and obama_project.crawled_at is not None


def test_depth_limit_keeps_deeper_categories_out(stand_in):
    project = ProjectFactory(qid="Q76", category="Barack Obama", crawl_depth=1)
    with client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
    assert "File:Obama 4.jpg" not in titles(project)
    assert "File:Obama 3.jpg" in titles(project)


def test_faces_found_match_the_manifest(stand_in, obama_project):
    crawl_and_detect(obama_project)
    rows = manifest()
    for name, path in PHOTOS.items():
        if name == "A dog.jpg":
            continue
        image = Image.objects.get(title=f"File:{name}")
        assert image.state == Image.State.DONE, image.error
        expected = int(rows[path]["expected_faces"])
        if path.startswith("multi/"):
            # The manifest counts faces at full size; on a 500 px JPEG thumbnail one
            # borderline face of a group may fall under HOG's threshold (see the benchmark).
            assert expected - 1 <= image.faces.count() <= expected, name
        else:
            assert image.faces.count() == expected, name
    face = Face.objects.get(image__title="File:Obama 2.jpg")
    assert len(bytes(face.encoding)) == 512
    assert 0 < face.left < 1 and 0 < face.width < 1


def test_boxes_are_fractions_of_the_full_image(stand_in, obama_project):
    crawl_and_detect(obama_project)
    row = manifest()["barack_obama/01.jpg"]
    top, right, bottom, left = (int(v) for v in row["largest_face_box"].split(";"))
    width, height = int(row["width"]), int(row["height"])
    face = Face.objects.get(image__title="File:Obama 1.jpg")
    # Detected on a thumbnail, the box still lands where the full-size detection put it
    # (HOG boxes shift by a cell or so between scales, hence the tolerance).
    assert face.left + face.width / 2 == pytest.approx((left + right) / 2 / width, abs=0.04)
    assert face.top + face.height / 2 == pytest.approx((top + bottom) / 2 / height, abs=0.04)
    assert face.width == pytest.approx((right - left) / width, rel=0.25)


def test_bootstrap_labels_the_single_face_of_a_depicted_file(stand_in, obama_project):
    crawl_and_detect(obama_project)
    labels = Label.objects.filter(project=obama_project, source=Label.Source.BOOTSTRAP)
    assert [(label.face.image.title, label.verdict) for label in labels] == [
        ("File:Obama 1.jpg", Label.Verdict.YES)
    ]
    others = ProjectImage.objects.get(project=obama_project, image__title="File:Three people.jpg")
    assert others.depicts_others == ["Q207"] and not others.depicts_person


def test_bootstrap_records_the_region_of_the_persons_statement(
    make_fake_commons, pipeline_world, obama_project
):
    region = "pct:50,0,50,100"
    pipeline_world["files"]["Obama with a friend.jpg"]["depicts"] = [
        {"item": "Q76", "region": region, "rank": "normal"}
    ]
    make_fake_commons(pipeline_world)
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
        bootstrap.project_bootstrap(project=obama_project, client=api, queue=False)
    link = ProjectImage.objects.get(
        project=obama_project, image__title="File:Obama with a friend.jpg"
    )
    assert link.depicts_person and link.depicts_region == region
    plain = ProjectImage.objects.get(project=obama_project, image__title="File:Obama 1.jpg")
    assert plain.depicts_region == ""


def test_bootstrap_only_images_stay_outside_the_category_scope(stand_in):
    project = ProjectFactory(qid="Q76", category="Broken files", crawl_depth=0)
    with client() as api:
        crawl.project_crawl(project=project, client=api, queue=False)
        bootstrap.project_bootstrap(project=project, client=api, queue=False)
    link = ProjectImage.objects.get(project=project, image__title="File:Obama 1.jpg")
    assert link.source == ProjectImage.Source.BOOTSTRAP and link.depicts_person


def test_the_persons_wikidata_image_outside_the_category_is_a_yes_the_grid_proposes(
    make_fake_commons, pipeline_world
):
    # A category without a photo of Barack Obama, and no depicts statement of him anywhere:
    # his P18 image, elsewhere on Commons, is all there is to start from.
    pipeline_world["files"]["Obama 1.jpg"].pop("depicts")
    make_fake_commons(pipeline_world)
    project = ProjectFactory(
        qid="Q76", category="Broken files", crawl_depth=0, person_image="Obama 2.jpg", min_answers=1
    )
    crawl_and_detect(project)
    link = ProjectImage.objects.get(project=project, image__title="File:Obama 2.jpg")
    assert link.source == ProjectImage.Source.BOOTSTRAP and not link.depicts_person
    portrait = Face.objects.current().get(image__title="File:Obama 2.jpg")
    scoring.project_rescore(project_id=project.pk)
    # Its only face is a yes without asking (one answer of the project's minimum): never a
    # question, and proposed in the grid at 100 %, to be approved before anything is sent.
    first = leases.face_serve(project=project, user=UserFactory())
    assert first is None or first.pk != portrait.pk
    label = Label.objects.get(project=project, face=portrait, source=Label.Source.MODEL)
    assert (label.verdict, label.score, label.priority) == (Label.Verdict.YES, 1.0, None)
    assert not Label.objects.filter(project=project, source=Label.Source.HUMAN).exists()


BAD_FILES = {
    "Empty.jpg": "empty",
    "Error page.jpg": "not_an_image",
    "Truncated.jpg": "truncated",
    "Garbage.jpg": "",
    "Bomb.png": "",
}


def test_each_bad_file_gets_its_error_and_the_batch_carries_on(stand_in):
    project = ProjectFactory(qid="Q76", category="Broken files", crawl_depth=0)
    crawl_and_detect(project)
    states = dict(
        Image.objects.filter(project_links__project=project).values_list("title", "state")
    )
    for name, reason in BAD_FILES.items():
        image = Image.objects.get(title=f"File:{name}")
        assert image.state == Image.State.ERROR, name
        assert image.error and reason in image.error, (name, image.error)
    # Animated GIFs (first frame) and multi-page TIFFs (first page) are read, not refused.
    assert Image.objects.get(title="File:Animated.gif").faces.count() == 1
    assert Image.objects.get(title="File:Pages.tiff").faces.count() == 1
    assert states["File:A dog.jpg"] == Image.State.DONE
    assert Image.objects.get(title="File:A dog.jpg").faces.count() == 0


def test_missing_thumbnail_is_a_recorded_error(stand_in, obama_project):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
        image = Image.objects.get(title="File:Obama 2.jpg")
        Image.objects.filter(pk=image.pk).update(thumb_url=image.thumb_url + "-gone")
        outcome = detect.image_detect(image_id=image.pk, client=api)
    image.refresh_from_db()
    assert outcome.state == Image.State.ERROR
    assert image.state == Image.State.ERROR and "404" in image.error


def test_download_timeout_hands_the_image_back_for_a_retry(stand_in, obama_project):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
    image = Image.objects.get(title="File:Obama 2.jpg")
    stand_in.inject("slow", times=None, target="upload", seconds=2.0)
    slow = ApiClient(
        api_url=stand_in.commons_api_url, timeout=0.5, retry=NO_WAIT, sleep=lambda seconds: None
    )
    with pytest.raises(TransientError):
        detect.image_detect(image_id=image.pk, client=slow)
    image.refresh_from_db()
    assert image.state == Image.State.PENDING and image.faces.count() == 0
    stand_in.clear_faults()
    with client() as api:
        assert detect.image_detect(image_id=image.pk, client=api).state == Image.State.DONE


def test_identical_bytes_are_detected_once_and_share_faces(
    stand_in, make_fake_commons, pipeline_world, obama_project
):
    crawl_and_detect(obama_project)
    original = Image.objects.get(title="File:Obama 2.jpg")
    twin = Image.objects.create(
        pageid=999,
        title="File:Obama 2 copy.jpg",
        sha1=original.sha1,
        thumb_url="http://127.0.0.1:9/never-fetched.jpg",
    )
    with client() as api:
        outcome = detect.image_detect(image_id=twin.pk, client=api)
    assert outcome.reused and outcome.faces == original.faces.count()
    assert bytes(twin.faces.get().encoding) == bytes(original.faces.get().encoding)


def test_a_claimed_image_is_not_taken_by_a_second_worker_until_the_claim_is_stale(
    stand_in, obama_project
):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
    image = Image.objects.get(title="File:Obama 2.jpg")
    assert detect.image_claim(image_id=image.pk) is not None
    assert detect.image_claim(image_id=image.pk) is None
    Image.objects.filter(pk=image.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert detect.image_claim(image_id=image.pk) is not None  # the first worker died


def test_the_sweep_hands_back_images_of_dead_workers_and_lost_messages_once(
    stand_in, obama_project, settings
):
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
    dead, lost = Image.objects.order_by("pk")[:2]
    detect.image_claim(image_id=dead.pk)
    long_ago = timezone.now() - timedelta(days=1)
    Image.objects.filter(pk=dead.pk).update(claimed_at=long_ago)
    Image.objects.filter(pk=lost.pk).update(updated_at=long_ago)
    fresh_claim = Image.objects.exclude(pk__in=[dead.pk, lost.pk]).first()
    detect.image_claim(image_id=fresh_claim.pk)
    Image.objects.exclude(pk__in=[dead.pk, lost.pk]).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert sorted(detect.images_reclaim()) == sorted([dead.pk, lost.pk])
    dead.refresh_from_db()
    assert dead.state == Image.State.PENDING and dead.claimed_at is None
    assert detect.images_reclaim() == []  # queued once, not at every sweep


def test_interrupted_crawl_resumes_without_losing_or_repeating_files(stand_in, obama_project):
    with client() as api:
        first = crawl.project_crawl(project=obama_project, client=api, max_batches=1, queue=False)
        assert not first.finished
        obama_project.refresh_from_db()
        assert obama_project.crawl_cursor is not None
        rest = crawl.project_crawl(project=obama_project, client=api, queue=False)
    assert rest.finished
    assert len(titles(obama_project)) == 6
    assert first.files + rest.files == 6


def test_running_every_task_twice_changes_nothing(
    stand_in, obama_project, django_capture_on_commit_callbacks
):
    def snapshot():
        return (
            sorted(Image.objects.values_list("pageid", "state")),
            sorted(Face.objects.values_list("image__pageid", "index", "left", "top")),
            sorted(Label.objects.values_list("face__image__pageid", "source", "verdict")),
            sorted(ProjectImage.objects.values_list("image__pageid", "source")),
        )

    for _round in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            crawl_project(obama_project.pk)
        for image_id in Image.objects.values_list("pk", flat=True):
            detect_next()  # each message queued for an image
            detect_image(image_id)  # and the image itself, as a message from before turns
        if _round == 0:
            first = snapshot()
    assert snapshot() == first
    assert Face.objects.count() > 0


def test_periodic_recrawl_picks_up_new_files_of_active_projects_only(
    make_fake_commons, pipeline_world, obama_project, django_capture_on_commit_callbacks, queued
):
    from faces.tasks import recrawl_active

    def beat_then_workers() -> None:
        """Beat's periodic task queues one crawl per active project; workers run them."""
        with django_capture_on_commit_callbacks(execute=True):
            recrawl_active()
        crawls = [job.args for job in queued if job.task == "faces.crawl.project"]
        queued.clear()
        for args in crawls:
            crawl_project(*args)

    make_fake_commons(pipeline_world)
    paused = ProjectFactory(qid="Q76", category="Barack Obama", state="paused")
    beat_then_workers()
    before = titles(obama_project)
    assert before and not titles(paused)

    grown = {**pipeline_world, "categories": dict(pipeline_world["categories"])}
    grown["categories"]["Barack Obama"] = {
        **grown["categories"]["Barack Obama"],
        "files": [*grown["categories"]["Barack Obama"]["files"], "A dog.jpg"],
    }
    make_fake_commons(grown)  # Commons a day later: one more file in the category
    beat_then_workers()
    assert titles(obama_project) == before | {"File:A dog.jpg"}
    assert not titles(paused)
    assert Image.objects.filter(title="File:Obama 1.jpg").count() == 1


def test_the_last_photo_of_a_project_has_the_learner_run_at_once(
    stand_in, obama_project, queued, django_capture_on_commit_callbacks
):
    with client() as api, django_capture_on_commit_callbacks(execute=True):
        crawl.project_crawl(project=obama_project, client=api, queue=False)
        bootstrap.project_bootstrap(project=obama_project, client=api, queue=False)
    *first, last = Image.objects.filter(project_links__project=obama_project).order_by("pk")

    def learner_runs() -> list[float | None]:
        return [q.countdown for q in queued if q.task == "faces.learn.project"]

    with client() as api, django_capture_on_commit_callbacks(execute=True):
        for image in first:
            detect.image_detect(image_id=image.pk, client=api)
    # A burst of photos: one run, a moment later, however many photos.
    assert learner_runs() == [RESCORE_DELAY_SECONDS]
    Project.objects.filter(pk=obama_project.pk).update(rescore_pending=False)
    # That run has started; the last photo queues one run, at once, and no delayed one.
    with client() as api, django_capture_on_commit_callbacks(execute=True):
        detect.image_detect(image_id=last.pk, client=api)
    assert learner_runs() == [RESCORE_DELAY_SECONDS, None]


# Take the next project's turn (turns, candidates, turn, claim, the image), look for a
# processed twin, store faces and state under the claim (begin, the claim and no faces yet,
# insert, state, commit), the image's projects, "anything left?", the learner's flag.
QUERIES_PER_PHOTO = 14


@pytest.mark.django_db(transaction=True)
def test_a_detected_photo_costs_a_fixed_number_of_queries(
    stand_in, obama_project, django_assert_num_queries
):
    """What a photo asks the database, the same for each photo after the first: a worker's
    share of a busy ToolsDB grows with this number."""
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api)
        detect.image_detect_next(client=api)
        for _ in range(2):
            with django_assert_num_queries(QUERIES_PER_PHOTO):
                outcome = detect.image_detect_next(client=api)
            assert outcome.state == Image.State.DONE and outcome.faces


@pytest.mark.django_db(transaction=True)
def test_the_last_photo_queues_no_delayed_run_behind_its_immediate_one(
    stand_in, obama_project, queued, monkeypatch
):
    """In a worker each message leaves at once (no surrounding transaction), and an idle
    worker may start the immediate run (clearing the flag) before the last photo's task
    ends: that task then queues nothing more, so the project waits for no later run."""
    with client() as api:
        crawl.project_crawl(project=obama_project, client=api, queue=False)
    *first, last = Image.objects.filter(project_links__project=obama_project).order_by("pk")
    with client() as api:
        for image in first:
            detect.image_detect(image_id=image.pk, client=api)

    def send_and_start(task: str, args: tuple, countdown: float | None) -> None:
        queued.append(Queued(task, args, countdown))
        if task == "faces.learn.project" and countdown is None:  # an idle worker takes it at once
            Project.objects.filter(pk=args[0]).update(rescore_pending=False)

    monkeypatch.setattr(enqueue, "send", send_and_start)
    del queued[:]
    with client() as api:
        detect.image_detect(image_id=last.pk, client=api)
    assert [q.countdown for q in queued if q.task == "faces.learn.project"] == [None]
    assert not Project.objects.get(pk=obama_project.pk).rescore_pending
