"""The one door to the MediaWiki Action API of Commons and Wikidata.

Every request goes through :class:`ApiClient`: one ``requests.Session`` per client, a timeout,
the policy User-Agent, ``format=json&formatversion=2`` and ``maxlag=5`` (reads too, as
Manual:Maxlag_parameter asks of every non-interactive client). MediaWiki reports API errors
with HTTP 200 and an ``error.code``; they are raised here as :class:`CommonsUnavailable` (worth
retrying: the server refused *for now*) or :class:`CommonsRefused` (retrying cannot help), the
Wikimedia kinds of ``core.errors``' transient and permanent errors.
Transient ones are retried in-process with exponential backoff, jitter and a cap; the caller
(a Celery task) sees only what is left after that.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import functools
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.exceptions import NewConnectionError

from core.errors import PermanentError, ServiceError, TransientError
from core.retry import DEFAULT_RETRY, RetryPolicy

logger = logging.getLogger(__name__)

MAXLAG_SECONDS = 5
# Thumbnails come from Wikimedia's upload server, or from the configured API's own host (the
# offline stand-in serves both); a download is never sent, nor redirected, anywhere else.
UPLOAD_HOST = "upload.wikimedia.org"
MAX_REDIRECTS = 3
ParamValue = str | int | float
Params = Mapping[str, ParamValue]
ApiResponse = dict[str, Any]
T = TypeVar("T")

# Codes MediaWiki and Wikibase use for "not now" (API:Etiquette, Manual:Maxlag_parameter).
TRANSIENT_CODES = frozenset(
    {"maxlag", "ratelimited", "actionthrottled", "readonly", "editconflict"}
)
THROTTLE_MESSAGES = frozenset({"actionthrottledtext", "actionthrottled", "ratelimited"})
AUTH_CODES = frozenset(
    {
        "assertuserfailed",
        "assertnameduserfailed",
        "notloggedin",
        "mwoauth-invalid-authorization",
        "mwoauth-invalid-authorization-invalid-user",
        "mwoauth-invalid-authorization-wrong-user",
    }
)
PERMISSION_CODES = frozenset(
    {"permissiondenied", "protectedpage", "cascadeprotected", "blocked", "autoblocked"}
)


class CommonsError(ServiceError):
    """A request to Wikimedia failed; ``code`` is the API's ``error.code`` or ``http-<status>``."""


class CommonsUnavailable(CommonsError, TransientError):
    """Wikimedia refused for now (maxlag, rate limit, 429, 5xx) or the network failed."""


class WriteOutcomeUnknown(CommonsUnavailable):
    """A write was sent but no answer came back: it may or may not have been applied.

    Never retried blindly; the caller looks for the statement it meant to write first.
    """


class CommonsRefused(CommonsError, PermanentError):
    """Retrying the same request cannot succeed (missing page, bad id, permissions…)."""


class BadToken(CommonsRefused):
    """The csrf token was refused even after fetching a fresh one."""


class AuthenticationFailed(CommonsRefused):
    """The request was not made as a logged-in user (``assert=user`` failed, OAuth refused)."""


class PermissionDenied(CommonsRefused):
    """The user may not make this edit (protected page, block, missing right)."""


class NoSuchEntity(CommonsRefused):
    """Wikibase knows no entity with this id (also its answer to a malformed id)."""


class ResponseTooLarge(CommonsRefused):
    """A download exceeded the size the caller allowed."""


def error_from_api(error: Mapping[str, Any], *, retry_after: float | None = None) -> CommonsError:
    """Classify the ``error`` object of an API answer."""
    code = str(error.get("code", "unknown"))
    info = str(error.get("info", ""))
    message_names = {str(message.get("name")) for message in error.get("messages") or []}
    if code in TRANSIENT_CODES or code.startswith("internal_api_error_DB"):
        return CommonsUnavailable(code, info, retry_after=retry_after)
    if code == "failed-save" and message_names & THROTTLE_MESSAGES:
        # Wikibase reports edit rate limits as a failed save (T192912), not as "ratelimited".
        return CommonsUnavailable("actionthrottled", info, retry_after=retry_after)
    return _permanent_error(code, info)


def _permanent_error(code: str, info: str) -> CommonsRefused:
    if code == "badtoken":
        return BadToken(code, info)
    if code in AUTH_CODES:
        return AuthenticationFailed(code, info)
    if code in PERMISSION_CODES:
        return PermissionDenied(code, info)
    if code == "no-such-entity":
        return NoSuchEntity(code, info)
    return CommonsRefused(code, info)


def error_from_status(status: int, retry_after: float | None) -> CommonsError | None:
    if status == 200:
        return None
    if status == 429 or status >= 500:
        return CommonsUnavailable(f"http-{status}", retry_after=retry_after)
    return CommonsRefused(f"http-{status}")


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _reached_server(error: requests.RequestException) -> bool:
    """False only when the request certainly never left this machine."""
    if isinstance(error, requests.ConnectTimeout):
        return False
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return not isinstance(reason, NewConnectionError)


class DownloadThrottle:
    """Spaces downloads at least ``gap`` seconds apart, across every client of the process.

    Each caller reserves the next free start under a lock, then waits outside it: threads of
    one worker take turns instead of all starting when the gap ends.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_start = 0.0

    def wait(self, gap: float, sleep: Callable[[float], None]) -> None:
        if gap <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + gap
        if start > now:
            sleep(start - now)


# Per worker process (settings.COMMONS_DOWNLOAD_THROTTLE_SECONDS): tasks make a client each.
DOWNLOAD_THROTTLE = DownloadThrottle()

READ_CHUNK = 65536


class Deadline:
    """A total time limit on one request, however slowly its answer comes.

    requests' timeout bounds each socket read only: a server sending a byte every few seconds,
    in its headers or its body, would hold the worker for ever. While a deadline is entered,
    every connection of a :func:`watched_session` shows it the socket it waits on; when the
    time runs out a timer shuts that socket down, so a read blocked on it returns at once, and
    ``passed`` tells the reader the time ran out (a cut may look like the answer's end).
    """

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.passed = False
        self._lock = threading.Lock()
        self._over = False
        self._socket: socket.socket | None = None
        self._timer = threading.Timer(max(seconds, 0.0), self._cut)
        self._timer.daemon = True
        self._token: contextvars.Token[Deadline | None] | None = None

    def __enter__(self) -> Deadline:
        self._token = _DEADLINE.set(self)
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
        if self._token is not None:
            _DEADLINE.reset(self._token)
        with self._lock:
            self._drop()

    def left(self) -> float:
        return self.at - time.monotonic()

    def stop(self) -> None:
        """Watch no longer: from here on ``passed`` does not change."""
        with self._lock:
            self._over = True
        self._timer.cancel()

    def watch(self, sock: socket.socket | None) -> None:
        """Cut ``sock`` at the deadline (a duplicate: never another socket that reuses a closed
        descriptor), or at once if the time ran out already."""
        with self._lock:
            self._drop()
            with contextlib.suppress(OSError, ValueError, AttributeError):
                self._socket = socket.socket(fileno=os.dup(sock.fileno()))  # type: ignore[union-attr]
            if self.passed:
                self._shutdown()

    def _cut(self) -> None:
        with self._lock:
            if not self._over:
                self.passed = True
                self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)

    def _drop(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


_DEADLINE: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "deadline", default=None
)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        deadline = _DEADLINE.get()
        if deadline is not None:
            deadline.watch(self.sock)  # the status line and headers come within it
        return super().getresponse()


class _WatchedHTTPSConnection(_WatchedHTTPConnection, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


def watched_session() -> requests.Session:
    """A session whose requests keep to the :class:`Deadline` they are made within."""
    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, _WatchedAdapter())
    return session


def _declared_length(response: requests.Response) -> int:
    """The Content-Length a server declares; 0 if it declares none or nonsense (http.client
    then reads to the connection's end, still within the cap)."""
    try:
        return int(response.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def read_capped(
    response: requests.Response, *, max_bytes: int, deadline: Deadline, what: str
) -> bytes:
    """The body of a streamed ``response`` of a :func:`watched_session`, made within
    ``deadline``: ResponseTooLarge past ``max_bytes`` (declared or received), CommonsUnavailable
    ``timeout`` unless read whole in time. A network failure meanwhile is requests' own."""
    declared = _declared_length(response)
    if declared > max_bytes:
        raise ResponseTooLarge("too-large", f"{declared} bytes at {what}")
    chunks: list[bytes] = []
    failure: requests.RequestException | None = None
    try:
        received = 0
        for chunk in response.iter_content(chunk_size=READ_CHUNK):
            received += len(chunk)
            if received > max_bytes:
                raise ResponseTooLarge("too-large", f"more than {max_bytes} bytes at {what}")
            chunks.append(chunk)
    except requests.RequestException as error:
        failure = error
    finally:
        deadline.stop()
    if deadline.passed:
        raise CommonsUnavailable("timeout", f"{what} was not received in time")
    if failure is not None:
        raise failure
    return b"".join(chunks)


class ApiClient:
    """A MediaWiki Action API client bound to one ``api.php`` and, optionally, one user.

    ``sleep`` and ``rng`` are injectable so tests run the real retry path over real HTTP
    without waiting for real backoff.
    """

    def __init__(
        self,
        *,
        api_url: str,
        auth: AuthBase | None = None,
        user_agent: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.api_url = api_url
        self.timeout = timeout if timeout is not None else settings.WIKIVISAGE_HTTP_TIMEOUT
        self.retry = retry
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._csrf_token: str | None = None
        self.session = watched_session()
        self.session.auth = auth
        self.session.headers["User-Agent"] = user_agent or settings.WIKIVISAGE_USER_AGENT
        # API:Etiquette asks for compressed responses.
        self.session.headers["Accept-Encoding"] = "gzip"

    def __repr__(self) -> str:
        return f"<ApiClient {self.api_url}>"

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # --- reads --------------------------------------------------------------------------

    def get(self, params: Params) -> ApiResponse:
        """One read (GET), retried while the failure is transient."""
        return self._with_retries(lambda: self._call("GET", params))

    def iter_continued(
        self, params: Params, *, start: Mapping[str, str] | None = None
    ) -> Iterator[ApiResponse]:
        """Every answer of a continued query (API:Continue).

        All keys of ``continue`` are merged into the next request, never a hand-picked one:
        combined modules each add their own (``cmcontinue``, ``iicontinue``, ``continue``).
        ``start`` resumes from a ``continue`` object stored earlier.
        """
        continuation = dict(start or {})
        while True:
            response = self.get({**params, **continuation})
            yield response
            if "continue" not in response:
                return
            continuation = {key: str(value) for key, value in response["continue"].items()}

    # --- writes -------------------------------------------------------------------------

    def csrf_token(self, *, refresh: bool = False) -> str:
        if self._csrf_token is None or refresh:
            # assert=user: a logged-out session would otherwise get the anonymous "+\" token
            # and fail only at the edit.
            response = self.get(
                {"action": "query", "meta": "tokens", "type": "csrf", "assert": "user"}
            )
            self._csrf_token = str(response["query"]["tokens"]["csrftoken"])
        return self._csrf_token

    def write(self, params: Params) -> ApiResponse:
        """A write: POST, csrf token, ``assert=user``; a refused token is renewed once."""
        for refresh in (False, True):
            token = self.csrf_token(refresh=refresh)
            body = {**params, "token": token, "assert": "user"}
            try:
                return self._with_retries(functools.partial(self._call, "POST", body))
            except BadToken:
                if refresh:
                    raise
                logger.info("csrf token refused by %s; fetching a new one", self.api_url)
        raise AssertionError("unreachable")

    # --- files --------------------------------------------------------------------------

    def download(self, url: str, *, max_bytes: int, total_timeout: float | None = None) -> bytes:
        """The bytes at ``url`` (a thumbnail on the upload server), at most ``max_bytes``, each
        attempt within ``total_timeout`` seconds in all (``COMMONS_DOWNLOAD_TIMEOUT``)."""
        seconds = total_timeout or settings.COMMONS_DOWNLOAD_TIMEOUT
        return self._with_retries(lambda: self._download_once(url, max_bytes, seconds))

    # --- one round trip -----------------------------------------------------------------

    def _with_retries(self, attempt: Callable[[], T]) -> T:
        for number in range(self.retry.max_attempts):
            try:
                return attempt()
            except WriteOutcomeUnknown:
                raise
            except TransientError as error:
                if self.retry.gives_up(number, error):
                    raise
                delay = self.retry.delay(number, error.retry_after, self._rng)
                logger.warning("%s from %s; retry in %.1fs", error.code, self.api_url, delay)
                self._sleep(delay)
        raise AssertionError("unreachable: RetryPolicy ensures at least one attempt")

    def _call(self, method: str, params: Params) -> ApiResponse:
        full = {**params, "format": "json", "formatversion": 2, "maxlag": MAXLAG_SECONDS}
        action = full.get("action", "?")
        response = self._send(method, self.api_url, full, writing=method == "POST")
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        status_error = error_from_status(response.status_code, retry_after)
        if status_error is not None:
            raise status_error
        payload = self._json(response)
        if "error" in payload:
            raise error_from_api(payload["error"], retry_after=retry_after)
        if "warnings" in payload:
            logger.warning("API warnings for action=%s: %s", action, payload["warnings"])
        return payload

    def _send(
        self,
        method: str,
        url: str,
        params: Params,
        *,
        writing: bool = False,
        stream: bool = False,
        follow_redirects: bool = True,
        timeout: float | None = None,
    ) -> requests.Response:
        # Writes carry every parameter in the body: MediaWiki refuses a token in the URL.
        query, body = (None, params) if method == "POST" else (params, None)
        try:
            return self.session.request(
                method,
                url,
                params=query,
                data=body,
                timeout=timeout or self.timeout,
                stream=stream,
                allow_redirects=follow_redirects,
            )
        except requests.RequestException as error:
            # "from None": the chained frames would show headers (the OAuth token) on an
            # error page.
            raise self._network_error(error, writing=writing) from None

    def _network_error(
        self, error: requests.RequestException, *, writing: bool
    ) -> CommonsUnavailable:
        kind = "timeout" if isinstance(error, requests.Timeout) else "connection"
        text = f"{type(error).__name__} talking to {self.api_url}"
        if writing and _reached_server(error):
            return WriteOutcomeUnknown(kind, text)
        return CommonsUnavailable(kind, text)

    def _json(self, response: requests.Response) -> ApiResponse:
        try:
            payload = response.json()
        except (ValueError, RecursionError, requests.RequestException):
            # A cut connection or a proxy's HTML page: the next attempt may well get JSON.
            # (RecursionError: arrays nested thousands deep.)
            raise CommonsUnavailable("invalid-response", f"no JSON from {self.api_url}") from None
        if not isinstance(payload, dict):
            raise CommonsUnavailable("invalid-response", f"unexpected JSON from {self.api_url}")
        return payload

    def _download_once(self, url: str, max_bytes: int, total_timeout: float) -> bytes:
        with Deadline(total_timeout) as deadline:
            response = self._fetch_from_upload_host(url, deadline)
            with response:
                status_error = error_from_status(
                    response.status_code, parse_retry_after(response.headers.get("Retry-After"))
                )
                if status_error is not None:
                    raise status_error
                try:
                    return read_capped(response, max_bytes=max_bytes, deadline=deadline, what=url)
                except requests.RequestException as error:
                    raise self._network_error(error, writing=False) from None

    def _fetch_from_upload_host(self, url: str, deadline: Deadline) -> requests.Response:
        """GET ``url``, following redirects only while they stay on an upload host.

        A file's bytes come from Wikimedia's upload server (or, for a configured API
        elsewhere, that API's own host): a URL or a redirect pointing anywhere else is refused
        before any request is made there. Waits for the process's download throttle first.
        Every hop's answer comes within ``deadline``.
        """
        DOWNLOAD_THROTTLE.wait(settings.COMMONS_DOWNLOAD_THROTTLE_SECONDS, self._sleep)
        for _hop in range(MAX_REDIRECTS + 1):
            self._check_upload_host(url)
            try:
                response = self._send(
                    "GET",
                    url,
                    {},
                    stream=True,
                    follow_redirects=False,
                    timeout=max(min(self.timeout, deadline.left()), 0.001),
                )
            except TransientError:
                if deadline.passed:
                    raise CommonsUnavailable(
                        "timeout", f"download of {url} took too long"
                    ) from None
                raise
            if not response.is_redirect:
                return response
            response.close()
            url = urljoin(url, response.headers["Location"])
        raise CommonsRefused("too-many-redirects", f"more than {MAX_REDIRECTS} at {url}")

    def _check_upload_host(self, url: str) -> None:
        parts = urlsplit(url)
        allowed = {urlsplit(self.api_url).netloc, UPLOAD_HOST}
        if parts.scheme not in ("http", "https") or parts.netloc not in allowed:
            raise CommonsRefused("foreign-host", f"not an upload host: {parts.netloc or url}")


def commons_client(
    *,
    auth: AuthBase | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
) -> ApiClient:
    """A client for Commons' ``api.php`` (settings.COMMONS_API_URL), signed by ``auth`` if given."""
    return ApiClient(api_url=settings.COMMONS_API_URL, auth=auth, retry=retry, sleep=sleep)


def wikidata_client(
    *, retry: RetryPolicy = DEFAULT_RETRY, sleep: Callable[[float], None] = time.sleep
) -> ApiClient:
    """A client for Wikidata's ``api.php`` (settings.WIKIDATA_API_URL); reads only."""
    return ApiClient(api_url=settings.WIKIDATA_API_URL, retry=retry, sleep=sleep)
