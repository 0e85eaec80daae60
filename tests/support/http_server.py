"""A real HTTP server for the manifest URL and probe tests: replies set per path."""

from __future__ import annotations

import contextlib
import email.message
import http.server
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import trustme


@dataclass(frozen=True)
class Reply:
    """One response: status, body, an optional redirect, and stalls to trigger timeouts."""

    status: int = 200
    body: bytes = b""
    location: str | None = None
    delay_before_headers: float = 0.0
    delay_mid_body: float = 0.0


@dataclass(frozen=True)
class Request:
    """What the server saw of one request."""

    path: str
    headers: email.message.Message
    client_port: int


class Server:
    """What the test HTTP server serves, per path, and the requests it received."""

    def __init__(self, httpd: http.server.ThreadingHTTPServer, scheme: str) -> None:
        self.host = str(httpd.server_address[0])
        self.port = httpd.server_address[1]
        self.scheme = scheme
        self.replies: dict[str, list[Reply]] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()

    def url(self, path: str = "/pods") -> str:
        """The URL of ``path`` on this server."""
        return f"{self.scheme}://{self.host}:{self.port}{path}"

    def serve(self, path: str, *replies: Reply) -> None:
        """Answer requests for ``path`` with each reply in turn, then the last one forever."""
        with self._lock:
            self.replies[path] = list(replies)

    def next_reply(self, request: Request) -> Reply:
        """Record ``request`` and take the reply for it (404 for an unknown path)."""
        with self._lock:
            self.requests.append(request)
            queue = self.replies.get(request.path, [Reply(404)])
            return queue.pop(0) if len(queue) > 1 else queue[0]


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves the :class:`Server` replies; HTTP/1.1 so the client can keep its connection."""

    protocol_version = "HTTP/1.1"
    server: _TestHTTPServer

    def do_GET(self) -> None:
        reply = self.server.state.next_reply(
            Request(self.path, self.headers, self.client_address[1])
        )
        time.sleep(reply.delay_before_headers)
        self.send_response(reply.status)
        if reply.location is not None:
            self.send_header("Location", reply.location)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        half = len(reply.body) // 2
        self.wfile.write(reply.body[:half])
        self.wfile.flush()
        time.sleep(reply.delay_mid_body)
        self.wfile.write(reply.body[half:])

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test output is for the tests."""


class _TestHTTPServer(http.server.ThreadingHTTPServer):
    state: Server

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (a timeout test) breaks the pipe; that is expected."""


@pytest.fixture
def server() -> Iterator[Server]:
    """A real HTTP server on a free port of 127.0.0.1, in a background thread."""
    yield from _serve(None)


@pytest.fixture
def tls_server() -> Iterator[Server]:
    """The same over HTTPS, with a certificate from a CA that nobody trusts."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)
    yield from _serve(context)


def _serve(tls: ssl.SSLContext | None) -> Iterator[Server]:
    with serving(tls) as state:
        yield state


@contextlib.contextmanager
def serving(tls: ssl.SSLContext | None, host: str = "127.0.0.1") -> Iterator[Server]:
    """A real HTTP server (HTTPS with ``tls``) on a free port of ``host``, in a background
    thread, for the block."""
    httpd = _TestHTTPServer((host, 0), Handler)
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    httpd.state = Server(httpd, "https" if tls else "http")
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
