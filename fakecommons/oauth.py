"""OAuth 1.0a as Special:OAuth on meta.wikimedia.org speaks it, and the signature check of
every signed ``api.php`` request.

The handshake is the one social-core's ``mediawiki`` backend drives: ``initiate`` (consumer
signature, ``oauth_callback``) → ``authenticate``/``authorize`` (the configured test user
approves at once and is redirected to the callback with ``oauth_verifier``) → ``token``
(request token + verifier → access token) → ``identify`` (an HS256 JWT signed with the
consumer secret; ``iss`` is this server, ``aud`` the consumer key, ``nonce`` the request's
``oauth_nonce``). HMAC-SHA1 signatures are checked with oauthlib's own functions; nonces are
single-use and timestamps must be within five minutes.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt
from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature

from fakecommons.world import User, World

TIMESTAMP_WINDOW = 300
IDENTIFY_LIFETIME = 100  # seconds: Extension:OAuth sets exp = iat + 100
DEFAULT_CONSUMER_KEY = "wikivisage-fake-consumer"
# As long as a real consumer secret (40 characters): HS256 wants at least 32 bytes of key.
DEFAULT_CONSUMER_SECRET = "wikivisage-fake-consumer-secret-00000000"
GRANTS = ("basic", "editpage")
RIGHTS = ("read", "edit", "applychangetags", "editcontentmodel")


class OAuthError(Exception):
    """A request the OAuth layer refuses; the text is what MediaWiki would say."""


@dataclass(frozen=True)
class AccessToken:
    key: str
    secret: str
    username: str


@dataclass
class RequestToken:
    key: str
    secret: str
    consumer: str
    callback: str
    verifier: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request a signature covers."""

    method: str
    uri: str  # absolute, as the client addressed it, query string included
    headers: Mapping[str, str]
    form_body: str  # the body if it is application/x-www-form-urlencoded, else ""

    @property
    def is_signed(self) -> bool:
        return self.headers.get("Authorization", "").startswith("OAuth ")


@dataclass(frozen=True)
class Verified:
    consumer: str
    token: str | None
    nonce: str
    params: Mapping[str, str]


@dataclass
class OAuthProvider:
    """The consumer WikiVisage is registered as, and every token issued to it."""

    world: World
    consumer_key: str = DEFAULT_CONSUMER_KEY
    consumer_secret: str = DEFAULT_CONSUMER_SECRET
    username: str | None = None  # who approves at Special:OAuth/authorize
    callback: str | None = None  # the consumer's registered callback URL
    request_tokens: dict[str, RequestToken] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    _nonces: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- tokens -------------------------------------------------------------------------

    def issue_access_token(self, username: str) -> AccessToken:
        """An access token for ``username`` as if they had logged in (for tests and demos)."""
        if username not in self.world.users:
            raise KeyError(f"no user {username!r} in the world")
        token = AccessToken(secrets.token_hex(16), secrets.token_hex(20), username)
        with self._lock:
            self.access_tokens[token.key] = token
        return token

    def user_for(self, request: SignedRequest) -> User | None:
        """The user a signed ``api.php`` request acts for; None when it is not signed."""
        if not request.is_signed:
            return None
        verified = self.verify(request, token_kind="access")
        token = self.access_tokens[str(verified.token)]
        return self.world.users[token.username]

    # --- Special:OAuth --------------------------------------------------------------------

    def initiate(self, request: SignedRequest) -> str:
        verified = self.verify(request, token_kind=None)
        callback = verified.params.get("oauth_callback", "")
        if not callback:
            raise OAuthError("Callback URL not set to oob or a URL (oauth_callback missing).")
        token = RequestToken(
            secrets.token_hex(16), secrets.token_hex(20), verified.consumer, callback
        )
        with self._lock:
            self.request_tokens[token.key] = token
        return urlencode(
            {
                "oauth_token": token.key,
                "oauth_token_secret": token.secret,
                "oauth_callback_confirmed": "true",
            }
        )

    def authorize(self, oauth_token: str, redirect_uri: str | None) -> str:
        """Approve as the configured user; the URL to send the browser back to."""
        token = self.request_tokens.get(oauth_token)
        if token is None:
            raise OAuthError("The request token is not valid or has expired.")
        if self.username is None or self.username not in self.world.users:
            raise OAuthError("No user is logged in to approve the request.")
        token.verifier, token.username = secrets.token_hex(16), self.username
        target = self._callback_for(token, redirect_uri)
        query = urlencode({"oauth_verifier": token.verifier, "oauth_token": token.key})
        return f"{target}{'&' if '?' in target else '?'}{query}"

    def _callback_for(self, token: RequestToken, redirect_uri: str | None) -> str:
        # MediaWiki sends the user to the consumer's registered callback when it asked for
        # "oob"; the stand-in has no registration form, so social-core's redirect_uri stands in.
        if token.callback != "oob":
            return token.callback
        target = self.callback or redirect_uri
        if not target:
            raise OAuthError("The consumer has no callback URL to return to.")
        return target

    def token(self, request: SignedRequest) -> str:
        verified = self.verify(request, token_kind="request")
        token = self.request_tokens[str(verified.token)]
        if token.verifier is None or verified.params.get("oauth_verifier") != token.verifier:
            raise OAuthError("Verification code incorrect.")
        with self._lock:
            del self.request_tokens[token.key]
        access = self.issue_access_token(str(token.username))
        return urlencode({"oauth_token": access.key, "oauth_token_secret": access.secret})

    def identify(self, request: SignedRequest, *, issuer: str) -> str:
        """The JWT of Special:OAuth/identify (HS256, key = consumer secret)."""
        verified = self.verify(request, token_kind="access")
        user = self.world.users[self.access_tokens[str(verified.token)].username]
        now = int(time.time())
        payload = {
            "iss": issuer,
            # An integer, as MediaWiki sends its central user id (social-core 7 wants a
            # string: commons.oauth.MediaWikiOAuth converts it).
            "sub": user.id,
            "aud": verified.consumer,
            "exp": now + IDENTIFY_LIFETIME,
            "iat": now,
            "username": user.name,
            "editcount": user.editcount,
            "confirmed_email": user.confirmed_email,
            "blocked": user.blocked,
            "registered": user.registered,
            "groups": list(user.groups),
            "rights": list(RIGHTS),
            "grants": list(GRANTS),
            "nonce": verified.nonce,
        }
        return jwt.encode(payload, self.consumer_secret, algorithm="HS256")

    # --- signatures ---------------------------------------------------------------------

    def verify(self, request: SignedRequest, *, token_kind: str | None) -> Verified:
        """Check the HMAC-SHA1 signature, timestamp and nonce; raises OAuthError."""
        oauth, params = _collect(request)
        consumer = oauth.get("oauth_consumer_key", "")
        if consumer != self.consumer_key:
            raise OAuthError("Invalid consumer key.")
        token_secret = self._token_secret(oauth.get("oauth_token"), token_kind)
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise OAuthError("Only HMAC-SHA1 signatures are accepted.")
        self._check_signature(request, params, oauth, token_secret)
        self._check_fresh(oauth)
        return Verified(consumer, oauth.get("oauth_token"), oauth["oauth_nonce"], oauth)

    def _token_secret(self, key: str | None, kind: str | None) -> str | None:
        if kind is None:
            return None
        tokens: Mapping[str, AccessToken | RequestToken] = (
            self.access_tokens if kind == "access" else self.request_tokens
        )
        if not key or key not in tokens:
            raise OAuthError(
                "Invalid access token." if kind == "access" else "Invalid request token."
            )
        return tokens[key].secret

    def _check_signature(
        self,
        request: SignedRequest,
        params: list[tuple[str, str]],
        oauth: Mapping[str, str],
        token_secret: str | None,
    ) -> None:
        checked = Request(request.uri, request.method, request.form_body, dict(request.headers))
        checked.params = params
        checked.signature = oauth.get("oauth_signature", "")
        if not signature.verify_hmac_sha1(checked, self.consumer_secret, token_secret):
            raise OAuthError("Invalid signature.")

    def _check_fresh(self, oauth: Mapping[str, str]) -> None:
        stamp, nonce = oauth.get("oauth_timestamp", ""), oauth.get("oauth_nonce", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > TIMESTAMP_WINDOW:
            raise OAuthError("Timestamp is too old or in the future.")
        with self._lock:
            if not nonce or (stamp, nonce) in self._nonces:
                raise OAuthError("Nonce already used.")
            self._nonces.add((stamp, nonce))


def _collect(request: SignedRequest) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """(the oauth_* parameters of the header, every parameter the signature covers)."""
    if not request.is_signed:
        raise OAuthError("The request is not signed.")
    header = signature.collect_parameters(
        headers=dict(request.headers), exclude_oauth_signature=False, with_realm=False
    )
    # Collected exactly as oauthlib collects them when it signs (RFC 5849 §3.4.1.3).
    others = signature.collect_parameters(
        uri_query=request.uri.partition("?")[2], body=request.form_body or None
    )
    oauth = dict(header)
    params = [(k, v) for k, v in header if k != "oauth_signature"] + others
    return oauth, params
