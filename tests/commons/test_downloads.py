"""Downloads come only from an upload host: Wikimedia's upload server or the configured
API's own host. A file URL, or a redirect, that points anywhere else is refused before any
request goes there. A download takes at most its total deadline, however slowly bytes come."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from commons.client import ApiClient
from core.errors import PermanentError, TransientError
from core.retry import RetryPolicy

ONE_TRY = RetryPolicy(max_attempts=1)
JPEG = b"\xff\xd8\xff\xe0 not really a photo"


class Redirecting(BaseHTTPRequestHandler):
    """/same → /file on this host; /away → the URL in the query; /file → bytes."""

    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path in ("/file.jpg", "/nonsense-length"):
            length = "lots" if self.path == "/nonsense-length" else str(len(JPEG))
            self.send_response(200)
            self.send_header("Content-Length", length)
            self.end_headers()
            self.wfile.write(JPEG)
            return
        target = "/file.jpg" if self.path == "/same" else self.path.split("?to=", 1)[1]
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Redirecting)
    Redirecting.hits = []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def client_of(api_host: str) -> ApiClient:
    return ApiClient(api_url=f"{api_host}/w/api.php", retry=ONE_TRY)


def test_a_redirect_on_the_upload_host_is_followed(server):
    with client_of(server) as client:
        assert client.download(f"{server}/same", max_bytes=1000) == JPEG
    assert Redirecting.hits == ["/same", "/file.jpg"]


def test_a_nonsense_content_length_is_no_crash(server):
    with client_of(server) as client:
        assert client.download(f"{server}/nonsense-length", max_bytes=1000) == JPEG


def test_a_file_url_on_another_host_is_refused_before_any_request(server):
    with client_of("http://127.0.0.1:9") as client, pytest.raises(PermanentError) as refused:
        client.download(f"{server}/file.jpg", max_bytes=1000)
    assert refused.value.code == "foreign-host"
    assert Redirecting.hits == []


def test_a_redirect_to_another_host_is_refused_before_it_is_followed(server):
    elsewhere = "http://127.0.0.2:9/file.jpg"
    with client_of(server) as client, pytest.raises(PermanentError) as refused:
        client.download(f"{server}/away?to={elsewhere}", max_bytes=1000)
    assert refused.value.code == "foreign-host"
    assert Redirecting.hits == [f"/away?to={elsewhere}"]


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://upload.wikimedia.org/x.jpg"])
def test_only_http_urls_are_fetched(url):
    with client_of("https://commons.wikimedia.org") as client, pytest.raises(PermanentError):
        client.download(url, max_bytes=1000)


class Dripping(BaseHTTPRequestHandler):
    """/drip sends a declared body a byte every 0.1 s (8 s in all), /drip-headers its status
    line and headers so; /slow/<n> sends the body at once after n tenths of a second."""

    def do_GET(self) -> None:
        size = 80
        if self.path == "/drip-headers":
            with contextlib.suppress(OSError):
                for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 80:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        try:
            if self.path.startswith("/slow/"):
                time.sleep(int(self.path.rsplit("/", 1)[1]) / 10)
            for _ in range(size):
                self.wfile.write(b"x")
                self.wfile.flush()
                if self.path == "/drip":
                    time.sleep(0.1)
        except OSError:
            pass  # the client gave up: the point of the test

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def dripping() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_the_total_deadline_holds_against_a_server_sending_a_byte_at_a_time(
    dripping, settings, path
):
    settings.COMMONS_DOWNLOAD_TIMEOUT = 1.0
    with client_of(dripping) as client:
        started = time.monotonic()
        with pytest.raises(TransientError) as raised:
            client.download(f"{dripping}{path}", max_bytes=1000)
        took = time.monotonic() - started
    assert raised.value.code == "timeout"
    assert 0.9 < took < 2.0  # each read came well within the per-read timeout; 8 s in all


def test_a_download_within_the_deadline_is_whole(dripping, settings):
    settings.COMMONS_DOWNLOAD_TIMEOUT = 2.0
    with client_of(dripping) as client:
        assert client.download(f"{dripping}/slow/5", max_bytes=1000) == b"x" * 80
