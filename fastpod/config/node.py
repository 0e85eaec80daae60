"""What fastpod knows of the node: its name (which every static pod's name ends with), its
address, and what it can give its pods."""

from __future__ import annotations

import contextlib
import os
import socket


def node_name(override: str | None = None) -> str:
    """``--hostname-override`` or the host name, trimmed and lowercased as the kubelet does."""
    name = (override if override else socket.gethostname()).strip().lower()
    if not name:
        raise ValueError("the node name is empty: set --hostname-override")
    return name


def host_ip() -> str:
    """The node's address for ``status.hostIP``: the source address of its default route.

    No packet is sent: connecting a UDP socket only asks the kernel which address it would
    use. A node without a route has only loopback.
    """
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))
        address: str = probe.getsockname()[0]
        return address
    return "127.0.0.1"


EVICTION_HARD_MEMORY = 100 * 1024 * 1024
"""The kubelet's default hard eviction threshold ``memory.available<100Mi``, which its
allocatable memory leaves out."""

EVICTION_HARD_NODEFS_PERCENT = 10
"""The kubelet's default ``nodefs.available<10%``, which its allocatable storage leaves out."""


def allocatable_memory(meminfo: str = "/proc/meminfo") -> int | None:
    """The node's allocatable memory in bytes as the kubelet reports it with nothing
    reserved: its ``MemTotal`` less the default hard eviction threshold. None when the
    kernel does not say."""
    with contextlib.suppress(OSError, ValueError), open(meminfo) as lines:
        for line in lines:
            if line.startswith("MemTotal:"):
                return max(0, int(line.split()[1]) * 1024 - EVICTION_HARD_MEMORY)
    return None


def allocatable_cpu_millis() -> int | None:
    """The node's allocatable CPU in millicores: every CPU, none reserved."""
    count = os.cpu_count()
    return None if count is None else count * 1000


def allocatable_ephemeral_storage(root_dir: str) -> int | None:
    """The node's allocatable ephemeral storage in bytes: the capacity of the file system
    holding the root directory (or its nearest existing parent) less the default hard
    eviction threshold."""
    path = os.path.abspath(root_dir)
    while not os.path.exists(path) and path != os.path.dirname(path):
        path = os.path.dirname(path)
    try:
        stats = os.statvfs(path)
    except OSError:
        return None
    capacity = stats.f_blocks * stats.f_frsize
    return capacity - capacity * EVICTION_HARD_NODEFS_PERCENT // 100
