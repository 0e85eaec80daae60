"""systemd's readiness protocol (``sd_notify``): tell the service manager fastpod is up.

With ``Type=notify`` systemd waits for ``READY=1`` before it counts the unit as started;
fastpod sends it once every source has been seen and every pod synced once. Without
systemd (no ``NOTIFY_SOCKET``) this does nothing, so it is always safe to call.
"""

from __future__ import annotations

import os
import socket


def notify(state: str) -> bool:
    """Send ``state`` (``READY=1``, ``STOPPING=1``, ``STATUS=...``); whether it was sent."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or address[0] not in "/@":
        return False
    # a leading @ names a socket in the abstract namespace
    target = "\0" + address[1:] if address[0] == "@" else address
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(state.encode(), target)
    except OSError:
        return False
    return True
