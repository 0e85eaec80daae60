"""The node's name, which every static pod's name ends with."""

from __future__ import annotations

import socket


def node_name(override: str | None = None) -> str:
    """``--hostname-override`` or the host name, trimmed and lowercased as the kubelet does."""
    name = (override if override else socket.gethostname()).strip().lower()
    if not name:
        raise ValueError("the node name is empty: set --hostname-override")
    return name
