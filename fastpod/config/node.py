"""The node's name, which every static pod's name ends with."""

from __future__ import annotations

import contextlib
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
