"""httpGet probes against real HTTP(S) servers on 127.0.0.1, by the kubelet's rules."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from fastpod.model import HTTPGetAction, HTTPHeader
from fastpod.probes.http import (
    MAX_BODY_BYTES,
    HttpProbeRequest,
    http_probe_request,
    probe_http,
)
from fastpod.probes.result import ProbeResult
from tests.support.http_server import Reply, Server


def probe(request: HttpProbeRequest, timeout: float = 2) -> ProbeResult:
    """One probe in an event loop of its own."""
    return asyncio.run(probe_http(request, timeout))


def get(server: Server, path: str = "/healthz", **action: object) -> HttpProbeRequest:
    return http_probe_request(
        HTTPGetAction(path=path, scheme=server.scheme.upper(), **action),  # type: ignore[arg-type]
        server.port,
        "127.0.0.1",
    )


def test_the_request_is_built_from_the_action() -> None:
    action = HTTPGetAction(
        path="livez?verbose",
        port="https",
        scheme="HTTPS",
        http_headers=[HTTPHeader(name="X-Probe", value="1")],
    )
    assert http_probe_request(action, 6443, "10.0.0.7") == HttpProbeRequest(
        "https://10.0.0.7:6443/livez?verbose",
        [("X-Probe", "1"), ("User-Agent", "kube-probe/1.32"), ("Accept", "*/*")],
    )
    ipv6 = http_probe_request(HTTPGetAction(host="fd00::1"), 80, "10.0.0.7")
    assert ipv6.url == "http://[fd00::1]:80"


@pytest.mark.parametrize("status", [200, 204, 302, 399])
def test_200_to_399_succeed(server: Server, status: int) -> None:
    server.serve("/healthz", Reply(status))
    result = probe(get(server))
    assert result.outcome == "success"


def test_a_2xx_answer_gives_its_body(server: Server) -> None:
    server.serve("/healthz", Reply(200, b"ok"))
    assert probe(get(server)) == ProbeResult("success", "ok")


def test_a_3xx_answer_is_a_success_with_a_warning(server: Server) -> None:
    server.serve("/healthz", Reply(399, b"moved"))
    assert probe(get(server)) == ProbeResult(
        "success", "Probe terminated redirects, Response body: moved", warning=True
    )


@pytest.mark.parametrize("status", [400, 404, 500, 503])
def test_400_and_above_fail_with_the_status(server: Server, status: int) -> None:
    server.serve("/healthz", Reply(status, b"secret body"))
    assert probe(get(server)) == ProbeResult(
        "failure", f"HTTP probe failed with statuscode: {status}"
    )


def test_the_kubelet_headers_are_sent(server: Server) -> None:
    server.serve("/healthz", Reply(200))
    probe(get(server, http_headers=[HTTPHeader(name="X-Custom", value="yes")]))
    headers = server.requests[0].headers
    assert headers["User-Agent"] == "kube-probe/1.32"
    assert headers["Accept"] == "*/*"
    assert headers["X-Custom"] == "yes"
    assert headers["Host"] == f"127.0.0.1:{server.port}"
    assert headers["Connection"] == "close"
    assert "Accept-Encoding" not in headers


def test_the_manifest_headers_replace_the_defaults(server: Server) -> None:
    server.serve("/healthz", Reply(200))
    probe(
        get(
            server,
            http_headers=[
                HTTPHeader(name="user-agent", value="my-agent"),
                HTTPHeader(name="Host", value="api.example"),
                HTTPHeader(name="Accept", value=""),
                HTTPHeader(name="X-Twice", value="a"),
                HTTPHeader(name="X-Twice", value="b"),
            ],
        )
    )
    headers = server.requests[0].headers
    assert headers.get_all("User-Agent") == ["my-agent"]
    assert headers["Host"] == "api.example"
    assert "Accept" not in headers
    assert headers.get_all("X-Twice") == ["a", "b"]


def test_every_probe_has_a_fresh_connection(server: Server) -> None:
    server.serve("/healthz", Reply(200))

    async def twice() -> None:
        await probe_http(get(server), 2)
        await probe_http(get(server), 2)

    asyncio.run(twice())
    first, second = server.requests
    assert first.client_port != second.client_port


def test_a_redirect_to_the_same_host_is_followed(server: Server) -> None:
    server.serve("/healthz", Reply(302, location="/ready"))
    server.serve("/ready", Reply(200, b"ready"))
    assert probe(get(server)) == ProbeResult("success", "ready")
    assert [r.path for r in server.requests] == ["/healthz", "/ready"]


def test_a_redirect_keeps_the_custom_headers(server: Server) -> None:
    server.serve("/healthz", Reply(307, location="/ready"))
    server.serve("/ready", Reply(500))
    result = probe(get(server, http_headers=[HTTPHeader(name="X-Custom", value="yes")]))
    assert result == ProbeResult("failure", "HTTP probe failed with statuscode: 500")
    assert server.requests[1].headers["X-Custom"] == "yes"


def test_a_redirect_to_another_host_is_not_followed(server: Server) -> None:
    server.serve("/healthz", Reply(302, b"elsewhere", location="http://example.invalid/"))
    assert probe(get(server)) == ProbeResult(
        "success", "Probe terminated redirects, Response body: elsewhere", warning=True
    )
    assert len(server.requests) == 1


def test_redirects_stop_after_ten_requests(server: Server) -> None:
    server.serve("/healthz", Reply(302, location="/healthz"))
    assert probe(get(server)) == ProbeResult(
        "failure", 'Get "/healthz": stopped after 10 redirects'
    )
    assert len(server.requests) == 10


def test_the_body_read_is_capped(server: Server) -> None:
    server.serve("/healthz", Reply(200, b"x" * (3 * MAX_BODY_BYTES)))
    result = probe(get(server))
    assert result == ProbeResult("success", "x" * MAX_BODY_BYTES)


def test_https_succeeds_without_verifying_the_certificate(tls_server: Server) -> None:
    tls_server.serve("/livez", Reply(200, b"ok"))
    assert probe(get(tls_server, path="/livez")) == ProbeResult("success", "ok")


def test_a_closed_port_fails_with_the_dial_error() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    request = http_probe_request(HTTPGetAction(path="/healthz"), port, "127.0.0.1")
    assert probe(request) == ProbeResult(
        "failure",
        f'Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}:'
        " connect: connection refused",
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_server_that_never_answers_fails_at_the_timeout(silent_port: int) -> None:
    request = http_probe_request(HTTPGetAction(path="/healthz"), silent_port, "127.0.0.1")
    assert probe(request, timeout=0.2) == ProbeResult(
        "failure",
        f'Get "http://127.0.0.1:{silent_port}/healthz": context deadline exceeded'
        " (Client.Timeout exceeded while awaiting headers)",
    )


def test_a_body_that_stalls_is_an_unknown_result() -> None:
    async def run() -> ProbeResult:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
            await writer.drain()
            await asyncio.sleep(10)

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            request = http_probe_request(HTTPGetAction(path="/"), port, "127.0.0.1")
            return await probe_http(request, 0.3)
        finally:
            server.close()

    assert asyncio.run(run()) == ProbeResult(
        "unknown",
        "context deadline exceeded (Client.Timeout or context cancellation while reading body)",
    )


def answered_with(reply: bytes, timeout: float = 2) -> ProbeResult:
    """The probe's result when the server answers every request with the bytes ``reply``."""

    async def run() -> ProbeResult:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(reply)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            request = http_probe_request(HTTPGetAction(path="/"), port, "127.0.0.1")
            return await probe_http(request, timeout)
        finally:
            server.close()

    return asyncio.run(run())


def test_a_chunked_body_is_decoded() -> None:
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert answered_with(reply) == ProbeResult("success", "abcde")


def test_a_chunked_body_is_capped() -> None:
    chunk = b"y" * MAX_BODY_BYTES
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    reply += b"%x\r\n%s\r\n" % (len(chunk), chunk) * 2 + b"0\r\n\r\n"
    assert answered_with(reply) == ProbeResult("success", "y" * MAX_BODY_BYTES)


def test_a_body_to_the_end_of_the_connection_is_read() -> None:
    assert answered_with(b"HTTP/1.1 500 Oops\r\n\r\nbroken") == ProbeResult(
        "failure", "HTTP probe failed with statuscode: 500"
    )
    assert answered_with(b"HTTP/1.0 200 OK\r\n\r\nold") == ProbeResult("success", "old")


def test_header_lines_ending_in_a_bare_newline_are_read_as_go_reads_them() -> None:
    # busybox httpd passes a CGI script's own header lines on as they are
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\n\nok\n"
    assert answered_with(reply) == ProbeResult("success", "ok\n")


def test_a_head_cut_short_fails_with_an_unexpected_eof() -> None:
    result = answered_with(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
    assert result.outcome == "failure"
    assert result.output.endswith('/": unexpected EOF')


def test_an_interim_response_is_skipped() -> None:
    reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"
    assert answered_with(reply) == ProbeResult("failure", "HTTP probe failed with statuscode: 503")


def test_a_connection_closed_without_an_answer_fails_with_eof() -> None:
    result = answered_with(b"")
    assert result.outcome == "failure"
    assert result.output.endswith('/": EOF')


def test_a_reply_that_is_not_http_fails() -> None:
    result = answered_with(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
    assert result.outcome == "failure"
    assert result.output.endswith(
        "net/http: HTTP/1.x transport connection broken:"
        ' malformed HTTP response "SSH-2.0-OpenSSH_9.6"'
    )


def test_a_body_shorter_than_its_length_is_an_unknown_result() -> None:
    result = answered_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort")
    assert result == ProbeResult("unknown", "unexpected EOF")


def test_a_relative_redirect_keeps_the_host_header(server: Server) -> None:
    server.serve("/healthz", Reply(302, location="/ready"))
    server.serve("/ready", Reply(200))
    probe(get(server, http_headers=[HTTPHeader(name="Host", value="api.example")]))
    assert [r.headers["Host"] for r in server.requests] == ["api.example", "api.example"]


def test_an_absolute_redirect_to_the_same_host_drops_the_host_header(server: Server) -> None:
    server.serve("/healthz", Reply(302, location=server.url("/ready")))
    server.serve("/ready", Reply(200))
    probe(get(server, http_headers=[HTTPHeader(name="Host", value="api.example")]))
    hosts = [r.headers["Host"] for r in server.requests]
    assert hosts == ["api.example", f"127.0.0.1:{server.port}"]


def test_a_header_that_would_break_the_request_is_refused(server: Server) -> None:
    request = get(server, http_headers=[HTTPHeader(name="X-Bad", value="a\r\nX-Injected: 1")])
    assert probe(request) == ProbeResult(
        "failure",
        f'Get "{server.url("/healthz")}": net/http: invalid header field value for "X-Bad"',
    )
    assert server.requests == []
