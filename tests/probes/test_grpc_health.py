"""grpc probes against an in-test grpc.aio server with the standard health service."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from fastpod.probes.grpc_health import go_duration, probe_grpc
from fastpod.probes.result import ProbeResult

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def with_server(
    check: Callable[[int], Awaitable[ProbeResult]], *, with_health: bool = True
) -> ProbeResult:
    """Run ``check`` against a server on 127.0.0.1: "etcd" serving, "backup" not serving."""

    async def run() -> ProbeResult:
        server = grpc.aio.server()
        if with_health:
            servicer = health.aio.HealthServicer()
            await servicer.set("etcd", SERVING)
            await servicer.set("backup", NOT_SERVING)
            health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            return await check(port)
        finally:
            await server.stop(None)

    return asyncio.run(run())


def test_a_serving_service_succeeds() -> None:
    result = with_server(lambda port: probe_grpc("127.0.0.1", port, "etcd", 2))
    assert result == ProbeResult("success", "service healthy")


def test_the_empty_service_name_is_the_server_overall() -> None:
    result = with_server(lambda port: probe_grpc("127.0.0.1", port, "", 2))
    assert result == ProbeResult("success", "service healthy")


def test_a_service_not_serving_fails() -> None:
    result = with_server(lambda port: probe_grpc("127.0.0.1", port, "backup", 2))
    assert result == ProbeResult("failure", 'service unhealthy (responded with "NOT_SERVING")')


def test_an_unknown_service_fails_with_the_status() -> None:
    result = with_server(lambda port: probe_grpc("127.0.0.1", port, "nope", 2))
    assert result.outcome == "failure"
    assert result.output.startswith("error: health rpc probe failed: rpc error: code = NotFound")


def test_a_server_without_the_health_service_fails() -> None:
    result = with_server(lambda port: probe_grpc("127.0.0.1", port, "", 2), with_health=False)
    assert result.outcome == "failure"
    assert result.output.startswith(
        "error: this server does not implement the grpc health protocol (grpc.health.v1.Health)"
    )


def test_a_closed_port_fails_at_the_timeout() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    result = asyncio.run(probe_grpc("127.0.0.1", port, "", 0.3))
    assert result == ProbeResult(
        "failure",
        f'timeout: failed to connect service "127.0.0.1:{port}" within 300ms:'
        " context deadline exceeded",
    )


def test_durations_print_as_go_prints_them() -> None:
    assert go_duration(1) == "1s"
    assert go_duration(1.5) == "1.5s"
    assert go_duration(0.25) == "250ms"
