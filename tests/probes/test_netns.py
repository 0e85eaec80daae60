"""Probes into a pod's own network namespace: a server only its loopback reaches.

Root makes a network namespace with ``unshare --net`` and runs an HTTP and a gRPC health
server on its 127.0.0.1; the probes reach them only through the namespace.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fastpod.model import HTTPGetAction
from fastpod.probes.grpc_health import probe_grpc
from fastpod.probes.http import http_probe_request, probe_http
from fastpod.probes.netns import NamespaceError, NetworkNamespace
from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import probe_tcp

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="making a network namespace needs root"),
]

SERVERS = """
import asyncio, sys
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

async def main():
    async def answer(reader, writer):
        await reader.readuntil(b"\\r\\n\\r\\n")
        writer.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 9\\r\\n\\r\\nin the ns")
        await writer.drain()
        writer.close()

    await asyncio.start_server(answer, "127.0.0.1", int(sys.argv[1]))
    server = grpc.aio.server()
    servicer = health.aio.HealthServicer()
    await servicer.set("etcd", health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"127.0.0.1:{sys.argv[2]}")
    await server.start()
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


@dataclass(frozen=True)
class Pod:
    """A network namespace with an HTTP server and a gRPC health server on its loopback."""

    namespace: NetworkNamespace
    http_port: int
    grpc_port: int


def free_host_port() -> int:
    """A port nothing listens on in this (the host's) namespace."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port: int = unused.getsockname()[1]
    return port


@pytest.fixture
def pod() -> Iterator[Pod]:
    http_port, grpc_port = free_host_port(), free_host_port()
    servers = subprocess.Popen(
        [
            "unshare",
            "--net",
            "--",
            "sh",
            "-c",
            'ip link set lo up && exec "$0" -c "$1" "$2" "$3"',
            sys.executable,
            SERVERS,
            str(http_port),
            str(grpc_port),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert servers.stdout is not None
        assert servers.stdout.readline() == "ready\n"
        namespace = NetworkNamespace(f"/proc/{servers.pid}/ns/net")
        yield Pod(namespace, http_port, grpc_port)
        namespace.close()
    finally:
        servers.kill()
        servers.wait()


def run_http(port: int, namespace: NetworkNamespace | None) -> ProbeResult:
    request = http_probe_request(HTTPGetAction(path="/"), port, "127.0.0.1")
    return asyncio.run(probe_http(request, 2, namespace))


def test_http_reaches_the_pod_only_through_its_namespace(pod: Pod) -> None:
    assert run_http(pod.http_port, pod.namespace) == ProbeResult("success", "in the ns")
    assert run_http(pod.http_port, None).output.endswith("connect: connection refused")


def test_tcp_reaches_the_pod_only_through_its_namespace(pod: Pod) -> None:
    inside = asyncio.run(probe_tcp("127.0.0.1", pod.http_port, 2, pod.namespace))
    outside = asyncio.run(probe_tcp("127.0.0.1", pod.http_port, 2))
    assert inside == ProbeResult("success", "")
    assert outside.outcome == "failure"


def test_grpc_reaches_the_pod_only_through_its_namespace(pod: Pod) -> None:
    inside = asyncio.run(probe_grpc("127.0.0.1", pod.grpc_port, "etcd", 2, pod.namespace))
    outside = asyncio.run(probe_grpc("127.0.0.1", pod.grpc_port, "etcd", 0.3))
    assert inside == ProbeResult("success", "service healthy")
    assert outside.outcome == "failure"


def test_grpc_to_a_closed_port_in_the_namespace_fails(pod: Pod) -> None:
    port = free_host_port()
    result = asyncio.run(probe_grpc("127.0.0.1", port, "", 0.5, pod.namespace))
    assert result.outcome == "failure"
    assert result.output.startswith(f'timeout: failed to connect service "127.0.0.1:{port}"')


def test_the_caller_thread_stays_in_its_own_namespace(pod: Pod) -> None:
    own = f"/proc/self/task/{threading.get_native_id()}/ns/net"
    before = os.readlink(own)
    pod.namespace.socket(socket.AF_INET).close()
    assert os.readlink(own) == before
    assert os.readlink(pod.namespace.path) != before


def test_a_closed_namespace_gives_an_unknown_result(pod: Pod) -> None:
    gone = NetworkNamespace(pod.namespace.path)
    gone.close()
    result = asyncio.run(probe_tcp("127.0.0.1", pod.http_port, 2, gone))
    assert result == ProbeResult("unknown", f"network namespace {gone.path} is closed")


def test_a_missing_namespace_is_a_clear_error() -> None:
    with pytest.raises(NamespaceError, match="cannot open network namespace /proc/0/ns/net"):
        NetworkNamespace("/proc/0/ns/net")


def test_a_file_that_is_no_namespace_cannot_be_entered() -> None:
    namespace = NetworkNamespace("/proc/self/status")
    try:
        with pytest.raises(NamespaceError, match="cannot enter network namespace"):
            namespace.socket(socket.AF_INET)
    finally:
        namespace.close()
