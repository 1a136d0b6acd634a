"""Wikimedia OAuth 1.0a tokens: sealed at rest, opened only to sign a request.

social-auth-app-django's ``mediawiki`` backend stores the access token pair as
``UserSocialAuth.extra_data["access_token"] = {"oauth_token", "oauth_token_secret"}``.
:func:`load_sealed_extra_data`, the pipeline step that takes the place of social-auth's
``load_extra_data``, seals the pair with Fernet (key: ``settings.WIKIVISAGE_TOKEN_KEY``)
before the row is saved, so the database, its backups and the admin only ever hold the
ciphertext; without a usable key the login fails and nothing is stored. :func:`user_auth` opens it
to sign requests on the user's behalf. ``wikivisage/settings/base.py`` installs the backend
(:class:`MediaWikiOAuth`), this pipeline step and the exception reporter filter; the app's
``ready()`` quiets the oauthlib loggers and patches the backend's JWT check
(:func:`login_patches_apply`); ``tests/commons/test_oauth.py`` pins that wiring.

``WIKIVISAGE_TOKEN_KEY`` may list several keys separated by commas: the first seals, all
open (MultiFernet), so a key can be rotated without logging everyone out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import router
from django.db.models import QuerySet
from django.views.debug import SafeExceptionReporterFilter
from django.views.decorators.debug import sensitive_variables
from requests_oauthlib import OAuth1
from social_core.backends import mediawiki as mediawiki_backend
from social_core.backends.mediawiki import MediaWiki
from social_django.models import UserSocialAuth

from commons.client import CommonsRefused
from core.prepared import PreparedRead

PROVIDER = "mediawiki"
SEALED_FIELD = "access_token_sealed"
PLAINTEXT_FIELD = "access_token"
USERNAME_FIELD = "wikimedia_username"
QUIET_LOGGERS = ("oauthlib", "requests_oauthlib")


def login_patches_apply() -> None:
    """What the login needs of the libraries it uses, applied once as the app starts
    (``commons.apps.CommonsConfig.ready``); applying it again changes nothing.

    oauthlib and requests-oauthlib log the access token, the signature base string and the
    signed body (csrf token included) at DEBUG: they stay above that whatever the root level.
    social-core's mediawiki backend decodes the identity with :class:`_IdentityJWT`.
    """
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    mediawiki_backend.jwt = _IdentityJWT()  # type: ignore[assignment]


class _IdentityJWT:
    """PyJWT as social-core's mediawiki backend calls it, minus one check.

    PyJWT 2.10+ refuses a non-string ``sub`` while decoding, before the backend (and
    :class:`MediaWikiOAuth`) can look at it; MediaWiki sends an integer there. Signature,
    audience, expiry and issuer are still verified; ``sub`` is converted and checked below.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(jwt, name)

    @staticmethod
    def decode(token: str | bytes, key: Any, *, options: Any = None, **kwargs: Any) -> Any:
        relaxed: Any = {**(options or {}), "verify_sub": False}
        return jwt.decode(token, key, options=relaxed, **kwargs)


class MediaWikiOAuth(MediaWiki):
    """social-core's ``mediawiki`` backend, accepting the identity Wikimedia really sends.

    MediaWiki's ``Special:OAuth/identify`` JWT carries ``sub`` as an integer (the central
    user id, UserStatementProvider::getUserProfile); social-core 7 refuses any ``sub`` that is
    not a string, which would turn every Wikimedia login away.
    """

    def _validate_identity_claims(self, identity: dict[str, Any]) -> float:
        sub = identity.get("sub")
        if isinstance(sub, int) and not isinstance(sub, bool):
            identity["sub"] = str(sub)
        return float(super()._validate_identity_claims(identity))

    def get_user(self, user_id: Any) -> Any:
        """social-django's read of the signed-in user (the one active user with this id, else
        None), with its SQL compiled once per process: every request of a signed-in user
        makes it (``core.prepared``). An unusual id or a custom active-users filter takes
        social-django's own way."""
        if not isinstance(user_id, int) or isinstance(user_id, bool) or not user_id:
            return super().get_user(user_id)
        if getattr(settings, "SOCIAL_AUTH_ACTIVE_USERS_FILTER", None) is not None:
            return super().get_user(user_id)
        users = ACTIVE_USER.objects(using=router.db_for_read(get_user_model()), pk=user_id)
        return users[0] if len(users) == 1 else None


def active_user_queryset(*, pk: int) -> QuerySet[Any]:
    """social-django's ``filter_active_users(pk=pk)``, the read behind its ``get_user``."""
    return get_user_model()._default_manager.filter(is_active=True, pk=pk)


ACTIVE_USER = PreparedRead(
    build=active_user_queryset,
    values=lambda _connection, *, pk: {"user": pk},
    shape=lambda **_inputs: (),
)


class NoWikimediaToken(CommonsRefused):
    """The user has no usable Wikimedia login to act with (never linked, or unreadable)."""

    def __init__(self, info: str) -> None:
        super().__init__("no-oauth-token", info)


@dataclass(frozen=True)
class AccessToken:
    """An OAuth 1.0a access token pair; its repr shows neither half."""

    key: str = field(repr=False)
    secret: str = field(repr=False)


@sensitive_variables("token", "payload")
def seal_token(token: Mapping[str, Any]) -> str:
    """The Fernet ciphertext of a ``{"oauth_token", "oauth_token_secret"}`` pair."""
    payload = json.dumps(
        {
            "oauth_token": str(token["oauth_token"]),
            "oauth_token_secret": str(token["oauth_token_secret"]),
        }
    )
    return _fernet().encrypt(payload.encode()).decode()


@sensitive_variables("payload")
def open_token(sealed: str) -> AccessToken:
    try:
        payload = json.loads(_fernet().decrypt(sealed.encode()))
    except InvalidToken:
        # Sealed under a key no longer configured: the user has to log in again.
        raise NoWikimediaToken("the stored token cannot be opened with the current key") from None
    return AccessToken(key=payload["oauth_token"], secret=payload["oauth_token_secret"])


@sensitive_variables("extra", "token")
def load_sealed_extra_data(
    backend: Any,
    details: Mapping[str, Any],
    response: Mapping[str, Any],
    uid: str,
    user: Any = None,
    *args: Any,
    social: Any = None,
    **kwargs: Any,
) -> None:
    """Pipeline step: social-auth's ``load_extra_data``, with the token sealed before saving.

    The Wikimedia user name is kept beside it, so pages can say whose account edits.
    """
    social = social or backend.strategy.storage.user.get_social_auth(backend.name, uid)
    if social is None:
        return
    extra = backend.extra_data(user, uid, response, details, kwargs)
    token = extra.pop(PLAINTEXT_FIELD, None)
    if backend.name == PROVIDER and token:
        extra[SEALED_FIELD] = seal_token(token)
        extra[USERNAME_FIELD] = str(details.get("username") or "")
    social.set_extra_data(extra)


def oauth_configured() -> bool:
    """Whether this site has a Wikimedia OAuth consumer, so that its login can be offered."""
    return bool(settings.SOCIAL_AUTH_MEDIAWIKI_KEY and settings.SOCIAL_AUTH_MEDIAWIKI_SECRET)


def wikimedia_username(user: Any) -> str | None:
    """The Wikimedia account ``user`` edits with, or None when none is linked."""
    social = UserSocialAuth.objects.filter(user=user, provider=PROVIDER).first()
    if social is None:
        return None
    return str(social.extra_data.get(USERNAME_FIELD) or social.uid)


def wikimedia_accounts() -> dict[str, int]:
    """Every active user's Wikimedia account name (as :func:`wikimedia_username` reads it) →
    that user's id, in one query."""
    rows = UserSocialAuth.objects.filter(provider=PROVIDER, user__is_active=True)
    return {
        str(row.extra_data.get(USERNAME_FIELD) or row.uid): row.user_id
        for row in rows.only("uid", "extra_data", "user_id")
    }


@sensitive_variables("token")
def seal_extra_data(social: UserSocialAuth) -> bool:
    """Move a plaintext token in ``extra_data`` into the sealed field; True if one was there."""
    token = social.extra_data.pop(PLAINTEXT_FIELD, None)
    if not token:
        return False
    social.extra_data[SEALED_FIELD] = seal_token(token)
    social.save(update_fields=["extra_data"])
    return True


@sensitive_variables("token")
def user_auth(user: Any) -> OAuth1:
    """Requests auth that signs as ``user`` with their Wikimedia token.

    Raises NoWikimediaToken when the user never logged in through Wikimedia (a local Django
    account) or their token cannot be opened.
    """
    social = UserSocialAuth.objects.filter(user=user, provider=PROVIDER).first()
    if social is None:
        raise NoWikimediaToken(f"user {user.pk} has no Wikimedia login")
    seal_extra_data(social)  # a row stored before this step existed still holds plaintext
    sealed = social.extra_data.get(SEALED_FIELD)
    if not sealed:
        raise NoWikimediaToken(f"user {user.pk} has no stored Wikimedia token")
    token = open_token(sealed)
    return OAuth1(
        client_key=settings.SOCIAL_AUTH_MEDIAWIKI_KEY,
        client_secret=settings.SOCIAL_AUTH_MEDIAWIKI_SECRET,
        resource_owner_key=token.key,
        resource_owner_secret=token.secret,
    )


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.WIKIVISAGE_TOKEN_KEY.split(",") if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "WIKIVISAGE_TOKEN_KEY is not set; make one with python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    return MultiFernet([Fernet(key) for key in keys])


class TokenSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    """Also hides frame variables named like secrets, and such keys inside dicts.

    Django hides locals only in functions marked ``sensitive_variables``; social-core's own
    frames hold the token pair in ``response`` and ``kwargs`` while the login pipeline runs.
    """

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self.cleanse_setting(name, value)) for name, value in variables]
