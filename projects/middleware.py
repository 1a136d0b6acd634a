"""A strict Content Security Policy on every page of the tool.

Pages carry no inline script or style attribute: behaviour lives in ``static/js`` modules and
positions are set from script through the CSSOM, which the policy allows. Images come from
this site and from Commons (thumbnails on the upload server, ``Special:FilePath`` redirects).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from commons.oauth import oauth_configured

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
