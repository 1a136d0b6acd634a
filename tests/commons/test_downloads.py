"""Downloads come only from an upload host: Wikimedia's upload server or the configured
API's own host. A file URL, or a redirect, that points anywhere else is refused before any
request goes there."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from commons.client import ApiClient, PermanentError, RetryPolicy

ONE_TRY = RetryPolicy(max_attempts=1)
JPEG = b"\xff\xd8\xff\xe0 not really a photo"


class Redirecting(BaseHTTPRequestHandler):
    """/same → /file on this host; /away → the URL in the query; /file → bytes."""

    hits: list[str] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/file.jpg":
            self.send_response(200)
            self.send_header("Content-Length", str(len(JPEG)))
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
