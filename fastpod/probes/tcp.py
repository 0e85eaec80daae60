"""tcpSocket probes: a TCP connect within the timeout, as the kubelet's pkg/probe/tcp."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
from typing import Any

from fastpod.probes.netns import NamespaceError, NetworkNamespace, new_socket
from fastpod.probes.result import ProbeResult


def join_host_port(host: str, port: int) -> str:
    """``host:port``, the host in brackets when it is an IPv6 address (Go's JoinHostPort)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def dial_error(address: str, error: OSError) -> str:
    """Go's wording of a failed dial: ``dial tcp 10.0.0.1:80: connect: connection refused``."""
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    return f"dial tcp {address}: connect: {reason}"


async def resolve(host: str, port: int) -> tuple[int, tuple[Any, ...]]:
    """The address family and socket address of ``host``, looked up when it is a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, _, _, _, address = infos[0]
        return family, address
    if ip.version == 6:
        return socket.AF_INET6, (host, port, 0, 0)
    return socket.AF_INET, (host, port)


async def probe_tcp(
    host: str, port: int, timeout: float, namespace: NetworkNamespace | None = None
) -> ProbeResult:
    """Success when a TCP connection to ``host:port`` opens within ``timeout`` seconds.

    The connection is made from ``namespace`` when given (a pod with its own network).
    """
    address = join_host_port(host, port)
    try:
        async with asyncio.timeout(timeout):
            family, sockaddr = await resolve(host, port)
            connection = new_socket(namespace, family)
            try:
                await asyncio.get_running_loop().sock_connect(connection, sockaddr)
            finally:
                connection.close()
    except NamespaceError as error:
        return ProbeResult("unknown", str(error))
    except TimeoutError:
        return ProbeResult("failure", f"dial tcp {address}: i/o timeout")
    except socket.gaierror:
        return ProbeResult("failure", f"dial tcp: lookup {host}: no such host")
    except OSError as error:
        return ProbeResult("failure", dial_error(address, error))
    return ProbeResult("success", "")
