"""grpc probes: grpc.health.v1 Health/Check, as the kubelet's pkg/probe/grpc (v1.32).

The kubelet dials without TLS and waits for the connection up to the timeout, then asks
for the service's status: SERVING succeeds, any other answer or error fails.

gRPC makes its sockets on its own threads, so it cannot be told which network namespace to
dial from. For a pod with its own namespace the TCP connection is made here, in the pod's
namespace, and gRPC is given a private relay to it: an abstract Unix socket that accepts one
connection, from this process only, and copies bytes both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import struct
from collections.abc import AsyncIterator

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2

from fastpod.probes.netns import NamespaceError, NetworkNamespace
from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import join_host_port, resolve

USER_AGENT = "kube-probe/1.32"
SERVING = health_pb2.HealthCheckResponse.SERVING

_relay_names = itertools.count()


def go_duration(seconds: float) -> str:
    """``seconds`` as Go prints a time.Duration: ``1s``, ``1.5s``, ``500ms``."""
    if seconds >= 1:
        return f"{seconds:.9f}".rstrip("0").rstrip(".") + "s"
    return f"{seconds * 1000:.6f}".rstrip("0").rstrip(".") + "ms"


def go_code_name(code: grpc.StatusCode) -> str:
    """A status code as grpc-go names it (``NOT_FOUND`` → ``NotFound``)."""
    return "".join(word.capitalize() for word in code.name.split("_"))


async def probe_grpc(
    host: str,
    port: int,
    service: str,
    timeout: float,
    namespace: NetworkNamespace | None = None,
) -> ProbeResult:
    """Ask ``host:port`` for the health of ``service`` within ``timeout`` seconds.

    The connection is made from ``namespace`` when given (a pod with its own network).
    """
    address = join_host_port(host, port)
    not_connected = ProbeResult(
        "failure",
        f'timeout: failed to connect service "{address}" within {go_duration(timeout)}:'
        " context deadline exceeded",
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if namespace is None:
        return await _check(address, service, timeout, deadline, not_connected)
    try:
        async with asyncio.timeout(timeout):
            family, sockaddr = await resolve(host, port)
            upstream = namespace.socket(family)
            try:
                await loop.sock_connect(upstream, sockaddr)
            except BaseException:
                upstream.close()
                raise
    except NamespaceError as error:
        return ProbeResult("unknown", str(error))
    except (TimeoutError, OSError):
        return not_connected
    async with _relay(upstream) as target:
        return await _check(target, service, timeout, deadline, not_connected)


async def _check(
    target: str, service: str, timeout: float, deadline: float, not_connected: ProbeResult
) -> ProbeResult:
    loop = asyncio.get_running_loop()
    options = [
        ("grpc.primary_user_agent", USER_AGENT),
        ("grpc.enable_http_proxy", 0),
        ("grpc.use_local_subchannel_pool", 1),
    ]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), max(deadline - loop.time(), 0))
        except TimeoutError:
            return not_connected
        check = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString,
        )
        try:
            response = await check(
                health_pb2.HealthCheckRequest(service=service),
                timeout=max(deadline - loop.time(), 0),
            )
        except grpc.aio.AioRpcError as error:
            return _rpc_failure(error, timeout)
    if response.status != SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return ProbeResult("failure", f'service unhealthy (responded with "{name}")')
    return ProbeResult("success", "service healthy")


def _rpc_failure(error: grpc.aio.AioRpcError, timeout: float) -> ProbeResult:
    code = error.code()
    details = error.details() or ""
    if code == grpc.StatusCode.UNIMPLEMENTED:
        return ProbeResult(
            "failure",
            "error: this server does not implement the grpc health protocol"
            f" (grpc.health.v1.Health): {details}",
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return ProbeResult(
            "failure", f"timeout: health rpc did not complete within {go_duration(timeout)}"
        )
    return ProbeResult(
        "failure",
        f"error: health rpc probe failed: rpc error: code = {go_code_name(code)} desc = {details}",
    )


@contextlib.asynccontextmanager
async def _relay(upstream: socket.socket) -> AsyncIterator[str]:
    """A gRPC target that leads to ``upstream``, until the block ends."""
    name = f"fastpod-grpc-probe-{os.getpid()}-{next(_relay_names)}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    listener.setblocking(False)
    listener.bind("\0" + name)
    listener.listen(1)
    relay = asyncio.create_task(_serve_relay(listener, upstream))
    try:
        yield f"unix-abstract:{name}"
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        listener.close()
        upstream.close()


async def _serve_relay(listener: socket.socket, upstream: socket.socket) -> None:
    """Accept this process's connection on ``listener`` and copy bytes to and from ``upstream``."""
    loop = asyncio.get_running_loop()
    while True:
        downstream, _ = await loop.sock_accept(listener)
        credentials = downstream.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
        )
        if struct.unpack("3i", credentials)[0] == os.getpid():
            break
        downstream.close()
    listener.close()
    with downstream:
        await asyncio.gather(_copy(downstream, upstream), _copy(upstream, downstream))


async def _copy(source: socket.socket, destination: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await loop.sock_recv(source, 65536):
            await loop.sock_sendall(destination, data)
        destination.shutdown(socket.SHUT_WR)
    except OSError:
        return
