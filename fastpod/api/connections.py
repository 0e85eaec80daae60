"""How many connections a server of fastpod keeps open, and which one gives way to a new one.

Every connection holds a file descriptor of the supervisor, which also needs them for its
children, their sockets and its files. Unbounded, a few thousand clients that connect and
send nothing (slowloris) took every descriptor a systemd service has by default (1,024),
and ``/healthz`` and ``/pods`` stopped answering. So each server keeps at most
:func:`connection_limit` connections; when one more comes, the connection that has waited
longest for a request gives way if it has waited :data:`SLOW` seconds or more (a client
that sends its request at once never waits that long); when none has, the new one is
answered 503 and closed.

At start the supervisor raises its soft limit of open files to the hard one
(:func:`raise_open_files_limit`), as every Go program does since Go 1.19, the kubelet among
them: the limit systemd gives a service (1,024 soft, 524,288 hard) is otherwise low for a
node agent.
"""

from __future__ import annotations

import resource
from collections.abc import Hashable
from typing import Generic, TypeVar

MAX_CONNECTIONS = 1024
"""The most connections one server keeps open, whatever the limit of open files."""
SLOW = 1.0
"""Seconds a connection may wait for a request before a new connection may replace it."""

Key = TypeVar("Key", bound=Hashable)


def raise_open_files_limit() -> int:
    """Raise the soft limit of open files to the hard limit; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft >= hard:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (OSError, ValueError):
        return soft
    return hard


def connection_limit() -> int:
    """How many connections one server may keep: an eighth of the open-file limit (the
    supervisor runs two servers and needs descriptors of its own), at most
    :data:`MAX_CONNECTIONS`, at least 16."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(16, min(MAX_CONNECTIONS, soft // 8))


class Connections(Generic[Key]):
    """The open connections of one server: since when each waits for a request (None
    while it is answered)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: dict[Key, float | None] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def admit(self, connection: Key, now: float) -> tuple[bool, Key | None]:
        """Whether ``connection``, just accepted at ``now``, may stay, and the connection
        that gives way to it (to be closed by the caller), if one must."""
        evicted = None
        if len(self._waiting) >= self.limit:
            waiting = [(since, key) for key, since in self._waiting.items() if since is not None]
            if not waiting:
                return False, None
            since, evicted = min(waiting, key=lambda pair: pair[0])
            if now - since < SLOW:
                return False, None
            del self._waiting[evicted]
        self._waiting[connection] = now
        return True, evicted

    def reading(self, connection: Key, now: float) -> None:
        """``connection`` waits for its next request from ``now`` on."""
        if connection in self._waiting:
            self._waiting[connection] = now

    def answering(self, connection: Key) -> None:
        """``connection`` has sent its request and is being answered."""
        if connection in self._waiting:
            self._waiting[connection] = None

    def closed(self, connection: Key) -> None:
        self._waiting.pop(connection, None)
