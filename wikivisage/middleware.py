"""Site-wide middleware: the Content Security Policy, and failed Wikimedia logins.

Pages carry no inline script or style attribute: behaviour lives in ``static/js`` modules and
positions are set from script through the CSSOM, which the policy allows. Images come from
this site and from Commons (thumbnails on the upload server, ``Special:FilePath`` redirects).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from social_core.exceptions import (
    AuthAssociationError,
    AuthCanceled,
    AuthSessionError,
    SocialAuthBaseException,
)
from social_django.middleware import SocialAuthExceptionMiddleware

from commons.oauth import oauth_configured

# --- the Content Security Policy ---------------------------------------------------------

HEADER = "Content-Security-Policy"
UPLOAD_ORIGIN = "https://upload.wikimedia.org"


def image_origins() -> list[str]:
    """Commons' own origin (read from the configured api.php, so the stand-in works too)."""
    parts = urlsplit(settings.COMMONS_API_URL)
    return list(dict.fromkeys([f"{parts.scheme}://{parts.netloc}", UPLOAD_ORIGIN]))


def form_targets() -> list[str]:
    """Where a form may send the browser: this site, and the OAuth server of the login.

    The Wikimedia button posts to this site, which redirects to the OAuth server; browsers
    hold that redirect to ``form-action`` too. Wikimedia's login may pass through other
    wikimedia.org hosts (the central login domain) before coming back.
    """
    if not oauth_configured():
        return ["'self'"]
    parts = urlsplit(settings.SOCIAL_AUTH_MEDIAWIKI_URL)
    targets = ["'self'", f"{parts.scheme}://{parts.netloc}"]
    if parts.hostname and parts.hostname.endswith(".wikimedia.org"):
        targets.append("https://*.wikimedia.org")
    return list(dict.fromkeys(targets))


def policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src 'self' data: {' '.join(image_origins())}",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            f"form-action {' '.join(form_targets())}",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Django's admin (moderation) still has inline styles of its own; it keeps its
        # defaults rather than breaking under a policy written for our pages.
        if HEADER not in response and not request.path.startswith("/admin/"):
            response[HEADER] = policy()
        return response


# --- expected refusals, as the site's own scripts ask for them ---------------------------

# A page's script that asks with this header takes a refusal it expects (a Q-id that is no
# person, a face another reviewer answered) as an answer, not a failure.
EXPECT_REFUSALS = "X-Expect-Refusals"
REFUSED_STATUS = "X-Refused-Status"
EXPECTED_STATUSES = frozenset({400, 404, 409, 422})


class ExpectedRefusalMiddleware:
    """A JSON refusal (400, 404, 409, 422) to a request of the site's own scripts
    (``static/js/http.js`` sends ``X-Expect-Refusals: 1``) answers 200, its status in
    ``X-Refused-Status``, which the script reads back.

    Why: a browser logs every 4xx as a console error ("Failed to load resource"), which says
    something broke when the page is simply told "no" and shows why. Every other client
    (curl, a bot, the tests' client) keeps the real status; the same URL answers both, so
    the response varies on the header.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get(EXPECT_REFUSALS) != "1":
            return response
        patch_vary_headers(response, [EXPECT_REFUSALS])
        is_json = response.get("Content-Type", "").startswith("application/json")
        if is_json and response.status_code in EXPECTED_STATUSES:
            response[REFUSED_STATUS] = str(response.status_code)
            response.status_code = 200
        return response


# --- failed Wikimedia logins -------------------------------------------------------------


class WikimediaLoginErrorMiddleware(SocialAuthExceptionMiddleware):
    """Every failed Wikimedia login ends on a page with a message a person can act on.

    social-auth re-raises its errors when DEBUG is on, and its texts are for developers
    ("Missing unauthorized token"). Here each failure, in every mode, becomes a translated
    message and a redirect: back to where a logged-in user started (the send page that asked
    them to link an account), or to the login page.
    """

    def raise_exception(self, request: HttpRequest, exception: Exception) -> bool:
        return False

    def get_message(self, request: HttpRequest, exception: Exception) -> str:
        if isinstance(exception, AuthAssociationError):
            return _(
                "This Wikimedia account is already linked to another WikiVisage account. "
                "Log in with the Wikimedia button to use that account, or ask a moderator "
                "to move the link."
            )
        if isinstance(exception, AuthCanceled):
            return _("The Wikimedia login was cancelled; nothing was changed.")
        if isinstance(exception, AuthSessionError):
            return _(
                "The Wikimedia login could not be finished: it expired or was started in "
                "another browser. Please start again."
            )
        return _("The Wikimedia login failed. Please try again in a moment.")

    def get_redirect_uri(self, request: HttpRequest, exception: Exception) -> str | None:
        if not isinstance(exception, SocialAuthBaseException):
            return None
        started_from = request.session.get("next", "")
        if request.user.is_authenticated and _is_local_path(started_from):
            return started_from
        return super().get_redirect_uri(request, exception)


def _is_local_path(url: str) -> bool:
    return url.startswith("/") and not url.startswith("//")
