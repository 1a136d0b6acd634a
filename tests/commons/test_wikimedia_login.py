"""The Wikimedia login as a browser meets it: a POST button, a policy that lets it leave,
linking an account from the send page, and a clear message (never a 500) when it fails."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.urls import reverse
from social_django.models import UserSocialAuth

from commons.oauth import wikimedia_username
from tests.factories import UserFactory
from wikivisage.middleware import HEADER

pytestmark = pytest.mark.django_db

BEGIN = reverse("social:begin", args=["mediawiki"])


WORLD = {
    "categories": {},
    "files": {"Portrait.jpg": {"generate": {"format": "JPEG", "seed": 1}}},
    "users": {"WikiVisage Tester": {"id": 4242, "groups": ["*", "user", "autoconfirmed"]}},
}


@pytest.fixture
def standin(make_fake_commons, settings):
    settings.WIKIVISAGE_TOKEN_KEY = Fernet.generate_key().decode()
    return make_fake_commons(WORLD)


def wikimedia_round_trip(client, settings, **data):
    """The button's POST → the stand-in's approval → our callback, as a browser follows them."""
    begin = client.post(BEGIN, data)
    assert begin.status_code == 302, begin.content[:300]
    approved = requests.get(
        begin["Location"],
        allow_redirects=False,
        headers={"User-Agent": settings.WIKIVISAGE_USER_AGENT},
        timeout=10,
    )
    callback = urlsplit(approved.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def messages_of(client, response) -> str:
    return client.get(response["Location"]).content.decode()


def test_the_login_page_offers_wikimedia_as_a_post_form_with_csrf(client, standin):
    body = client.get(reverse("login")).content.decode()
    form = body[body.index('class="inline wikimedia-login"') :]
    form = form[: form.index("</form>")]
    assert 'method="post"' in form and f'action="{BEGIN}"' in form
    assert "csrfmiddlewaretoken" in form
    assert "Log in with your Wikimedia account" in form


def test_social_auth_starts_a_login_only_on_post(client, standin):
    assert client.get(BEGIN).status_code == 405


def test_the_page_policy_lets_the_login_form_reach_the_oauth_server(client, standin, settings):
    policy = client.get(reverse("login"))[HEADER]
    form_action = next(part for part in policy.split("; ") if part.startswith("form-action"))
    meta = urlsplit(settings.SOCIAL_AUTH_MEDIAWIKI_URL)
    assert form_action.split()[1:] == ["'self'", f"{meta.scheme}://{meta.netloc}"]


def test_on_wikimedia_the_policy_allows_its_central_login_hosts(client, settings):
    settings.SOCIAL_AUTH_MEDIAWIKI_KEY, settings.SOCIAL_AUTH_MEDIAWIKI_SECRET = "key", "secret"
    settings.SOCIAL_AUTH_MEDIAWIKI_URL = "https://meta.wikimedia.org/w/index.php"
    policy = client.get(reverse("login"))[HEADER]
    assert "form-action 'self' https://meta.wikimedia.org https://*.wikimedia.org" in policy


def test_without_an_oauth_consumer_forms_stay_on_this_site(client, settings):
    settings.SOCIAL_AUTH_MEDIAWIKI_KEY = ""
    response = client.get(reverse("login"))
    assert response[HEADER].endswith("form-action 'self'")
    assert "wikimedia-login" not in response.content.decode()


def test_a_newcomer_logs_in_with_the_button_and_lands_on_the_dashboard(client, standin, settings):
    done = wikimedia_round_trip(client, settings)
    assert done.status_code == 302
    assert done["Location"] == reverse("projects:dashboard")
    user = get_user_model().objects.get()
    assert wikimedia_username(user) == "WikiVisage Tester"
    assert client.get(reverse("projects:dashboard")).status_code == 200


def test_a_local_account_links_its_wikimedia_account_and_returns_to_the_send_page(
    client, standin, settings
):
    local = UserFactory(username="demo")
    client.force_login(local)
    send_page = "/projects/1/edits/"
    done = wikimedia_round_trip(client, settings, next=send_page)
    assert (done.status_code, done["Location"]) == (302, send_page)
    assert get_user_model().objects.count() == 1
    assert wikimedia_username(local) == "WikiVisage Tester"


def test_a_wikimedia_account_linked_elsewhere_gives_a_message_not_a_500(client, standin, settings):
    holder = UserFactory(username="holder")
    UserSocialAuth.objects.create(user=holder, provider="mediawiki", uid="4242")
    client.force_login(UserFactory(username="demo"))
    done = wikimedia_round_trip(client, settings, next="/projects/")
    assert (done.status_code, done["Location"]) == (302, "/projects/")
    assert "already linked to another WikiVisage account" in messages_of(client, done)
    assert UserSocialAuth.objects.get().user == holder


def test_the_callback_without_a_session_sends_back_to_log_in_with_a_message(client, standin):
    done = client.get(
        reverse("social:complete", args=["mediawiki"]),
        {"oauth_token": "stale", "oauth_verifier": "stale"},
    )
    assert (done.status_code, done["Location"]) == (302, reverse("login"))
    assert "could not be finished" in messages_of(client, done)
