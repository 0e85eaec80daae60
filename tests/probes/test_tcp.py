"""tcpSocket probes against real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import probe_tcp


@pytest.fixture
def listening_port() -> Iterator[int]:
    """A port of 127.0.0.1 that accepts connections (the kernel's backlog answers)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port: int = unused.getsockname()[1]
    return port


def test_an_open_port_succeeds(listening_port: int) -> None:
    result = asyncio.run(probe_tcp("127.0.0.1", listening_port, timeout=1))
    assert result == ProbeResult("success", "")


def test_a_closed_port_fails_with_the_dial_error() -> None:
    port = closed_port()
    result = asyncio.run(probe_tcp("127.0.0.1", port, timeout=1))
    assert result == ProbeResult(
        "failure", f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


def test_an_unknown_host_name_fails() -> None:
    result = asyncio.run(probe_tcp("no-such-host.invalid", 80, timeout=5))
    assert result == ProbeResult("failure", "dial tcp: lookup no-such-host.invalid: no such host")
