"""Worker health per queue: beat's heartbeats, the broker's backlog, failed tasks, and the
stalled write queue reported to moderators (wikivisage/health/)."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery import Celery, signals
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from tests import workers
from tests.factories import UserFactory
from tests.workers import celery_worker, wait_for
from wikivisage.celery import QUEUES, app, count_failure, make_broker_folders, queue_of
from wikivisage.health import status
from wikivisage.health import tasks as health_tasks  # importing registers them with the app
from wikivisage.health.models import QueueHealth
from wikivisage.settings.base import _filesystem_broker_options

HEARTBEATS = {
    entry["task"]: entry["args"]
    for entry in settings.CELERY_BEAT_SCHEDULE.values()
    if entry["task"].endswith(".queue_heartbeat")
}


def answered(queue: str, *, ago: float = 0, lag: float | None = 0.1) -> None:
    QueueHealth.objects.update_or_create(
        queue=queue,
        defaults={
            "answered_at": timezone.now() - timedelta(seconds=ago),
            "worker": f"{queue}@test",
            "lag": lag,
        },
    )


def all_answered(**kwargs) -> None:
    for queue in QUEUES:
        answered(queue, **kwargs)


# --- the schedule ---------------------------------------------------------------------------


def test_beat_sends_a_heartbeat_that_only_its_own_queue_takes_to_every_queue():
    assert set(QueueHealth.Queue.values) == set(QUEUES)
    assert {args[0] for args in HEARTBEATS.values()} == set(QUEUES)
    for task, (queue,) in HEARTBEATS.items():
        assert app.amqp.router.route({}, task)["queue"].name == queue
        assert task in app.tasks


def test_the_write_queue_is_watched_as_often_as_the_heartbeats_go():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["watch-write-queue"]["task"] == "health.default.watch_write_queue"
    assert schedule["watch-write-queue"]["schedule"] == settings.WIKIVISAGE_HEARTBEAT_SECONDS


# --- a real worker --------------------------------------------------------------------------


SERVED = [queue for queue in QUEUES if queue != "detect"]


@pytest.fixture
def worker_without_detect(monkeypatch):
    """A real worker on every queue but detect (it purges its own queues as it starts); the
    detect queue is emptied before and after the test."""
    monkeypatch.setattr(workers, "QUEUES", ",".join(SERVED))
    purge_detect()
    with celery_worker() as worker:
        yield worker
    purge_detect()


def purge_detect() -> None:
    make_broker_folders()
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge("detect")


@pytest.mark.worker
def test_a_worker_answers_the_heartbeats_of_its_queues_only(
    client, transactional_db, worker_without_detect
):
    """Four queues answer, detect stays stale with its heartbeat waiting, and a task that
    fails on write is counted there."""
    for task, args in HEARTBEATS.items():
        app.send_task(task, args=args)  # as beat sends them
    app.send_task("health.write.queue_heartbeat", args=[])  # a malformed message: TypeError

    def settled() -> bool:
        rows = QueueHealth.objects.filter(queue__in=SERVED, answered_at__isnull=False)
        return rows.count() == len(SERVED) and QueueHealth.objects.filter(failures=1).exists()

    assert wait_for(settled), "".join(worker_without_detect.output[-30:])
    rows = {row.queue: row for row in QueueHealth.objects.all()}
    assert "detect" not in rows or rows["detect"].answered_at is None
    for queue in SERVED:
        assert rows[queue].worker.startswith("test-"), rows[queue].worker  # the node's name
        assert rows[queue].lag is not None and rows[queue].lag >= 0  # stamped when sent
    assert rows["write"].failures == 1
    assert rows["write"].last_failure == "health.write.queue_heartbeat: TypeError"

    client.force_login(UserFactory(username="mod", is_staff=True))  # staff see which worker
    response = client.get(reverse("health-json"))
    assert response.status_code == 503
    body = response.json()
    assert body["stale_queues"] == ["detect"]
    assert body["queues"]["detect"]["backlog"] == 1  # its heartbeat, never taken
    assert body["queues"]["write"]["failures"] == 1
    assert body["queues"]["default"]["worker"] == rows["default"].worker


@pytest.mark.worker
def test_beat_sends_every_queue_a_heartbeat_as_it_starts(client, transactional_db):
    """Not one interval later: right after ``make run``, /health is healthy within seconds."""
    with celery_worker() as worker:
        signals.beat_init.send(sender=None)  # what beat sends as it starts
        answered = QueueHealth.objects.filter(answered_at__isnull=False)
        assert wait_for(lambda: answered.count() == len(QUEUES)), "".join(worker.output[-30:])
    assert not QueueHealth.objects.filter(beat_started_at__isnull=True).exists()
    assert client.get(reverse("health-json")).status_code == 200


def test_a_queue_waiting_for_its_first_heartbeat_after_beat_started_is_starting_not_stale(
    client, db, settings
):
    settings.WIKIVISAGE_HEARTBEAT_STALE_SECONDS = 300
    QueueHealth.objects.beat_started(QUEUES)  # what beat does as it starts
    page = client.get(reverse("health")).content.decode()
    assert page.count('data-starting="true"') == len(QUEUES)
    assert page.count("starting — waiting for the first heartbeat") == len(QUEUES)
    assert "<strong>stale</strong>" not in page
    assert client.get(reverse("health-json")).json()["queues"]["write"]["starting"] is True

    # Still no answer once the stale limit has passed since beat started: stale after all.
    started = timezone.now() - timedelta(seconds=301)
    QueueHealth.objects.update(beat_started_at=started)
    page = client.get(reverse("health")).content.decode()
    assert page.count("<strong>stale</strong>") == len(QUEUES)
    assert 'data-starting="true"' not in page


def test_a_queue_answered_since_beat_started_is_ok_not_starting(client, db):
    QueueHealth.objects.beat_started(QUEUES)
    all_answered()
    body = client.get(reverse("health-json")).json()
    assert body["healthy"] is True
    assert not any(queue["starting"] for queue in body["queues"].values())


# --- the backlog, asked of each broker ------------------------------------------------------


def sender(broker_url: str, **conf) -> Celery:
    """An app on another broker. Celery takes CELERY_BROKER_URL from the environment (the
    Redis pass of CI sets it) over ``broker_url``, but not over the read and write URLs."""
    sending = Celery("health-test", set_as_current=False)
    urls = {"broker_url": broker_url, "broker_read_url": broker_url, "broker_write_url": broker_url}
    sending.conf.update(**urls, **conf)
    return sending


def send_to(sending: Celery, counts: dict[str, int]) -> None:
    for queue, count in counts.items():
        for n in range(count):
            sending.send_task(f"{queue}.anything", args=[n], queue=queue)


def test_backlog_counts_the_message_files_of_each_queue_on_the_embedded_broker(tmp_path: Path):
    options = _filesystem_broker_options(tmp_path)
    for key in ("data_folder_in", "processed_folder", "control_folder"):
        Path(str(options[key])).mkdir(parents=True, exist_ok=True)
    transport = None
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        transport = getattr(settings, "CELERY_BROKER_TRANSPORT", None)
    sending = sender("filesystem://", broker_transport_options=options, broker_transport=transport)
    send_to(sending, {"detect": 3, "write": 1})
    assert status.queue_backlog(QUEUES, app=sending) == {
        "default": 0,
        "crawl": 0,
        "detect": 3,
        "learn": 0,
        "write": 1,
    }
    names = sorted(p.name for p in Path(str(options["data_folder_in"])).iterdir())
    assert sum(name.endswith(".detect.msg") for name in names) == 3


@pytest.fixture
def redis_broker():
    """The run's Redis broker, or the local one; a key prefix of this test's own."""
    url = settings.CELERY_BROKER_URL
    url = url if url.startswith("redis://") else "redis://127.0.0.1:6379/15"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {url}")
    prefix = f"wikivisage-health-test-{secrets.token_hex(4)}:"
    yield url, prefix, client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_backlog_counts_the_list_of_each_queue_under_the_key_prefix_on_redis(redis_broker):
    url, prefix, client = redis_broker
    sending = sender(url, broker_transport_options={"global_keyprefix": prefix})
    send_to(sending, {"crawl": 2, "write": 4})
    assert status.queue_backlog(QUEUES, app=sending) == {
        "default": 0,
        "crawl": 2,
        "detect": 0,
        "learn": 0,
        "write": 4,
    }
    assert client.llen(f"{prefix}write") == 4  # kombu's layout: one list per queue, prefixed
    assert client.llen("write") == 0


def test_a_broker_that_does_not_answer_leaves_the_backlog_unknown_and_the_page_up(
    client, db, monkeypatch
):
    unreachable = sender("redis://127.0.0.1:1/0")
    assert status.queue_backlog(QUEUES, app=unreachable) == dict.fromkeys(QUEUES)
    monkeypatch.setattr(status, "current_app", unreachable)
    all_answered()
    assert client.get(reverse("health-json")).json()["queues"]["write"]["backlog"] is None
    assert "unknown (broker unreachable)" in client.get(reverse("health")).content.decode()


# --- failed tasks ---------------------------------------------------------------------------


def fail(task_name: str, error: Exception) -> None:
    count_failure(sender=app.tasks[task_name], exception=error)


def test_failed_tasks_are_counted_on_their_queue(db):
    fail("health.write.queue_heartbeat", TypeError("bad message"))
    fail("health.write.queue_heartbeat", ValueError("worse"))
    fail("health.crawl.queue_heartbeat", RuntimeError("no"))
    rows = {row.queue: row for row in QueueHealth.objects.all()}
    assert (rows["write"].failures, rows["crawl"].failures) == (2, 1)
    assert rows["write"].last_failure == "health.write.queue_heartbeat: ValueError"
    assert queue_of("health.default.heartbeat") == "default"
    assert queue_of("celery.chord_unlock") == "default"


def test_the_failure_signal_of_a_worker_reaches_the_count(db):
    from celery import signals

    signals.task_failure.send(
        sender=app.tasks["health.detect.queue_heartbeat"], task_id="x", exception=OSError("disk")
    )
    assert QueueHealth.objects.get(queue="detect").failures == 1


def test_failures_older_than_the_window_are_counted_again_from_one(db, settings):
    settings.WIKIVISAGE_FAILURE_WINDOW_SECONDS = 3600
    fail("health.learn.queue_heartbeat", ValueError())
    fail("health.learn.queue_heartbeat", ValueError())
    long_ago = timezone.now() - timedelta(hours=2)
    QueueHealth.objects.filter(queue="learn").update(failures_since=long_ago)
    (learn,) = [s for s in status.queue_statuses(backlog=False) if s.queue == "learn"]
    assert learn.failures == 0  # the old count is not shown as recent
    fail("health.learn.queue_heartbeat", ValueError())
    row = QueueHealth.objects.get(queue="learn")
    assert row.failures == 1 and row.failures_since > long_ago


# --- the heartbeat task ---------------------------------------------------------------------


def test_a_heartbeat_answered_twice_keeps_one_row_per_queue(db):
    for _ in range(2):
        app.tasks["health.detect.queue_heartbeat"].apply(args=["detect"])
    (row,) = QueueHealth.objects.all()
    assert row.queue == "detect" and row.answered_at is not None and row.worker


# --- /health and /health.json ---------------------------------------------------------------


def test_health_json_is_503_until_every_queue_answered(client, db):
    response = client.get(reverse("health-json"))
    assert response.status_code == 503
    assert response.json()["stale_queues"] == list(QUEUES)
    all_answered()
    response = client.get(reverse("health-json"))
    assert response.status_code == 200
    assert response.json()["healthy"] is True


def test_health_json_is_503_when_one_heartbeat_is_older_than_the_limit(client, db, settings):
    settings.WIKIVISAGE_HEARTBEAT_STALE_SECONDS = 300
    all_answered(ago=60)
    answered("learn", ago=301)
    response = client.get(reverse("health-json"))
    assert response.status_code == 503
    assert response.json()["stale_queues"] == ["learn"]
    assert response.json()["stale_after_seconds"] == 300


def test_the_container_check_of_the_web_app_does_not_judge_the_workers(client, db):
    response = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200  # every queue is stale: no answer at all yet


def test_health_page_shows_every_queue_and_sends_nothing(client_of, moderator, queued):
    all_answered()
    answered("crawl", ago=3600)
    fail("health.crawl.queue_heartbeat", ValueError())
    client = client_of(moderator)
    page = client.get(reverse("health")).content.decode()
    client.get(reverse("health-json"))
    assert queued == []  # reading health costs no task: beat sends the heartbeats
    for queue in QUEUES:
        assert f'id="queue-{queue}"' in page
    assert 'id="queue-crawl" data-stale="true"' in page
    assert 'id="queue-write" data-stale="false"' in page
    assert "health.crawl.queue_heartbeat: ValueError" in page


def test_anonymous_health_shows_states_and_counts_but_no_worker_nor_failed_task(client, db):
    all_answered()
    answered("crawl", ago=3600)
    fail("health.crawl.queue_heartbeat", ValueError("at /srv/secret"))
    page = client.get(reverse("health")).content.decode()
    body = client.get(reverse("health-json")).json()
    liveness = client.get(reverse("health"), HTTP_ACCEPT="application/json").json()

    assert 'id="queue-crawl" data-stale="true"' in page
    assert body["stale_queues"] == ["crawl"] and body["queues"]["crawl"]["failures"] == 1
    for shown in (page, json.dumps(body), json.dumps(liveness)):
        assert "@test" not in shown  # a worker's host name and pid
        assert "queue_heartbeat" not in shown and "/srv/secret" not in shown
    assert liveness["database"] == "ok" and "worker" not in liveness


def test_staff_see_which_worker_answered_and_what_failed(client_of, moderator):
    all_answered()
    fail("health.crawl.queue_heartbeat", ValueError("boom"))
    client = client_of(moderator)
    crawl = client.get(reverse("health-json")).json()["queues"]["crawl"]
    assert (crawl["worker"], crawl["last_failure"]) == (
        "crawl@test",
        "health.crawl.queue_heartbeat: ValueError",
    )
    assert "crawl@test" in client.get(reverse("health")).content.decode()


def test_health_json_is_rate_limited(client, db):
    statuses = [client.get(reverse("health-json")).status_code for _ in range(61)]
    assert 429 not in statuses[:60] and statuses[60] == 429


def test_the_health_page_asks_the_broker_a_bounded_number_of_times(client, db):
    statuses = [client.get(reverse("health")).status_code for _ in range(61)]
    assert 429 not in statuses[:60] and statuses[60] == 429
    # The container's liveness check is never refused: it asks neither broker nor limit.
    liveness = client.get(reverse("health"), HTTP_ACCEPT="application/json")
    assert liveness.status_code == 200 and liveness.json()["database"] == "ok"


# --- the stalled write queue, for moderators ------------------------------------------------


def test_the_admin_index_warns_of_a_stalled_write_queue(client_of, moderator, settings):
    settings.WIKIVISAGE_HEARTBEAT_STALE_SECONDS = 300
    client = client_of(moderator)
    all_answered()
    assert 'id="write-queue-stalled"' not in client.get(reverse("admin:index")).content.decode()
    answered("write", ago=600)
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="write-queue-stalled"' in page and "has stalled" in page
    answered("write", lag=900)  # answered now, after waiting 15 minutes behind other writes
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="write-queue-stalled"' in page and "is slow" in page


def test_the_admin_lists_each_queue_with_its_backlog(client_of, moderator):
    all_answered()
    page = client_of(moderator).get(reverse("admin:health_queuehealth_changelist"))
    assert page.status_code == 200
    assert "Messages waiting" in page.content.decode()


def test_moderators_get_one_mail_per_stall_of_the_write_queue(db, mailoutbox, settings):
    settings.WIKIVISAGE_HEARTBEAT_STALE_SECONDS = 300
    settings.ADMINS = [("Operator", "ops@example.org")]
    UserFactory(username="mod", email="mod@example.org", is_staff=True)
    UserFactory(username="contributor", email="someone@example.org")
    answered("write", ago=600)

    assert status.write_stall_watch() is False  # just seen: it may be a restart
    QueueHealth.objects.filter(queue="write").update(
        stall_seen_at=timezone.now() - timedelta(seconds=301)
    )
    assert status.write_stall_watch() is True
    assert status.write_stall_watch() is False  # the same stall
    assert len(mailoutbox) == 1
    assert sorted(mailoutbox[0].to) == ["mod@example.org", "ops@example.org"]
    assert "write queue has stalled" in mailoutbox[0].subject

    answered("write")
    assert status.write_stall_watch() is False  # over
    answered("write", ago=600)
    status.write_stall_watch()
    QueueHealth.objects.filter(queue="write").update(
        stall_seen_at=timezone.now() - timedelta(seconds=301)
    )
    assert status.write_stall_watch() is True  # a new stall, a new mail
    assert len(mailoutbox) == 2


def test_the_watch_task_mails_nobody_while_writes_move(db, mailoutbox, moderator):
    answered("write")
    health_tasks.watch_write_queue.apply()
    assert mailoutbox == []
    assert QueueHealth.objects.get(queue="write").stall_seen_at is None


# --- the move from the projects app to the site's health app -------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_health_rows_and_their_content_types_survive_the_move_to_the_health_app():
    """projects/0015 and health/0001 move the models by state only: a database of the old
    code keeps its rows, and the content types (and permissions) follow the models."""
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    before = [("projects", "0013_queue_beat_started"), ("health", None)]
    try:
        executor.migrate(before)
        old = executor.loader.project_state(before[0]).apps
        old.get_model("projects", "QueueHealth").objects.create(queue="write", failures=3)
        ContentType.objects.get_or_create(app_label="projects", model="queuehealth")
        ContentType.objects.filter(app_label="health").delete()
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    finally:
        MigrationExecutor(connection).migrate(latest)
    assert QueueHealth.objects.get(queue="write").failures == 3
    moved = ContentType.objects.get_for_model(QueueHealth)
    assert moved.app_label == "health"
    assert not ContentType.objects.filter(app_label="projects", model="queuehealth").exists()
