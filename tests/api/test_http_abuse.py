"""The API's HTTP server under abuse (issue 17, scenario 7): slow clients cannot hold its
connections, requests it cannot parse are answered, a handler's bug is a log record."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import subprocess
import sys

import pytest

from fastpod.api import connections as api_connections
from fastpod.api import http as api_http
from fastpod.api.connections import Connections
from tests.api.test_http import echo_router, fetch
from tests.support.logs import LogCapture


def serving_with(limit: int | None, scenario: object) -> None:
    async def main() -> None:
        server = await api_http.serve(echo_router_with_failure(), "127.0.0.1", 0, limit)
        try:
            await asyncio.wait_for(scenario(server.sockets[0].getsockname()[1]), 30)  # type: ignore[operator]
        finally:
            server.close()

    asyncio.run(main())


def echo_router_with_failure() -> api_http.Router:
    async def broken(request: api_http.Request) -> api_http.Response:
        raise KeyError("a bug")

    router = echo_router()
    router.get("/broken", broken)
    return router


async def exchange(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    answer = await reader.read()
    writer.close()
    return answer


def test_a_slow_client_is_closed_when_its_request_takes_too_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A slowloris client sending its head a byte at a time does not keep its connection."""
    monkeypatch.setattr(api_http, "REQUEST_TIMEOUT", 0.3)

    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        with contextlib.suppress(ConnectionError):
            for byte in b"GET /things/x HTTP/1.1\r\nHost: x\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)
        with contextlib.suppress(ConnectionError):
            assert await reader.read() == b"", "closed before the request was whole"
        assert reader.at_eof() or writer.is_closing()
        writer.close()

    serving_with(None, scenario)


def test_a_new_connection_replaces_the_one_waiting_longest_for_its_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(api_connections, "SLOW", 0.0)

    async def scenario(port: int) -> None:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)  # both accepted, waiting for a request

        ((status, _, body),) = await fetch(port, ("GET", "/things/served"))

        assert (status, body.split(b"|")[0]) == (200, b"served")
        first_reader, _ = idle[0]
        assert await first_reader.read() == b"", "the oldest idle connection gave way"
        for _, writer in idle:
            writer.close()

    serving_with(2, scenario)


def test_a_connection_over_the_limit_is_answered_503_when_none_can_give_way() -> None:
    async def scenario(port: int) -> None:
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)  # both wait for a request, for less than SLOW

        answer = await exchange(port, b"GET /things/x HTTP/1.1\r\nHost: x\r\n\r\n")

        assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        assert answer.endswith(b"too many connections: try again\n")
        for _, writer in idle:
            writer.close()

    serving_with(2, scenario)


def test_a_head_over_h11s_limit_is_answered_431() -> None:
    async def scenario(port: int) -> None:
        huge = b"GET /things/x HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 65536 + b"\r\n\r\n"
        answer = await exchange(port, huge)
        assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")

    serving_with(None, scenario)


def test_a_handler_that_raises_is_answered_500_and_logged_as_a_record(
    captured_logs: LogCapture,
) -> None:
    async def scenario(port: int) -> None:
        answer = await exchange(port, b"GET /broken HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
        ((status, _, _),) = await fetch(port, ("GET", "/things/after"))
        assert status == 200

    serving_with(None, scenario)

    (failed,) = captured_logs.records("API request failed")
    assert failed["error"] == "KeyError: 'a bug'"
    assert "raise KeyError" in failed["traceback"]


def test_connections_answered_never_give_way() -> None:
    connections: Connections[str] = Connections(2)
    for name in ("a", "b"):
        assert connections.admit(name, 0.0) == (True, None)
        connections.answering(name)

    assert connections.admit("c", 100.0) == (False, None)
    assert len(connections) == 2


def test_the_connection_waiting_longest_gives_way_once_it_has_waited_long_enough() -> None:
    connections: Connections[str] = Connections(2)
    connections.admit("old", 0.0)
    connections.admit("young", 0.5)

    assert connections.admit("new", 0.9) == (False, None)
    assert connections.admit("new", 1.0) == (True, "old")
    connections.closed("old")
    assert len(connections) == 2


def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    """As Go programs (the kubelet) raise theirs: systemd gives services 1,024."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    script = (
        "import resource\n"
        "from fastpod.api.connections import raise_open_files_limit\n"
        "_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))\n"
        "print(raise_open_files_limit(), resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert result.stdout.split() == [str(hard), str(hard)]
