"""The stand-in as a real HTTP server on loopback: one port, five path prefixes.

- ``/commons/w/api.php`` — Commons' Action API and Wikibase MediaInfo;
- ``/commons/wiki/Special:FilePath/…`` — redirects to a file or its thumbnail;
- ``/wikidata/w/api.php`` — Wikidata's (read-only here);
- ``/upload/…`` — originals and thumbnails;
- ``/meta/w/index.php`` — Special:OAuth (OAuth 1.0a).

Every request is recorded (:attr:`FakeCommons.requests`) with the etiquette problems it had;
every accepted write too (:attr:`FakeCommons.writes`). Faults are injected per test with
:meth:`FakeCommons.inject`.
"""

from __future__ import annotations

import email
import email.policy
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fakecommons import edits, entities, faults, filepath, query, records
from fakecommons.context import ApiContext, Urls
from fakecommons.oauth import (
    DEFAULT_CONSUMER_KEY,
    DEFAULT_CONSUMER_SECRET,
    AccessToken,
    OAuthError,
    OAuthProvider,
    SignedRequest,
)
from fakecommons.protocol import ApiError, Format, Params, Reply, json_reply, wikibase_error
from fakecommons.records import RecordedRequest, WriteRecord
from fakecommons.upload import UploadServer, file_type_icon
from fakecommons.wikibase import ClaimError
from fakecommons.world import World

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
ICON_PREFIX = "/commons/w/resources/assets/file-type-icons/"
Module = Callable[[ApiContext], dict[str, Any]]
READ_MODULES: dict[str, dict[str, Module]] = {
    "commons": {
        "query": query.run,
        "wbgetentities": entities.wbgetentities,
        "wbgetclaims": entities.wbgetclaims,
    },
    "wikidata": {
        "query": query.run,
        "wbgetentities": entities.wbgetentities,
        "wbgetclaims": entities.wbgetclaims,
        "wbsearchentities": entities.wbsearchentities,
    },
}
SITES = {"/commons/w/api.php": "commons", "/wikidata/w/api.php": "wikidata"}
# What a browser fetches for a page it shows: held to the User-Agent policy unless a browser.
ASSET_SITES = ("upload", "commons-wiki")
ASSERT_ERRORS = {
    "user": ("assertuserfailed", "Assertion that the user is logged in failed."),
    "bot": ("assertbotfailed", 'Assertion that the user has the "bot" right failed.'),
    "anon": ("assertanonfailed", "You are logged in."),
}


class _Drop:
    """Close the connection without a word (the ``drop_after_write`` fault)."""


DROP = _Drop()


class FakeCommons:
    """Commons, Wikidata, the upload server and meta's OAuth, offline, on one port.

    ``world`` is a :class:`World`, a world dict (paths relative to ``base_dir``) or the path
    of a world file. Use as a context manager, or ``start()``/``stop()``.
    """

    def __init__(
        self,
        world: World | Mapping[str, Any] | str | Path,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        base_dir: str | Path | None = None,
        consumer_key: str = DEFAULT_CONSUMER_KEY,
        consumer_secret: str = DEFAULT_CONSUMER_SECRET,
        oauth_username: str | None = None,
        oauth_callback: str | None = None,
    ) -> None:
        self.world = _as_world(world, base_dir)
        self.host, self.port = host, port
        self.faults = faults.FaultPlan()
        self.requests: list[RecordedRequest] = []
        self.writes: list[WriteRecord] = []
        self.internal_errors: list[str] = []
        self.oauth = OAuthProvider(
            self.world,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            username=oauth_username or next(iter(self.world.users), None),
            callback=oauth_callback,
        )
        self.uploads = UploadServer(self.world)
        self._secret = secrets.token_bytes(16)
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> FakeCommons:
        handler = type("BoundHandler", (_Handler,), {"stand_in": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"fakecommons:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Block the calling thread until interrupted (the management command)."""
        if self._httpd is None:
            self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> FakeCommons:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- addresses ------------------------------------------------------------------------

    @property
    def urls(self) -> Urls:
        return Urls(f"http://{self.host}:{self.port}")

    @property
    def base_url(self) -> str:
        return self.urls.base

    @property
    def commons_api_url(self) -> str:
        return self.urls.commons_api

    @property
    def wikidata_api_url(self) -> str:
        return self.urls.wikidata_api

    @property
    def meta_url(self) -> str:
        return self.urls.meta

    @property
    def upload_base(self) -> str:
        return self.urls.upload

    def env_lines(self) -> list[str]:
        """The environment that points WikiVisage at this server."""
        return [
            f"COMMONS_API_URL={self.commons_api_url}",
            f"WIKIDATA_API_URL={self.wikidata_api_url}",
            f"SOCIAL_AUTH_MEDIAWIKI_URL={self.meta_url}",
            f"SOCIAL_AUTH_MEDIAWIKI_KEY={self.oauth.consumer_key}",
            f"SOCIAL_AUTH_MEDIAWIKI_SECRET={self.oauth.consumer_secret}",
        ]

    # --- what tests ask -------------------------------------------------------------------

    def statements(self, entity_id: str, prop: str | None = None) -> list[dict[str, Any]]:
        """The statements the file has now (of ``prop`` only, if given)."""
        return self.world.statements(entity_id, prop)

    def depicts(self, entity_id: str) -> list[str]:
        """The Q-ids of the file's P180 statements, in order."""
        return [
            s["mainsnak"]["datavalue"]["value"]["id"]
            for s in self.statements(entity_id, "P180")
            if s["mainsnak"].get("snaktype") == "value"
        ]

    def mid(self, file_name: str) -> str:
        """The MediaInfo id of a file of the world, by name (without ``File:``)."""
        page = self.world.file(file_name)
        if page is None:
            raise KeyError(file_name)
        return page.mid

    def writes_to(self, entity_id: str) -> list[WriteRecord]:
        return [write for write in self.writes if write.entity_id == entity_id]

    def api_requests(
        self, *, site: str | None = None, action: str | None = None
    ) -> list[RecordedRequest]:
        return [
            r
            for r in list(self.requests)
            if r.is_api
            and (site is None or r.site == site)
            and (action is None or r.action == action)
        ]

    @property
    def etiquette_violations(self) -> list[tuple[RecordedRequest, str]]:
        return [(r, problem) for r in list(self.requests) for problem in r.etiquette]

    def assert_etiquette(self) -> None:
        """Fail with every request that broke the User-Agent policy or left out maxlag=5."""
        violations = self.etiquette_violations
        if violations:
            lines = [
                f"{r.method} {r.path} action={r.action}: {problem}" for r, problem in violations
            ]
            raise AssertionError("Wikimedia etiquette broken:\n" + "\n".join(lines[:20]))

    def assert_no_internal_errors(self) -> None:
        """Fail if the stand-in itself broke (a client would have seen a 500)."""
        if self.internal_errors:
            raise AssertionError("fakecommons failed:\n" + "\n".join(self.internal_errors[:20]))

    def inject(
        self,
        kind: str,
        times: int | None = 1,
        action: str | None = None,
        *,
        target: str = "api",
        seconds: float = 1.0,
        lag: float = 7.5,
    ) -> faults.Fault:
        """Make the next ``times`` matching requests fail as ``kind`` (None: all of them)."""
        fault = faults.Fault(kind, times, action, target, seconds, lag)
        return self.faults.add(fault)

    def clear_faults(self) -> None:
        self.faults.clear()

    def issue_access_token(self, username: str | None = None) -> AccessToken:
        """OAuth credentials for a world user, as if they had logged in through meta."""
        name = username or self.oauth.username or next(iter(self.world.users))
        return self.oauth.issue_access_token(name)

    def reset_records(self) -> None:
        with self._lock:
            self.requests.clear()
            self.writes.clear()

    # --- request handling (called from handler threads) -----------------------------------

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _record_write(self, write: WriteRecord) -> None:
        with self._lock:
            self.writes.append(write)

    def handle(self, http: _HttpRequest, record: RecordedRequest) -> Reply | _Drop:
        """The answer to one request; a bug of the stand-in is a 500 and is remembered."""
        try:
            return self._route(http, record)
        except Exception as error:
            logger.exception("fakecommons failed on %s %s", http.method, http.raw_path)
            with self._lock:
                self.internal_errors.append(f"{http.method} {http.raw_path}: {error!r}")
            body = {
                "error": {"code": f"internal_api_error_{type(error).__name__}", "info": str(error)}
            }
            return Reply(500, json.dumps(body).encode(), "application/json; charset=utf-8")

    def _route(self, http: _HttpRequest, record: RecordedRequest) -> Reply | _Drop:
        if record.site in ("commons", "wikidata"):
            return self._api(http, record)
        if record.site == "upload":
            return self._upload(http, record)
        if record.site == "commons-wiki":
            return filepath.serve(
                world=self.world, urls=self.urls, path=http.path, params=record.params
            )
        if record.site == "meta":
            return self._meta(http, record)
        if http.path.startswith(ICON_PREFIX):
            return file_type_icon()
        return Reply.text("Not Found", status=404)

    def _api(self, http: _HttpRequest, record: RecordedRequest) -> Reply | _Drop:
        params = Params(record.params)
        fmt = Format(
            v2=params.get("formatversion") in ("2", "latest"), docref_url=self.urls.api(record.site)
        )
        fault = self.faults.take(target="api", action=record.action)
        record.fault = fault.kind if fault else None
        try:
            result = self._api_result(http, record, params, fmt, fault)
        except ApiError as error:
            headers = {"MediaWiki-API-Error": error.code, **error.headers}
            result = json_reply(fmt.error_body(error), gzip_ok=http.gzip_ok, headers=headers)
        if fault is not None and fault.kind == "drop_after_write":
            return DROP  # whatever happened to the write, its answer is lost
        return result if isinstance(result, Reply) else json_reply(result, gzip_ok=http.gzip_ok)

    def _api_result(
        self,
        http: _HttpRequest,
        record: RecordedRequest,
        params: Params,
        fmt: Format,
        fault: faults.Fault | None,
    ) -> dict[str, Any] | Reply:
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            failure = faults.api_failure(fault)
            if isinstance(failure, ApiError):
                raise failure
            if isinstance(failure, Reply):
                return failure
        ctx = self._context(http, record, params, fmt)
        return _with_warnings(ctx, _run_action(ctx))

    def _context(
        self, http: _HttpRequest, record: RecordedRequest, params: Params, fmt: Format
    ) -> ApiContext:
        try:
            user = self.oauth.user_for(http.signed(self.host, self.port))
        except OAuthError as error:
            raise ApiError(
                "mwoauth-invalid-authorization",
                f"The authorization headers in your request are not valid: {error}",
            ) from None
        record.user = user.name if user else None
        return ApiContext(
            site=record.site,
            method=record.method,
            params=params,
            fmt=fmt,
            world=self.world,
            urls=self.urls,
            user=user,
            csrf_token=edits.csrf_token(self._secret, user),
            record_write=self._record_write,
        )

    def _upload(self, http: _HttpRequest, record: RecordedRequest) -> Reply:
        fault = self.faults.take(target="upload", action=None)
        record.fault = fault.kind if fault else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.seconds)
        elif fault is not None:
            return faults.http_failure(fault)
        answer = self.uploads.serve(http.path[len("/upload") :])
        if answer.problem:
            record.etiquette.append(answer.problem)
        return answer.reply

    def _meta(self, http: _HttpRequest, record: RecordedRequest) -> Reply:
        page = _special_page(http.path, record.params.get("title", ""))
        signed = http.signed(self.host, self.port)
        try:
            return self._oauth_page(page, signed, record, http)
        except OAuthError as error:
            return Reply.text(f"Error: {error}")

    def _oauth_page(
        self, page: str, signed: SignedRequest, record: RecordedRequest, http: _HttpRequest
    ) -> Reply:
        if page == "oauth/initiate":
            return Reply.text(self.oauth.initiate(signed))
        if page in ("oauth/authorize", "oauth/authenticate"):
            target = self.oauth.authorize(
                record.params.get("oauth_token", ""), record.params.get("redirect_uri")
            )
            record.user = self.oauth.username
            return Reply(302, b"", "text/html; charset=utf-8", {"Location": target})
        if page == "oauth/token":
            return Reply.text(self.oauth.token(signed))
        if page == "oauth/identify":
            issuer = f"http://{http.headers.get('Host') or f'{self.host}:{self.port}'}"
            jwt_text = self.oauth.identify(signed, issuer=issuer)
            return Reply(200, jwt_text.encode(), "application/json; charset=utf-8")
        return Reply.text(f"No such special page: {page}", status=404)


def _as_world(world: World | Mapping[str, Any] | str | Path, base_dir: str | Path | None) -> World:
    if isinstance(world, World):
        return world
    if isinstance(world, (str, Path)):
        return World.load(world)
    return World.from_dict(world, base_dir or Path.cwd())


def _special_page(path: str, title: str) -> str:
    """``oauth/initiate`` from ``title=Special:OAuth/initiate`` or ``/index.php/Special:…``."""
    if not title and "/Special:" in path:
        title = path.split("/Special:", 1)[1]
    name = title.split(":", 1)[1] if ":" in title else title
    return name.lower()


def _run_action(ctx: ApiContext) -> dict[str, Any]:
    action = ctx.params.get("action") or ""
    writable = ctx.site == "commons" and action in edits.WRITE_MODULES
    module = edits.WRITE_MODULES[action] if writable else READ_MODULES[ctx.site].get(action)
    if module is None:
        raise ApiError("badvalue", f'Unrecognized value for parameter "action": {action}.')
    # ApiMain checks asserts before the module's POST and token checks, so a logged-out
    # client learns that first.
    _check_asserts(ctx)
    if writable:
        edits.check_write(ctx, action)
    try:
        return module(ctx)
    except ClaimError as error:
        raise wikibase_error(error.code, error.info, f"wikibase-api-{error.code}") from None


def _check_asserts(ctx: ApiContext) -> None:
    wanted = ctx.params.get("assert")
    user = ctx.user
    failed = (
        (wanted == "user" and user is None)
        or (wanted == "bot" and (user is None or "bot" not in user.groups))
        or (wanted == "anon" and user is not None)
    )
    if wanted is not None and wanted in ASSERT_ERRORS and failed:
        raise ApiError(*ASSERT_ERRORS[wanted])
    named = ctx.params.get("assertuser")
    if named is not None and (user is None or user.name != named):
        raise ApiError("assertnameduserfailed", f'Assertion that the user is "{named}" failed.')


def _with_warnings(ctx: ApiContext, result: dict[str, Any]) -> dict[str, Any]:
    unused = ctx.params.unused()
    if unused:
        label = "parameter" if len(unused) == 1 else "parameters"
        ctx.warn("main", f"Unrecognized {label}: {', '.join(unused)}.")
    if not ctx.warnings:
        return result
    head = {k: result[k] for k in ("batchcomplete", "continue") if k in result}
    rest = {k: v for k, v in result.items() if k not in head}
    return {**head, "warnings": ctx.rendered_warnings(), **rest}


# --- HTTP plumbing ---------------------------------------------------------------------------


class _HttpRequest:
    """The parts of one HTTP request the stand-in looks at."""

    def __init__(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> None:
        self.method = method
        self.raw_path = raw_path
        self.path = raw_path.partition("?")[0]
        self.headers = dict(headers)
        self.body = body
        self.content_type = self.headers.get("Content-Type", "")
        self.gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")

    def params(self) -> dict[str, str]:
        """Query string and body merged; the body wins, as in MediaWiki's WebRequest."""
        merged = dict(parse_qsl(self.raw_path.partition("?")[2], keep_blank_values=True))
        merged.update(self._form())
        return merged

    def _form(self) -> dict[str, str]:
        if self.content_type.startswith(FORM):
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        if self.content_type.startswith("multipart/form-data"):
            return _multipart(self.body, self.content_type)
        return {}

    def signed(self, host: str, port: int) -> SignedRequest:
        netloc = self.headers.get("Host") or f"{host}:{port}"
        form = self.body.decode("utf-8") if self.content_type.startswith(FORM) else ""
        return SignedRequest(self.method, f"http://{netloc}{self.raw_path}", self.headers, form)


def _multipart(body: bytes, content_type: str) -> dict[str, str]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.message_from_bytes(head + body, policy=email.policy.HTTP)
    values = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            values[name] = payload.decode("utf-8")
    return values


def _site(path: str) -> str:
    if path in SITES:
        return SITES[path]
    if path.startswith("/upload/"):
        return "upload"
    if path.startswith(filepath.WIKI_PREFIX):
        return "commons-wiki"
    if path.startswith(("/meta/w/index.php", "/meta/wiki/")):
        return "meta"
    return "other"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mw-fakecommons"
    stand_in: FakeCommons

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _serve(self, head: bool = False) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        http = _HttpRequest(self.command, self.path, dict(self.headers.items()), body)
        record = self._record(http)
        reply = self.stand_in.handle(http, record)
        if isinstance(reply, _Drop):
            record.status = 0
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        record.status = reply.status
        self._write(reply, head=head)

    def _record(self, http: _HttpRequest) -> RecordedRequest:
        site = _site(http.path)
        params = http.params()
        record = RecordedRequest(
            method=http.method,
            path=http.path,
            site=site,
            params=params,
            headers=http.headers,
            time=time.time(),
        )
        if site in ("commons", "wikidata"):
            record.etiquette.extend(records.api_etiquette_problems(record))
        elif site in ASSET_SITES:
            record.etiquette.extend(records.asset_etiquette_problems(record.user_agent))
        self.stand_in._record(record)
        return record

    def _write(self, reply: Reply, *, head: bool) -> None:
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout beat a "slow" fault): nothing left to tell it.
            self.close_connection = True
