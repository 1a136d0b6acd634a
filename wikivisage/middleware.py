"""Site-wide middleware: what happens when a Wikimedia login fails or is refused."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext as _
from social_core.exceptions import (
    AuthAssociationError,
    AuthCanceled,
    AuthSessionError,
    SocialAuthBaseException,
)
from social_django.middleware import SocialAuthExceptionMiddleware


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
