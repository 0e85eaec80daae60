"""Process exits seen the moment they happen, through pidfds, for runtimes without events.

containerd 1.6 has no CRI event stream; listing its containers to find deaths costs a
call per period and adds up to a period of delay to every restart. A pidfd (Linux 5.3)
of a container's process becomes readable when that process exits, whoever its parent
is: the event loop hears of the death at once, for one file descriptor per container.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from typing import Literal

Watched = Literal["watching", "gone", "unwatchable"]


class ExitWatch:
    """Calls ``on_exit(key)`` once when the process watched under ``key`` has exited."""

    def __init__(self, on_exit: Callable[[str], None]) -> None:
        self._on_exit = on_exit
        self._watched: dict[str, int] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._watched

    def watch(self, key: str, pid: int) -> Watched:
        """Watch ``pid`` under ``key``: ``gone`` if it has exited already, ``unwatchable``
        without pidfds (an old kernel, no file descriptors left: the relist still tells)."""
        if key in self._watched:
            return "watching"
        try:
            descriptor = os.pidfd_open(pid)
        except ProcessLookupError:
            return "gone"
        except (OSError, AttributeError):
            return "unwatchable"
        self._watched[key] = descriptor
        asyncio.get_running_loop().add_reader(descriptor, self._exited, key)
        return "watching"

    def forget(self, key: str) -> None:
        """Stop watching ``key`` (its container was removed)."""
        descriptor = self._watched.pop(key, None)
        if descriptor is not None:
            asyncio.get_running_loop().remove_reader(descriptor)
            os.close(descriptor)

    def close(self) -> None:
        """Stop watching everything."""
        for key in list(self._watched):
            with contextlib.suppress(RuntimeError):
                self.forget(key)

    def _exited(self, key: str) -> None:
        self.forget(key)
        self._on_exit(key)
