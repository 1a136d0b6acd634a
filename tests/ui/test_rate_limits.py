"""Rate limits on every write endpoint and on login; the bounded worker ping.

The limits count per minute in the cache (per process in tests, cleared before each test by
``fresh_rate_limits``, which also holds the minute still); ``next_minute`` moves it on.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from faces.models import Answer
from tests.ui.conftest import answer_body
from wikivisage.health.models import Heartbeat

pytestmark = pytest.mark.django_db

JSON = {"content_type": "application/json", "HTTP_ACCEPT": "application/json"}
PROXY = "10.0.0.1"  # Toolforge's front proxy, as REMOTE_ADDR of every request


def codes(send, times: int) -> list[int]:
    return [send().status_code for _ in range(times)]


def limited_after(results: list[int], limit: int) -> bool:
    """The first ``limit`` calls went through; the one after was refused."""
    return 429 not in results[:limit] and results[limit:] == [429] * (len(results) - limit)


# --- review endpoints (JSON) --------------------------------------------------------------


@pytest.mark.parametrize(("name", "limit"), [("answer", 240), ("pick", 240), ("undo", 120)])
def test_review_writes_are_limited_per_user(client_of, owner, project, name, limit):
    client = client_of(owner)
    url = reverse(f"projects:{name}", args=[project.pk])
    assert limited_after(codes(lambda: client.post(url, {}, **JSON), limit + 1), limit)


def test_next_question_is_limited_per_user(client_of, owner, project):
    client = client_of(owner)
    url = reverse("projects:next", args=[project.pk])
    send = lambda: client.get(url, {"exclude": "x"}, HTTP_ACCEPT="application/json")  # noqa: E731
    assert limited_after(codes(send, 241), 240)


def test_answers_and_picks_share_one_limit(client_of, owner, project):
    client = client_of(owner)
    answer, pick = (reverse(f"projects:{n}", args=[project.pk]) for n in ("answer", "pick"))
    codes(lambda: client.post(answer, {}, **JSON), 240)
    assert client.post(pick, {}, **JSON).status_code == 429


def next_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    from core import ratelimit

    minute = ratelimit.current_minute()
    monkeypatch.setattr(ratelimit, "current_minute", lambda: minute + 1)


def test_a_refused_answer_says_why_in_json_and_is_stored_when_sent_again(
    client_of, owner, project, face, monkeypatch
):
    client = client_of(owner)
    url = reverse("projects:answer", args=[project.pk])
    codes(lambda: client.post(url, {}, **JSON), 240)
    body = answer_body(face)
    refused = client.post(url, body, **JSON)
    # What the page's outbox reads (static/js/classify.js): 429 keeps the answer and waits.
    assert refused.status_code == 429 and refused["Retry-After"] == "60"
    assert refused.json()["error"] == "rate_limited" and refused.json()["message"]
    assert not Answer.objects.exists()
    next_minute(monkeypatch)
    assert client.post(url, body, **JSON).status_code == 200
    assert Answer.objects.filter(face=face).count() == 1


def test_one_reviewers_limit_leaves_the_others_alone(client_of, owner, member, project):
    url = reverse("projects:undo", args=[project.pk])
    client = client_of(owner)
    codes(lambda: client.post(url, {}, **JSON), 121)
    assert client_of(member).post(url, {}, **JSON).status_code == 200


# --- the send page (HTML forms) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kwargs", "limit"),
    [
        ("confirm", {}, 10),
        ("revert", {"batch": uuid.uuid4()}, 10),
        ("approve-removal", {"edit_pk": 999999}, 60),
        ("remove-contradicted", {"face_pk": 999999}, 60),
        ("keep-contradicted", {"face_pk": 999999}, 60),
        ("withdraw", {"edit_pk": 999999}, 60),
    ],
)
def test_send_page_writes_are_limited_per_user(client_of, owner, project, name, kwargs, limit):
    client = client_of(owner)
    url = reverse(f"depicts:{name}", kwargs={"project_pk": project.pk, **kwargs})
    assert limited_after(codes(lambda: client.post(url), limit + 1), limit)
    assert b"Too many requests" in client.post(url).content


# --- login ----------------------------------------------------------------------------------


def test_starting_the_wikimedia_login_is_limited_per_address(client):
    # An unknown backend answers 404 without asking Wikimedia: only the count is under test.
    url = reverse("social:begin", args=["nowhere"])
    assert limited_after(codes(lambda: client.post(url), 21), 20)


def test_password_login_attempts_are_limited_but_not_the_login_page(client, owner):
    url = reverse("login")
    assert set(codes(lambda: client.get(url), 30)) == {200}
    attempt = lambda: client.post(url, {"username": "owner", "password": "wrong"})  # noqa: E731
    assert limited_after(codes(attempt, 21), 20)


def test_behind_the_proxy_each_client_address_has_its_own_limit(client, settings):
    settings.WIKIVISAGE_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    url = reverse("social:begin", args=["nowhere"])

    def start(forwarded: str) -> int:
        return client.post(url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert 429 not in [start("192.0.2.1") for _ in range(20)]
    assert start("192.0.2.1") == 429
    assert start("192.0.2.2") == 404  # another client behind the same proxy


def test_a_client_cannot_escape_the_limit_by_forging_the_forwarded_header(client, settings):
    settings.WIKIVISAGE_CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    url = reverse("social:begin", args=["nowhere"])
    # The proxy appends what it saw (192.0.2.1); the client wrote the rest, a new one each time.
    forged = [
        client.post(
            url, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 192.0.2.1"
        ).status_code
        for n in range(21)
    ]
    assert limited_after(forged, 20)


def test_without_the_setting_the_forwarded_header_is_ignored(client):
    url = reverse("social:begin", args=["nowhere"])
    forged = [
        client.post(url, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(21)
    ]
    assert limited_after(forged, 20)


# --- the worker ping ------------------------------------------------------------------------


def test_a_pending_ping_is_not_sent_again(client, queued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        responses = [client.post(reverse("health-ping")) for _ in range(5)]
    assert {r.status_code for r in responses} == {302}
    assert Heartbeat.objects.count() == 1
    assert [q.task for q in queued] == ["health.default.heartbeat"]


def test_a_new_ping_goes_once_the_last_is_answered_or_lost(client):
    url = reverse("health-ping")
    client.post(url)
    Heartbeat.objects.update(answered_at=timezone.now())
    client.post(url)
    assert Heartbeat.objects.count() == 2
    lost = timezone.now() - timedelta(minutes=5)
    Heartbeat.objects.filter(answered_at__isnull=True).update(sent_at=lost)
    client.post(url)
    assert Heartbeat.objects.count() == 3


def test_pings_are_limited_per_address(client):
    url = reverse("health-ping")
    assert limited_after(codes(lambda: client.post(url), 11), 10)


@pytest.mark.parametrize(
    ("name", "args"),
    [("projects:settings", []), ("projects:member-invite", []), ("projects:member-remove", [1])],
)
def test_a_project_s_settings_and_members_are_rate_limited(client_of, owner, project, name, args):
    client = client_of(owner)
    url = reverse(name, args=[project.pk, *args])
    statuses = [client.post(url, {}).status_code for _ in range(31)]
    assert 429 not in statuses[:30]
    assert statuses[-1] == 429
