"""The Action API client: error classification on real answers, retries over real HTTP."""

from __future__ import annotations

import ast
import json
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import requests
from django.conf import settings
from requests_oauthlib import OAuth1

from commons.client import (
    ApiClient,
    AuthenticationFailed,
    BadToken,
    CommonsRefused,
    NoSuchEntity,
    WriteOutcomeUnknown,
    commons_client,
    error_from_api,
    error_from_status,
    parse_retry_after,
)
from commons.mediainfo import depicts_claim, new_statement_id
from core.errors import PermanentError, TransientError
from core.retry import RetryPolicy

REAL_API = Path(settings.FACES_DATA_DIR).parent / "real-api"


def real_response(name: str) -> dict:
    """The recorded response body of one sample in shared/data/real-api."""
    return json.loads((REAL_API / name).read_text())["response"]


# --- classification of real error bodies -------------------------------------------------


def test_real_maxlag_is_transient_and_keeps_retry_after():
    error = error_from_api(real_response("07-error-maxlag-wikidata.json")["error"], retry_after=5)
    assert isinstance(error, TransientError)
    assert (error.code, error.retry_after) == ("maxlag", 5)


def test_real_core_ratelimited_is_transient():
    # Kept as Python's repr in the sample (see its partial_note).
    sample = json.loads((REAL_API / "07-error-ratelimited-core-partial.json").read_text())
    body = ast.literal_eval(sample["response_text_partial"])
    assert isinstance(error_from_api(body["error"]), TransientError)


@pytest.mark.parametrize(
    "name",
    [
        "07-error-ratelimit-wikibase-failed-save-actionthrottled.json",
        "07-error-ratelimit-wikibase-fv1-mwdd.json",
    ],
)
def test_real_wikibase_throttle_is_a_transient_failed_save(name):
    error = error_from_api(real_response(name)["error"])
    assert isinstance(error, TransientError)
    assert error.code == "actionthrottled"


@pytest.mark.parametrize(
    "name",
    [
        "07-error-failed-save-abusefilter-warning.json",
        "07-error-failed-save-spamblacklist-wikidata.json",
    ],
)
def test_real_failed_save_without_throttle_is_permanent(name):
    error = error_from_api(real_response(name)["error"])
    assert isinstance(error, PermanentError)
    assert error.code == "failed-save"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("07-error-badtoken-fv1.json", BadToken),
        ("07-error-assertuserfailed-enwiki-fv1.json", AuthenticationFailed),
        ("07-error-assertuserfailed-wikidata.json", AuthenticationFailed),
        ("07-error-no-such-entity-Q0.json", NoSuchEntity),
        ("07-error-no-such-entity-invalid-id.json", NoSuchEntity),
        ("07-error-no-such-entity-with-id-fv1.json", NoSuchEntity),
    ],
)
def test_real_permanent_errors_are_classified(name, kind):
    error = error_from_api(real_response(name)["error"])
    assert type(error) is kind
    assert not isinstance(error, TransientError)


def test_unknown_codes_are_permanent_so_nothing_loops_forever():
    error = error_from_api({"code": "something-new", "info": "?"})
    assert type(error) is CommonsRefused
    assert isinstance(error, PermanentError)


@pytest.mark.parametrize(
    ("status", "transient"), [(429, True), (500, True), (503, True), (404, False), (403, False)]
)
def test_http_status_classification(status, transient):
    error = error_from_status(status, retry_after=None)
    assert isinstance(error, TransientError) is transient
    assert error.code == f"http-{status}"


def test_retry_after_in_seconds_and_as_http_date():
    assert parse_retry_after("7") == 7.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= parse_retry_after(soon) <= 30
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon-ish") is None


def test_backoff_grows_is_jittered_capped_and_never_shorter_than_retry_after():
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=20.0)
    rng = random.Random(4)
    delays = [policy.delay(attempt, None, rng) for attempt in range(8)]
    assert all(2**n / 2 <= d <= 2**n for n, d in enumerate(delays[:4]))
    assert max(delays) <= 20.0
    assert len(set(delays)) == len(delays)
    assert policy.delay(0, 9.0, rng) == 9.0
    too_long = TransientError("maxlag", retry_after=60.0)
    assert policy.gives_up(0, too_long)


# --- the client over real HTTP, against the stand-in ---------------------------------------

WORLD = {
    "items": {"Q76": {"labels": {"en": "Barack Obama"}, "P31": ["Q5"]}},
    "categories": {"Portraits": {"files": ["Portrait 1.jpg", "Portrait 2.jpg"], "subcats": []}},
    "files": {
        "Portrait 1.jpg": {"generate": {"format": "JPEG", "seed": 1}},
        "Portrait 2.jpg": {"generate": {"format": "JPEG", "seed": 2}},
    },
}
LISTING = {"action": "query", "list": "categorymembers", "cmtitle": "Category:Portraits"}
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=10.0)


@pytest.fixture
def fake(make_fake_commons):
    return make_fake_commons(WORLD)


@pytest.fixture
def sleeps():
    """The pauses the client asked for, instead of taking them."""
    return []


@pytest.fixture
def reader(fake, sleeps):
    with commons_client(retry=FAST, sleep=sleeps.append) as client:
        yield client


@pytest.fixture
def writer(fake, sleeps):
    token = fake.issue_access_token()
    auth = OAuth1(
        settings.SOCIAL_AUTH_MEDIAWIKI_KEY,
        client_secret=settings.SOCIAL_AUTH_MEDIAWIKI_SECRET,
        resource_owner_key=token.key,
        resource_owner_secret=token.secret,
    )
    with commons_client(auth=auth, retry=FAST, sleep=sleeps.append) as client:
        yield client


def depicts_write(fake) -> tuple[str, dict[str, str]]:
    """The parameters of one wbsetclaim on Portrait 1 (statement id, params)."""
    pageid = int(fake.mid("Portrait 1.jpg")[1:])
    statement_id = new_statement_id(pageid)
    claim = depicts_claim(statement_id=statement_id, qid="Q76", region=None)
    return statement_id, {"action": "wbsetclaim", "claim": json.dumps(claim), "summary": "test"}


def test_every_request_carries_the_user_agent_maxlag_and_json_v2(fake, reader, writer):
    reader.get(LISTING)
    writer.write(depicts_write(fake)[1])
    received = fake.api_requests()
    assert {r.action for r in received} == {"query", "wbsetclaim"}
    for request in received:
        assert request.user_agent == settings.WIKIVISAGE_USER_AGENT
        assert request.params["maxlag"] == "5"
        assert (request.params["format"], request.params["formatversion"]) == ("json", "2")
        assert "gzip" in request.headers["Accept-Encoding"]
    assert fake.etiquette_violations == []


def test_a_write_is_a_signed_post_with_token_and_assert_user(fake, writer):
    statement_id, params = depicts_write(fake)
    writer.write(params)
    (post,) = fake.api_requests(action="wbsetclaim")
    assert post.method == "POST"
    assert post.params["assert"] == "user"
    assert post.params["token"].endswith("+\\")
    assert post.user == "WikiVisage Tester"
    assert [w.statement_id for w in fake.writes] == [statement_id]


def test_reads_are_gets(fake, reader):
    reader.get(LISTING)
    assert [r.method for r in fake.api_requests()] == ["GET"]


def test_maxlag_waits_at_least_retry_after_then_succeeds(fake, reader, sleeps):
    fake.inject("maxlag", seconds=3)
    response = reader.get(LISTING)
    assert len(response["query"]["categorymembers"]) == 2
    assert [r.fault for r in fake.api_requests()] == ["maxlag", None]
    assert len(sleeps) == 1
    assert sleeps[0] >= 3


def test_http_429_honours_retry_after(fake, reader, sleeps):
    fake.inject("http429", seconds=2)
    reader.get(LISTING)
    assert [r.status for r in fake.api_requests()] == [429, 200]
    assert sleeps[0] >= 2


def test_http_503_backs_off_and_retries(fake, reader, sleeps):
    fake.inject("http503", times=2)
    reader.get(LISTING)
    assert [r.status for r in fake.api_requests()] == [503, 503, 200]
    # Equal jitter: attempt n waits between half and all of base * 2**n.
    assert FAST.base_delay / 2 <= sleeps[0] <= FAST.base_delay
    assert FAST.base_delay <= sleeps[1] <= 2 * FAST.base_delay


def test_retries_stop_at_the_cap_with_a_transient_error(fake, reader, sleeps):
    fake.inject("http503", times=None)
    with pytest.raises(TransientError) as caught:
        reader.get(LISTING)
    assert caught.value.code == "http-503"
    assert len(fake.api_requests()) == FAST.max_attempts
    assert len(sleeps) == FAST.max_attempts - 1


def test_a_retry_after_longer_than_the_cap_is_left_to_the_task_queue(fake, sleeps):
    fake.inject("maxlag", seconds=120)
    with (
        commons_client(retry=FAST, sleep=sleeps.append) as client,
        pytest.raises(TransientError) as caught,
    ):
        client.get(LISTING)
    assert caught.value.retry_after == 120
    assert sleeps == []
    assert len(fake.api_requests()) == 1


def test_ratelimited_write_is_retried_and_applied_once(fake, writer, sleeps):
    fake.inject("ratelimited", action="wbsetclaim")
    statement_id, params = depicts_write(fake)
    writer.write(params)
    assert [r.fault for r in fake.api_requests(action="wbsetclaim")] == ["ratelimited", None]
    assert [w.statement_id for w in fake.writes] == [statement_id]
    assert len(sleeps) == 1


def test_wikibase_throttle_on_wbsetclaim_is_retried_and_applied_once(fake, writer, sleeps):
    fake.inject("actionthrottled", action="wbsetclaim")
    statement_id, params = depicts_write(fake)
    writer.write(params)
    assert [r.fault for r in fake.api_requests(action="wbsetclaim")] == ["actionthrottled", None]
    assert [w.statement_id for w in fake.writes] == [statement_id]


def test_badtoken_fetches_a_fresh_token_once(fake, writer):
    fake.inject("badtoken", action="wbsetclaim")
    writer.write(depicts_write(fake)[1])
    token_requests = [
        r for r in fake.api_requests(action="query") if r.params.get("meta") == "tokens"
    ]
    assert len(token_requests) == 2
    assert [r.fault for r in fake.api_requests(action="wbsetclaim")] == ["badtoken", None]
    assert len(fake.writes) == 1


def test_a_token_refused_twice_is_a_permanent_error(fake, writer):
    fake.inject("badtoken", times=None, action="wbsetclaim")
    with pytest.raises(BadToken):
        writer.write(depicts_write(fake)[1])
    assert len(fake.api_requests(action="wbsetclaim")) == 2
    assert fake.writes == []


def test_a_slow_answer_times_out_and_is_retried(fake, sleeps):
    fake.inject("slow", seconds=1.5)
    with ApiClient(
        api_url=settings.COMMONS_API_URL, timeout=0.3, retry=FAST, sleep=sleeps.append
    ) as client:
        response = client.get(LISTING)
    assert len(response["query"]["categorymembers"]) == 2
    assert len(sleeps) == 1
    assert [r.fault for r in fake.api_requests()] == ["slow", None]


def test_a_timeout_alone_is_a_transient_error(fake):
    fake.inject("slow", seconds=1.5)
    one_try = RetryPolicy(max_attempts=1)
    client = ApiClient(api_url=settings.COMMONS_API_URL, timeout=0.3, retry=one_try)
    with client, pytest.raises(TransientError) as caught:
        client.get(LISTING)
    assert caught.value.code == "timeout"


def test_an_answer_nested_beyond_the_recursion_limit_is_a_transient_error_not_a_crash():
    """A proxy's or a broken server's JSON nested deeper than Python's recursion limit:
    json raises RecursionError, not ValueError; it is a bad answer like any other."""
    answer = requests.Response()
    answer.status_code, answer._content = 200, b"[" * 100_000
    client = ApiClient(api_url=settings.COMMONS_API_URL, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TransientError) as caught:
        client._json(answer)
    assert caught.value.code == "invalid-response"


def test_a_write_whose_answer_is_lost_is_not_resent_blindly(fake, writer):
    fake.inject("drop_after_write")
    statement_id, params = depicts_write(fake)
    with pytest.raises(WriteOutcomeUnknown):
        writer.write(params)
    assert len(fake.api_requests(action="wbsetclaim")) == 1
    assert [w.statement_id for w in fake.writes] == [statement_id]


def test_a_write_without_a_login_fails_permanently_before_any_edit(fake, reader):
    with pytest.raises(AuthenticationFailed) as caught:
        reader.write(depicts_write(fake)[1])
    assert caught.value.code == "assertuserfailed"
    assert fake.api_requests(action="wbsetclaim") == []


def test_permanent_api_errors_are_not_retried(fake, sleeps):
    with commons_client(retry=FAST, sleep=sleeps.append) as client, pytest.raises(PermanentError):
        client.get({"action": "no-such-action"})
    assert len(fake.api_requests()) == 1
    assert sleeps == []


def test_continuation_merges_every_key_of_continue(fake, reader):
    responses = list(reader.iter_continued({**LISTING, "cmlimit": 1}))
    assert len(responses) == 2
    first, second = fake.api_requests()
    assert "cmcontinue" not in first.params
    continued = responses[0]["continue"]
    assert set(continued) >= {"cmcontinue", "continue"}
    assert all(second.params[key] == str(value) for key, value in continued.items())
