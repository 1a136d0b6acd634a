"""OAuth tokens: sealed at rest by the login pipeline, opened only to sign requests."""

from __future__ import annotations

import logging
import sys

import jwt
import pytest
import requests
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.urls import reverse
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter
from oauthlib.oauth1 import Client as OAuthClient
from oauthlib.oauth1.rfc5849 import signature
from social_core.backends import mediawiki as mediawiki_backend
from social_core.backends.mediawiki import MediaWiki
from social_core.exceptions import AuthResponseError
from social_django.models import UserSocialAuth
from social_django.utils import load_strategy

from commons import oauth
from commons.client import commons_client
from commons.mediainfo import new_statement_id, set_depicts_claim
from commons.oauth import (
    PLAINTEXT_FIELD,
    SEALED_FIELD,
    AccessToken,
    MediaWikiOAuth,
    NoWikimediaToken,
    TokenSafeExceptionReporterFilter,
    load_sealed_extra_data,
    user_auth,
    wikimedia_username,
)
from tests.commons.test_wikimedia_login import WORLD, wikimedia_round_trip
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "3f1c0a9e5b7d4e2f8a6c1b0d9e8f7a6b"
SECRET = "9d8c7b6a5f4e3d2c1b0a99887766554433221100"
CONSUMER_KEY = "c0ffee00c0ffee00c0ffee00c0ffee00"
CONSUMER_SECRET = "5ecret5ecret5ecret5ecret5ecret5ecret5e"


@pytest.fixture(autouse=True)
def oauth_settings(settings):
    settings.WIKIVISAGE_TOKEN_KEY = Fernet.generate_key().decode()
    settings.SOCIAL_AUTH_MEDIAWIKI_KEY = CONSUMER_KEY
    settings.SOCIAL_AUTH_MEDIAWIKI_SECRET = CONSUMER_SECRET
    return settings


def log_in_through_the_pipeline(user):
    """What social-auth's pipeline does at the end of a Wikimedia login, our step included."""
    backend = MediaWiki(strategy=load_strategy())
    social = UserSocialAuth.objects.create(user=user, provider="mediawiki", uid="4242")
    response = {
        "username": user.username,
        "sub": "4242",
        "access_token": {"oauth_token": TOKEN, "oauth_token_secret": SECRET},
    }
    details = {"username": "Wiki Tester"}
    kwargs = {"backend": backend, "details": details, "response": response, "uid": "4242"}
    load_sealed_extra_data(user=user, social=social, **kwargs)
    return social


def raw_extra_data(social) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT extra_data FROM {UserSocialAuth._meta.db_table} WHERE id = %s", [social.pk]
        )
        return str(cursor.fetchone()[0])


def test_the_login_pipeline_leaves_only_ciphertext_in_the_database():
    social = log_in_through_the_pipeline(UserFactory())
    stored = raw_extra_data(social)
    assert TOKEN not in stored
    assert SECRET not in stored
    social.refresh_from_db()
    assert PLAINTEXT_FIELD not in social.extra_data
    assert social.extra_data[SEALED_FIELD]


def test_user_auth_signs_with_the_users_own_token():
    user = UserFactory()
    log_in_through_the_pipeline(user)
    prepared = requests.Request(
        "POST", "https://commons.example/w/api.php", data={"action": "wbsetclaim"}
    ).prepare()
    signed = user_auth(user)(prepared)
    header = signed.headers["Authorization"]
    header = header.decode() if isinstance(header, bytes) else header
    assert f'oauth_token="{TOKEN}"' in header
    assert f'oauth_consumer_key="{CONSUMER_KEY}"' in header
    assert_signature_valid(signed, header)


def assert_signature_valid(prepared, header):
    """Recompute the HMAC-SHA1 signature as MediaWiki's OAuth extension does."""
    body = prepared.body.decode() if isinstance(prepared.body, bytes) else prepared.body
    params = signature.collect_parameters(body=body, headers={"Authorization": header})
    assert ("action", "wbsetclaim") in params  # the body is covered by the signature
    base = signature.signature_base_string(
        "POST", signature.base_string_uri(prepared.url), signature.normalize_parameters(params)
    )
    verifier = OAuthClient(
        CONSUMER_KEY, client_secret=CONSUMER_SECRET, resource_owner_secret=SECRET
    )
    expected = signature.sign_hmac_sha1_with_client(base, verifier)
    sent = dict(
        signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=False
        )
    )
    assert sent["oauth_signature"] == expected


def test_a_row_stored_before_sealing_existed_is_sealed_on_first_use():
    user = UserFactory()
    social = UserSocialAuth.objects.create(
        user=user,
        provider="mediawiki",
        uid="7",
        extra_data={PLAINTEXT_FIELD: {"oauth_token": TOKEN, "oauth_token_secret": SECRET}},
    )
    assert user_auth(user).client.resource_owner_key == TOKEN
    assert TOKEN not in raw_extra_data(social)


def test_a_local_account_has_no_wikimedia_token():
    with pytest.raises(NoWikimediaToken):
        user_auth(UserFactory())


def test_a_token_sealed_under_a_retired_key_asks_for_a_new_login(settings):
    user = UserFactory()
    log_in_through_the_pipeline(user)
    settings.WIKIVISAGE_TOKEN_KEY = Fernet.generate_key().decode()
    with pytest.raises(NoWikimediaToken, match="current key"):
        user_auth(user)


def test_a_rotated_key_still_opens_tokens_sealed_under_the_old_one(settings):
    user = UserFactory()
    log_in_through_the_pipeline(user)
    settings.WIKIVISAGE_TOKEN_KEY = (
        f"{Fernet.generate_key().decode()},{settings.WIKIVISAGE_TOKEN_KEY}"
    )
    assert user_auth(user).client.resource_owner_secret == SECRET


def test_the_wikimedia_user_name_is_kept_beside_the_sealed_token():
    user = UserFactory()
    assert wikimedia_username(user) is None
    log_in_through_the_pipeline(user)
    assert wikimedia_username(user) == "Wiki Tester"


def test_without_a_usable_key_the_login_fails_and_stores_no_token(settings):
    user = UserFactory()
    settings.WIKIVISAGE_TOKEN_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        log_in_through_the_pipeline(user)
    social = UserSocialAuth.objects.get(user=user)
    assert TOKEN not in raw_extra_data(social)
    assert SECRET not in raw_extra_data(social)


def test_no_repr_shows_a_token():
    user = UserFactory()
    log_in_through_the_pipeline(user)
    for shown in (repr(AccessToken(key=TOKEN, secret=SECRET)), repr(user_auth(user))):
        assert TOKEN not in shown
        assert SECRET not in shown


def test_the_admin_never_shows_a_token(client_of, moderator):
    social = log_in_through_the_pipeline(UserFactory())
    client = client_of(moderator)
    pages = [
        reverse("admin:social_django_usersocialauth_changelist"),
        reverse("admin:social_django_usersocialauth_change", args=[social.pk]),
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert TOKEN not in body
        assert SECRET not in body


def test_nothing_logged_while_logging_in_and_signing_shows_a_token(caplog):
    caplog.set_level(logging.DEBUG)
    user = UserFactory()
    log_in_through_the_pipeline(user)
    user_auth(user)
    assert TOKEN not in caplog.text
    assert SECRET not in caplog.text


def error_report(reporter_filter) -> str:
    """The HTML error report of an exception raised while the pipeline held a token."""

    def pipeline_step(response):
        raise RuntimeError("the step failed")

    response = {"access_token": {"oauth_token": TOKEN, "oauth_token_secret": SECRET}}
    try:
        pipeline_step(response)
    except RuntimeError:
        reporter = ExceptionReporter(None, *sys.exc_info())
    reporter.filter = reporter_filter
    return reporter.get_traceback_html()


def test_error_reports_hide_tokens_held_in_social_auth_frames(settings):
    settings.DEBUG = False
    assert TOKEN in error_report(SafeExceptionReporterFilter())  # Django alone shows it
    report = error_report(TokenSafeExceptionReporterFilter())
    assert TOKEN not in report
    assert SECRET not in report


# --- Wikimedia's identity, and a whole login through the stand-in ---------------------------

IDENTITY = {"iss": "https://meta.wikimedia.org", "iat": 1700000000, "nonce": "n", "username": "A"}


def test_the_integer_sub_wikimedia_sends_is_accepted():
    # UserStatementProvider sends the central user id as a JSON integer.
    stock = MediaWiki(strategy=load_strategy())
    with pytest.raises(AuthResponseError):
        stock._validate_identity_claims({**IDENTITY, "sub": 4242})
    identity = {**IDENTITY, "sub": 4242}
    MediaWikiOAuth(strategy=load_strategy())._validate_identity_claims(identity)
    assert identity["sub"] == "4242"
    assert MediaWikiOAuth.name == "mediawiki"


def log_in_through_wikimedia(client, settings) -> None:
    """Django's login view → the stand-in's authorize page → our callback, as a browser does."""
    done = wikimedia_round_trip(client, settings)
    assert done.status_code == 302, done.content[:500]


def test_a_wikimedia_login_stores_ciphertext_and_signs_edits_as_that_user(
    client, make_fake_commons, settings, caplog
):
    caplog.set_level(logging.DEBUG)
    fake = make_fake_commons(WORLD)
    log_in_through_wikimedia(client, settings)
    social = UserSocialAuth.objects.get(provider="mediawiki")
    issued = list(fake.oauth.access_tokens.values())
    assert issued
    stored = raw_extra_data(social)
    pageid = int(fake.mid("Portrait.jpg")[1:])
    with commons_client(auth=user_auth(social.user)) as commons:
        written = set_depicts_claim(
            commons,
            pageid=pageid,
            qid="Q76",
            statement_id=new_statement_id(pageid),
            region=None,
            summary="test",
        )
    (write,) = fake.writes
    assert (write.statement_id, write.user) == (written.statement_id, "WikiVisage Tester")
    for token in issued:
        for text in (stored, caplog.text):
            assert token.key not in text
            assert token.secret not in text


def test_the_settings_install_the_sealing_step_and_the_backend():
    pipeline = list(settings.SOCIAL_AUTH_PIPELINE)
    assert "social_core.pipeline.social_auth.load_extra_data" not in pipeline
    position = pipeline.index("commons.oauth.load_sealed_extra_data")
    assert pipeline[position - 1] == "social_core.pipeline.social_auth.associate_user"
    assert "commons.oauth.MediaWikiOAuth" in settings.AUTHENTICATION_BACKENDS
    assert "social_core.backends.mediawiki.MediaWiki" not in settings.AUTHENTICATION_BACKENDS
    assert settings.DEFAULT_EXCEPTION_REPORTER_FILTER == (
        "commons.oauth.TokenSafeExceptionReporterFilter"
    )


def test_the_app_applies_the_login_patches_when_it_starts(monkeypatch):
    """The quiet oauthlib loggers and the backend's JWT check come from the app's ready(),
    not from importing a module (and applying them again changes nothing)."""
    monkeypatch.setattr(mediawiki_backend, "jwt", jwt)
    for name in oauth.QUIET_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.DEBUG)
    for _ in range(2):
        apps.get_app_config("commons").ready()
        assert isinstance(mediawiki_backend.jwt, oauth._IdentityJWT)
        assert all(logging.getLogger(n).level == logging.INFO for n in oauth.QUIET_LOGGERS)
