"""The depicts writer through the stand-in: exactly one statement per approved file, whatever
fails on the way. Counts are taken on the stand-in (what Commons holds, and every write it
accepted), never on what the writer believes it did."""

from __future__ import annotations

import itertools
import random
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from depicts import policy, tasks, throttle
from depicts.models import DepictsEdit, WriteSwitch
from depicts.services import approval, common, resume, sending
from depicts.tasks import write_edit
from tests.depicts.writing import (
    BLOCKED,
    CHANGE_TAG,
    DELETED,
    FRESH,
    KNOWN,
    NEVER_EDITED,
    PERSON,
    REDIRECT,
    approve,
    depicts,
    face_on,
    image_of,
    log_in,
    queue,
    queue_only,
    run_writes,
    send_all,
    setclaims,
    worker_env,
)
from tests.factories import FaceFactory, ProjectFactory
from tests.workers import celery_worker, wait_for

State = DepictsEdit.State
FAULTS = ["maxlag", "http429", "http503", "ratelimited", "actionthrottled", "badtoken"]


def sent_edit(commons, project, user, name: str = FRESH[0]) -> DepictsEdit:
    (edit,) = approve(commons, project, user, [name])
    send_all(queue(project, user, [edit]))
    edit.refresh_from_db()
    return edit


# --- one statement per approved file ---------------------------------------------------------


@pytest.mark.django_db
def test_an_approved_face_becomes_one_p180_statement_with_its_region(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    send_all(queue(project, sender, [edit]))
    edit.refresh_from_db()
    assert edit.state == State.SENT
    assert depicts(commons, FRESH[0]) == [PERSON]
    (statement,) = commons.statements(commons.mid(FRESH[0]), "P180")
    assert statement["id"] == edit.statement_id
    region = statement["qualifiers"]["P2677"][0]["datavalue"]["value"]
    assert region == edit.region == "pct:25,20,30,40"


@pytest.mark.django_db
def test_the_write_is_signed_by_the_sender_with_summary_tag_maxlag_and_assert(
    commons, project, sender
):
    sent_edit(commons, project, sender)
    (write,) = setclaims(commons)
    assert write.user == "WikiVisage Tester"
    assert write.tags == (CHANGE_TAG,)
    assert "WikiVisage" in write.summary and "Barack Obama" in write.summary
    assert write.params["maxlag"] == "5"
    assert write.params["assert"] == "user"
    assert write.params["format"] == "json"


@pytest.mark.django_db
def test_a_project_without_face_regions_writes_no_p2677(commons, project, sender):
    project.write_face_region = False
    project.save()
    edit = sent_edit(commons, project, sender)
    (statement,) = commons.statements(commons.mid(FRESH[0]), "P180")
    assert edit.region == ""
    assert "qualifiers" not in statement


@pytest.mark.django_db
def test_each_approved_file_gets_one_statement_and_unapproved_ones_none(commons, project, sender):
    edits = approve(commons, project, sender, FRESH[:3])
    face_on(commons, FRESH[3], project)  # detected, never approved
    send_all(queue(project, sender, edits))
    assert [depicts(commons, name) for name in FRESH[:4]] == [[PERSON]] * 3 + [[]]
    assert len(setclaims(commons)) == 3


@pytest.mark.django_db
def test_approved_but_not_confirmed_edits_are_never_written(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    send_all([edit.pk])  # a task for an edit nobody confirmed on the send page
    edit.refresh_from_db()
    assert edit.state == State.APPROVED
    assert commons.writes == []


@pytest.mark.django_db
def test_a_rejected_face_is_never_written(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    approval.edits_reject(project=project, faces=[edit.face], user=sender)
    send_all([edit.pk])
    edit.refresh_from_db()
    assert edit.state == State.CANCELLED
    assert commons.writes == []


@pytest.mark.django_db
def test_a_file_that_already_depicts_the_person_is_left_alone(commons, project, sender):
    edit = sent_edit(commons, project, sender, KNOWN)
    assert edit.state == State.ALREADY_PRESENT
    assert depicts(commons, KNOWN) == [PERSON]
    assert commons.writes == []


@pytest.mark.django_db
def test_a_file_without_structured_data_gets_its_first_statement(commons, project, sender):
    edit = sent_edit(commons, project, sender, NEVER_EDITED)
    assert edit.state == State.SENT
    assert depicts(commons, NEVER_EDITED) == [PERSON]


@pytest.mark.django_db
def test_sending_twice_writes_once(commons, project, sender):
    edit = sent_edit(commons, project, sender)
    assert send_all([edit.pk]) == {edit.pk: State.SENT}
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_the_write_task_run_twice_writes_once(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    write_edit.apply(args=[edit.pk])
    write_edit.apply(args=[edit.pk])
    edit.refresh_from_db()
    assert edit.state == State.SENT
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_a_task_for_a_deleted_edit_returns_quietly(commons, project, sender):
    assert sending.edit_send(edit_id=987654) == sending.GONE
    write_edit.apply(args=[987654])
    assert commons.writes == []


# --- Wikidata first ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redirected_item_is_followed_and_its_target_written(commons, sender):
    project = ProjectFactory(owner=sender, qid=REDIRECT)
    edit = sent_edit(commons, project, sender)
    assert edit.state == State.SENT
    assert edit.written_qid == PERSON
    assert depicts(commons, FRESH[0]) == [PERSON]


@pytest.mark.django_db
def test_a_deleted_item_is_refused_and_nothing_written(commons, sender):
    project = ProjectFactory(owner=sender, qid=DELETED)
    edit = sent_edit(commons, project, sender)
    assert edit.state == State.FAILED
    assert DELETED in edit.error
    assert commons.writes == []


# --- faults --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.parametrize("kind", FAULTS)
def test_no_extra_statement_under_a_fault_on_the_write(commons, project, sender, kind, times):
    commons.inject(kind, times=times, action="wbsetclaim")
    edit = sent_edit(commons, project, sender)
    assert edit.state == State.SENT
    assert depicts(commons, FRESH[0]) == [PERSON]
    assert len(setclaims(commons)) == 1
    assert commons.faults.fired  # the fault did happen


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["maxlag", "http503", "http429"])
def test_no_extra_statement_under_a_fault_on_every_read(commons, project, sender, kind):
    commons.inject(kind, times=2, action="wbgetentities")
    edit = sent_edit(commons, project, sender)
    assert edit.state == State.SENT
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("times", [1, 3, None])
def test_a_write_applied_but_its_answer_lost_is_not_repeated(commons, project, sender, times):
    commons.inject("drop_after_write", times=times, action="wbsetclaim")
    edit = sent_edit(commons, project, sender)
    assert edit.state == State.SENT
    assert depicts(commons, FRESH[0]) == [PERSON]
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_a_failure_outlasting_the_requests_retries_is_retried_by_the_queue(
    commons, project, sender
):
    commons.inject("http503", times=sending.WRITE_RETRY.max_attempts, action="wbsetclaim")
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    first = sending.edit_send(edit_id=edit.pk, sleep=lambda _s: None)
    edit.refresh_from_db()
    assert (first.state, edit.state, edit.attempts) == (State.QUEUED, State.QUEUED, 1)
    base = sending.edit_retry().base_delay
    assert base / 2 <= first.retry_in <= sending.RETRY_CAP_SECONDS
    assert "http-503" in edit.error
    assert send_all([edit.pk]) == {edit.pk: State.SENT}
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_a_write_slower_than_the_timeout_still_leaves_one_statement(
    commons, project, sender, settings
):
    """The answer comes after the client gave up: the write may be sent again, and the
    stored statement id makes the second one replace the first in place."""
    settings.WIKIVISAGE_HTTP_TIMEOUT = 0.3
    commons.inject("slow", times=1, action="wbsetclaim", seconds=1.0)
    edit = sent_edit(commons, project, sender)
    time.sleep(1.0)  # the slow write lands meanwhile
    assert edit.state == State.SENT
    assert depicts(commons, FRESH[0]) == [PERSON]
    assert {write.statement_id for write in setclaims(commons)} == {edit.statement_id}
    assert [write.replaced for write in setclaims(commons)] == [False, True]  # not added


@pytest.mark.django_db
def test_a_lost_answer_found_on_commons_at_the_next_try_counts_as_sent(commons, project, sender):
    """The write got through but its answer was lost, and then every read failed: the task
    is retried later, finds its own statement id on Commons and writes nothing more."""
    answer = commons.handle

    def reads_fail_after_the_write(http, record):
        reply = answer(http, record)
        if record.action == "wbsetclaim":
            reads = sending.WRITE_RETRY.max_attempts
            commons.inject("http503", times=reads, action="wbgetentities")
        return reply

    commons.handle = reads_fail_after_the_write
    commons.inject("drop_after_write", times=1, action="wbsetclaim")
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    first = sending.edit_send(edit_id=edit.pk, sleep=lambda _s: None)
    assert first.state == State.QUEUED and first.retry_in is not None
    assert depicts(commons, FRESH[0]) == [PERSON]  # on Commons, not yet recorded
    assert send_all([edit.pk]) == {edit.pk: State.SENT}
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_ratelimited_pauses_the_users_edits_for_retry_after(commons, project, sender):
    commons.inject("ratelimited", times=sending.WRITE_RETRY.max_attempts, action="wbsetclaim")
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    before = time.time()
    outcome = sending.edit_send(edit_id=edit.pk, sleep=lambda _s: None)
    paused_until = throttle.next_allowed_at(user_id=sender.pk)
    assert outcome.state == State.QUEUED
    assert paused_until.timestamp() >= before + sending.rate_limit_pause() - 1
    assert outcome.retry_in >= sending.edit_retry().base_delay / 2


@pytest.mark.django_db
def test_retry_delay_grows_with_jitter_under_a_cap_and_honours_retry_after():
    rng = random.Random(7)
    first = [sending.retry_delay(1, None, rng) for _ in range(50)]
    fifth = [sending.retry_delay(5, None, rng) for _ in range(50)]
    assert min(first) >= 15 and max(first) <= 30 and len(set(first)) > 1
    assert 240 <= min(fifth) <= max(fifth) <= 480
    assert sending.retry_delay(20, None, rng) <= sending.RETRY_CAP_SECONDS
    assert sending.retry_delay(1, 120.0, rng) == 120.0


@pytest.mark.django_db
def test_an_edit_failing_every_time_ends_failed_with_the_reason(commons, project, sender):
    commons.inject("maxlag", times=None, action="wbsetclaim")
    (edit,) = approve(commons, project, sender, FRESH[:1])
    states = send_all(queue(project, sender, [edit]), max_runs=sending.MAX_ATTEMPTS + 1)
    edit.refresh_from_db()
    assert states == {edit.pk: State.FAILED}
    assert edit.attempts == sending.MAX_ATTEMPTS - 1
    assert "maxlag" in edit.error
    assert commons.writes == []


@pytest.mark.django_db
def test_a_permanent_failure_on_one_file_does_not_stop_the_batch(commons, project, sender):
    edits = approve(commons, project, sender, FRESH[:2])
    gone = FaceFactory(image=image_of(commons, "Deleted file.jpg", project, pageid=424242))
    edits += approval.edits_approve(project=project, faces=[gone], user=sender)
    states = send_all(queue(project, sender, edits))
    assert list(states.values()) == [State.SENT, State.SENT, State.FAILED]
    assert DepictsEdit.objects.get(pk=edits[2].pk).error == policy.FILE_DELETED
    assert len(setclaims(commons)) == 2


@pytest.mark.django_db
def test_a_blocked_user_gets_failed_edits_with_the_reason(commons, project, owner):
    log_in(commons, owner, BLOCKED)
    edits = approve(commons, project, owner, FRESH[:2])
    states = send_all(queue(project, owner, edits))
    assert set(states.values()) == {State.FAILED}
    assert all("blocked" in e.error for e in DepictsEdit.objects.filter(pk__in=states))
    assert commons.writes == []


@pytest.mark.django_db
def test_edits_of_a_deactivated_sender_are_cancelled_not_sent(commons, project, sender, member):
    edits = approve(commons, project, member, FRESH[:1])  # approved by someone else
    queue(project, sender, edits)
    sender.is_active = False
    sender.save()
    assert send_all([edits[0].pk]) == {edits[0].pk: State.CANCELLED}
    assert commons.writes == []


# --- kill switches -------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_global_switch_stops_every_write_and_sending_resumes_after(commons, project, sender):
    edits = approve(commons, project, sender, FRESH[:2])
    WriteSwitch.objects.create(pk=1, writes_enabled=False)
    ids = queue(project, sender, edits)
    assert send_all(ids) == dict.fromkeys(ids, State.QUEUED)
    assert commons.writes == []
    WriteSwitch.objects.filter(pk=1).update(writes_enabled=True)
    resumed = resume.edits_resume(force=True)
    assert sorted(resumed.sends) == sorted(ids)
    assert send_all(resumed.sends) == dict.fromkeys(ids, State.SENT)
    assert len(setclaims(commons)) == 2


@pytest.mark.django_db
def test_the_project_switch_stops_only_that_projects_writes(commons, project, sender):
    other = ProjectFactory(owner=sender, qid=PERSON)
    stopped = approve(commons, project, sender, FRESH[:1])
    running = approve(commons, other, sender, FRESH[1:2])
    project.writes_enabled = False
    project.save()
    states = send_all(queue(project, sender, stopped) + queue(other, sender, running))
    assert list(states.values()) == [State.QUEUED, State.SENT]
    assert depicts(commons, FRESH[0]) == []


@pytest.mark.django_db
def test_a_switch_turned_off_while_the_file_is_read_still_stops_the_write(
    commons, project, sender, monkeypatch
):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    reads = commons.api_requests
    real_depicts = sending._depicts_of_existing

    def depicts_then_stop(client, pageid):
        statements = real_depicts(client, pageid)
        WriteSwitch.objects.create(pk=1, writes_enabled=False)
        return statements

    monkeypatch.setattr(sending, "_depicts_of_existing", depicts_then_stop)
    assert send_all([edit.pk]) == {edit.pk: State.QUEUED}
    assert reads(action="wbgetentities") and commons.writes == []


# --- the per-user throttle -----------------------------------------------------------------


@pytest.mark.django_db
def test_the_throttle_spaces_one_users_edits_and_not_another_users(owner, outsider):
    interval = timedelta(milliseconds=200)
    waits = [throttle.reserve(user_id=owner.pk, max_wait=5, interval=interval) for _ in range(3)]
    other = throttle.reserve(user_id=outsider.pk, max_wait=5, interval=interval)
    assert [round(slot.wait, 1) for slot in waits] == [0.0, 0.2, 0.4]
    assert other.wait == 0


@pytest.mark.django_db
def test_a_far_slot_is_not_reserved_and_a_hold_off_only_moves_forward(owner):
    throttle.hold_off(user_id=owner.pk, seconds=30)
    throttle.hold_off(user_id=owner.pk, seconds=5)  # must not shorten the pause
    slot = throttle.reserve(user_id=owner.pk, max_wait=5, interval=timedelta(seconds=1))
    assert not slot.reserved
    assert 25 < slot.wait <= 30
    assert throttle.reserve(user_id=owner.pk, max_wait=5).wait == pytest.approx(slot.wait, 0.1)


@pytest.mark.django_db
def test_the_writer_keeps_to_the_configured_rate(commons, project, sender, settings):
    settings.WIKIVISAGE_EDITS_PER_SECOND = 5
    ids = queue(project, sender, approve(commons, project, sender, FRESH[:4]))
    for edit_id in ids:
        sending.edit_send(edit_id=edit_id)  # real sleeps
    times = [write.time for write in setclaims(commons)]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 4
    assert min(gaps) >= 0.2 - 0.02


@pytest.mark.django_db
def test_a_slot_too_far_hands_the_edit_back_with_the_wait(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    throttle.hold_off(user_id=sender.pk, seconds=40)
    outcome = sending.edit_send(edit_id=edit.pk)
    edit.refresh_from_db()
    assert outcome.state == edit.state == State.QUEUED
    assert 35 < outcome.retry_in <= 40
    assert edit.attempts == 0  # waiting for the throttle is not a failure
    assert commons.writes == []


# --- concurrent writers --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_writers_never_write_an_edit_twice(commons, project, sender):
    # Slow writes hold both writers on the same edit at once: only the claim keeps the
    # second from writing too (its read would find nothing yet).
    commons.inject("drop_after_write", times=2, action="wbsetclaim")
    commons.inject("slow", times=None, action="wbsetclaim", seconds=0.3)
    ids = queue_only(project, sender, approve(commons, project, sender, FRESH))
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def writer() -> None:
        start.wait()
        try:
            send_all(ids)
        except BaseException as error:  # a thread's failure must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}
    assert [depicts(commons, name) for name in FRESH] == [[PERSON]] * len(FRESH)
    assert len(setclaims(commons)) == len(FRESH)


@pytest.mark.django_db
def test_a_claimed_edit_is_not_taken_by_a_second_worker(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    assert DepictsEdit.objects.claim(pk=edit.pk, state=State.QUEUED, to=State.SENDING)
    assert sending.edit_send(edit_id=edit.pk).state == State.SENDING
    assert commons.writes == []


@pytest.mark.django_db
def test_an_edit_held_by_a_dead_worker_is_resumed_and_written_once(commons, project, sender):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    assert DepictsEdit.objects.claim(pk=edit.pk, state=State.QUEUED, to=State.SENDING)
    assert resume.edits_resume(stale_after=timedelta(hours=1)).sends == []  # not stale yet
    DepictsEdit.objects.filter(pk=edit.pk).update(claimed_at=edit.approved_at - timedelta(hours=2))
    assert resume.edits_resume(stale_after=timedelta(hours=1)).sends == [edit.pk]
    assert send_all([edit.pk]) == {edit.pk: State.SENT}
    assert len(setclaims(commons)) == 1


@pytest.mark.django_db
def test_the_resume_task_run_twice_sends_an_abandoned_edit_once(
    commons, project, sender, queued, django_capture_on_commit_callbacks
):
    (edit,) = approve(commons, project, sender, FRESH[:1])
    queue(project, sender, [edit])
    long_ago = edit.approved_at - timedelta(hours=2)
    DepictsEdit.objects.filter(pk=edit.pk).update(state=State.SENDING, claimed_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):  # the write tasks are queued
        tasks.resume_edits.apply()
        tasks.resume_edits.apply()
    run_writes(queued)
    edit.refresh_from_db()
    assert edit.state == State.SENT
    assert len(setclaims(commons)) == 1


# --- real worker processes -----------------------------------------------------------------


def settled(ids: list[int]) -> bool:
    waiting = [State.QUEUED, State.SENDING]
    return not DepictsEdit.objects.filter(pk__in=ids, state__in=waiting).exists()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_under_faults_write_each_statement_once(
    commons, project, sender, settings
):
    settings.WIKIVISAGE_EDITS_PER_SECOND = 20
    for kind in ("maxlag", "http503", "drop_after_write", "ratelimited", "badtoken"):
        commons.inject(kind, times=1, action="wbsetclaim")
    commons.inject("slow", times=None, action="wbsetclaim", seconds=0.3)
    ids = queue_only(project, sender, approve(commons, project, sender, FRESH))
    env = worker_env(commons, settings)
    with celery_worker(extra_env=env) as first, celery_worker(extra_env=env, purge=False) as second:
        for edit_id in ids:  # each edit twice in a row: both workers take it at once
            write_edit.delay(edit_id)
            write_edit.delay(edit_id)
        done = wait_for(lambda: settled(ids), timeout=120)
        logs = "".join(first.output[-20:] + second.output[-20:])
    assert done, logs
    assert set(DepictsEdit.objects.values_list("state", flat=True)) == {State.SENT}, logs
    assert [depicts(commons, name) for name in FRESH] == [[PERSON]] * len(FRESH)
    assert len(setclaims(commons)) == len(FRESH)
    assert {write.user for write in setclaims(commons)} == {"WikiVisage Tester"}
    assert len({request.headers.get("User-Agent") for request in commons.requests}) == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_share_one_users_rate(commons, project, sender, settings):
    settings.WIKIVISAGE_EDITS_PER_SECOND = 1  # the default
    ids = queue_only(project, sender, approve(commons, project, sender, FRESH))
    env = worker_env(commons, settings)
    with celery_worker(extra_env=env) as first, celery_worker(extra_env=env, purge=False) as second:
        for edit_id in ids:
            write_edit.delay(edit_id)
        done = wait_for(lambda: settled(ids), timeout=120)
        logs = "".join(first.output[-20:] + second.output[-20:])
    assert done, logs
    times = sorted(write.time for write in setclaims(commons))
    assert len(times) == len(FRESH)
    # Unthrottled, two workers write these six in about a second; at one a second they
    # span five. Scheduling delays only make a write later than its slot: 15% slack.
    assert times[-1] - times[0] >= 0.85 * (len(times) - 1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_write_and_record_causes_no_second_statement(
    commons, project, sender, settings
):
    applied, release = threading.Event(), threading.Event()
    answer = commons.handle

    def hold_the_answer(http, record):
        reply = answer(http, record)  # the statement is on Commons from here on
        if record.action == "wbsetclaim" and not applied.is_set():
            applied.set()
            release.wait(60)
        return reply

    commons.handle = hold_the_answer
    (edit,) = approve(commons, project, sender, FRESH[:1])
    env = worker_env(commons, settings)
    try:
        with celery_worker(extra_env=env) as doomed:
            queue(project, sender, [edit])
            assert applied.wait(60), "".join(doomed.output[-30:])
            doomed.kill()
    finally:
        release.set()
    edit.refresh_from_db()
    assert edit.state == State.SENDING  # the worker died before recording anything
    with celery_worker(extra_env=env) as survivor:
        resume.edits_resume(stale_after=timedelta(0))
        done = wait_for(lambda: settled([edit.pk]), timeout=60)
        logs = "".join(survivor.output[-30:])
    edit.refresh_from_db()
    assert done and edit.state == State.SENT, logs
    assert depicts(commons, FRESH[0]) == [PERSON]
    assert len(setclaims(commons)) == 1


def test_a_live_worker_is_never_taken_for_dead():
    """A claim is taken over only after the claim timeout; by then the task's hard time
    limit has stopped the worker that held it, so two workers never hold one edit."""
    in_process = sending.WRITE_RETRY.max_attempts * sending.WRITE_RETRY.max_delay
    assert in_process + sending.MAX_INLINE_WAIT < tasks.WRITE_SOFT_TIME_LIMIT
    assert tasks.WRITE_SOFT_TIME_LIMIT < tasks.WRITE_TIME_LIMIT < common.DEFAULT_CLAIM_TIMEOUT
