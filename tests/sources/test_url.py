"""The manifest URL poller against a real HTTP server on 127.0.0.1, by the kubelet's rules."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.sources.url import QUIET_NOTE, UrlSource
from tests.support.http_server import Reply, Server
from tests.support.logs import LogCapture

SECRET = "s3cret-t0ken"


def poll(source: UrlSource, times: int = 1) -> list[bytes | None]:
    """Fetch ``times`` times in one event loop, as the watcher does, then close the source."""

    async def run() -> list[bytes | None]:
        try:
            return [await source.fetch() for _ in range(times)]
        finally:
            await source.close()

    return asyncio.run(run())


def test_a_body_is_returned(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"kind: Pod\n"))
    assert poll(UrlSource(server.url())) == [b"kind: Pod\n"]
    assert captured_logs.records("manifest URL failed") == []


def test_an_identical_body_needs_no_action(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"kind: Pod\n"))
    assert poll(UrlSource(server.url()), times=3) == [b"kind: Pod\n", None, None]


def test_a_changed_body_is_returned(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"), Reply(body=b"a: 2\n"), Reply(body=b"a: 1\n"))
    assert poll(UrlSource(server.url()), times=3) == [b"a: 1\n", b"a: 2\n", b"a: 1\n"]


def test_a_same_length_change_is_seen(server: Server, captured_logs: LogCapture) -> None:
    """The body's digest is compared, not its length."""
    server.serve("/pods", Reply(body=b"image: a\n"), Reply(body=b"image: b\n"))
    assert poll(UrlSource(server.url()), times=2) == [b"image: a\n", b"image: b\n"]


@pytest.mark.parametrize("status", [404, 500])
def test_a_non_200_status_changes_nothing_and_is_logged(
    server: Server, captured_logs: LogCapture, status: int
) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"), Reply(status, b"a: 2\n"), Reply(body=b"a: 1\n"))
    assert poll(UrlSource(server.url()), times=3) == [b"a: 1\n", None, None]
    [failure] = captured_logs.records("manifest URL failed")
    assert failure["level"] == "error"
    assert failure["status"] == status
    assert failure["url"] == server.url()


def test_a_server_that_is_down_changes_nothing(captured_logs: LogCapture) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert poll(UrlSource(f"http://127.0.0.1:{port}/pods")) == [None]
    [failure] = captured_logs.records("manifest URL failed")
    assert "status" not in failure
    assert "127.0.0.1" in str(failure["error"])


def test_a_slow_response_times_out(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n", delay_before_headers=0.6))
    started = time.monotonic()
    assert poll(UrlSource(server.url(), timeout=0.2)) == [None]
    assert time.monotonic() - started < 0.5
    [failure] = captured_logs.records("manifest URL failed")
    assert failure["error"] == "no complete response within 0.2 s"


def test_the_timeout_covers_reading_the_body(server: Server, captured_logs: LogCapture) -> None:
    """A server that sends the headers and then stalls is a timeout too, not a hang."""
    server.serve("/pods", Reply(body=b"a: 1\n" * 1000, delay_mid_body=0.6))
    started = time.monotonic()
    assert poll(UrlSource(server.url(), timeout=0.2)) == [None]
    assert time.monotonic() - started < 0.5
    assert len(captured_logs.records("manifest URL failed")) == 1


def test_an_empty_body_removes_the_pods_once(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"), Reply(body=b""))
    assert poll(UrlSource(server.url()), times=3) == [b"a: 1\n", b"", None]
    [empty] = captured_logs.records("manifest URL empty")
    assert empty["level"] == "warning"
    assert empty["reason"] == "zero-length data received"


def test_an_oversize_body_changes_nothing(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(body=b"#" * (MAX_MANIFEST_BYTES + 1)))
    assert poll(UrlSource(server.url())) == [None]
    [failure] = captured_logs.records("manifest URL failed")
    assert "10 MiB" in str(failure["error"])


def test_a_body_of_exactly_the_limit_is_returned(server: Server, captured_logs: LogCapture) -> None:
    body = b"#" * MAX_MANIFEST_BYTES
    server.serve("/pods", Reply(body=body))
    assert poll(UrlSource(server.url())) == [body]


def test_configured_headers_are_sent_repeated_names_in_order(server: Server) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"))
    headers = [("Authorization", f"Bearer {SECRET}"), ("X-Tag", "one"), ("X-Tag", "two")]
    poll(UrlSource(server.url(), headers=headers))
    [request] = server.requests
    assert request.headers.get_all("Authorization") == [f"Bearer {SECRET}"]
    assert request.headers.get_all("X-Tag") == ["one", "two"]


def test_an_authorization_header_wins_over_the_urls_userinfo(server: Server) -> None:
    """Go's http.Client (the kubelet's) sends the URL's user:password as Basic auth only
    when no Authorization header is set; aiohttp would refuse the pair at every poll."""
    server.serve("/pods", Reply(body=b"a: 1\n"))
    url = server.url().replace("http://", "http://alice:pw@")
    source = UrlSource(url, headers=[("Authorization", f"Bearer {SECRET}")])

    assert poll(source) == [b"a: 1\n"]
    [request] = server.requests
    assert request.headers.get_all("Authorization") == [f"Bearer {SECRET}"]


def test_the_urls_userinfo_is_basic_auth_without_an_authorization_header(server: Server) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"))
    poll(UrlSource(server.url().replace("http://", "http://alice:pw@")))
    [request] = server.requests
    assert request.headers.get_all("Authorization") == ["Basic YWxpY2U6cHc="]


def test_a_configured_header_replaces_the_default_of_that_name(server: Server) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"))
    poll(UrlSource(server.url(), headers=[("User-Agent", "fleet/1"), ("Accept", "text/yaml")]))
    [request] = server.requests
    assert request.headers.get_all("User-Agent") == ["fleet/1"]
    assert request.headers.get_all("Accept") == ["text/yaml"]


def test_header_values_are_never_logged(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(500), Reply(body=b"a: 1\n"))
    headers = [("Authorization", f"Bearer {SECRET}"), ("X-Token", SECRET)]
    poll(UrlSource(server.url(), headers=headers), times=2)
    [polled] = captured_logs.records("manifest URL polled")
    assert polled["headers"] == ["Authorization", "X-Token"]
    assert len(captured_logs.records("manifest URL failed")) == 1
    assert SECRET not in str(captured_logs.records())


def test_one_connection_serves_every_poll(server: Server) -> None:
    server.serve("/pods", Reply(body=b"a: 1\n"))
    poll(UrlSource(server.url()), times=3)
    assert len({request.client_port for request in server.requests}) == 1


def test_redirects_are_followed(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/old", Reply(302, location="/pods"))
    server.serve("/pods", Reply(body=b"a: 1\n"))
    assert poll(UrlSource(server.url("/old"))) == [b"a: 1\n"]
    assert [request.path for request in server.requests] == ["/old", "/pods"]


def test_a_failure_streak_logs_its_start_and_its_end(
    server: Server, captured_logs: LogCapture
) -> None:
    server.serve("/pods", *[Reply(500)] * 5, Reply(body=b"a: 1\n"))
    assert poll(UrlSource(server.url()), times=6) == [None] * 5 + [b"a: 1\n"]
    failures = captured_logs.records("manifest URL failed")
    assert [failure.get("note") for failure in failures] == [None, None, None, QUIET_NOTE]
    [recovery] = captured_logs.records("manifest URL reachable again")
    assert recovery["failures"] == 5
    assert captured_logs.records()[-1] == recovery


def test_a_new_streak_is_logged_again(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", *[Reply(500)] * 5, Reply(body=b"a: 1\n"), Reply(500))
    poll(UrlSource(server.url()), times=7)
    assert len(captured_logs.records("manifest URL failed")) == 5


def test_the_url_password_is_never_logged(server: Server, captured_logs: LogCapture) -> None:
    server.serve("/pods", Reply(404))
    url = f"http://alice:{SECRET}@127.0.0.1:{server.port}/pods"
    assert poll(UrlSource(url)) == [None]
    assert server.requests[0].headers["Authorization"].startswith("Basic ")
    assert {str(line["url"]) for line in captured_logs.records()} == {server.url()}
    assert SECRET not in str(captured_logs.records())
    assert "alice" not in str(captured_logs.records())


def test_an_invalid_url_is_logged_without_its_password(captured_logs: LogCapture) -> None:
    """aiohttp quotes the URL in its error; the password is taken out of that too."""
    assert poll(UrlSource(f"http://alice:{SECRET}@[::1/pods")) == [None]
    [failure] = captured_logs.records("manifest URL failed")
    assert failure["url"] == "http://[::1/pods"
    assert SECRET not in str(captured_logs.records())


def test_a_non_http_url_is_a_failure_not_an_exception(captured_logs: LogCapture) -> None:
    assert poll(UrlSource("ftp://127.0.0.1/pods")) == [None]
    assert len(captured_logs.records("manifest URL failed")) == 1


def test_closing_before_any_fetch_is_harmless() -> None:
    asyncio.run(UrlSource("http://127.0.0.1:1/pods").close())


def test_https_certificates_are_verified(tls_server: Server, captured_logs: LogCapture) -> None:
    tls_server.serve("/pods", Reply(200, b"kind: Pod"))
    assert poll(UrlSource(tls_server.url("/pods"))) == [None]
    (failure,) = captured_logs.records("manifest URL failed")
    assert "certificate verify failed" in str(failure["error"])
    assert tls_server.requests == [], "no request got through"
