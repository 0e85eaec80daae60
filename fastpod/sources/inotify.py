"""inotify on the manifest directory: which names may have changed, never what changed.

A maintained binding (inotify_simple) read from the event loop. Creations of regular files
are not reported until the writer closes them, so a half-written manifest is never read;
symlinks and hard links, which have no close, are reported at once.
"""

from __future__ import annotations

import os
import stat
from typing import NamedTuple

from inotify_simple import INotify  # type: ignore[import-untyped]
from inotify_simple import flags as Flags

WATCH_FLAGS = (
    Flags.CREATE
    | Flags.CLOSE_WRITE
    | Flags.MOVED_TO
    | Flags.MOVED_FROM
    | Flags.DELETE
    | Flags.ATTRIB
    | Flags.DELETE_SELF
    | Flags.MOVE_SELF
    | Flags.ONLYDIR
)
_LOST = Flags.IGNORED | Flags.DELETE_SELF | Flags.MOVE_SELF | Flags.UNMOUNT
_LOOK = Flags.CLOSE_WRITE | Flags.MOVED_TO | Flags.MOVED_FROM | Flags.DELETE | Flags.ATTRIB


class WatchBatch(NamedTuple):
    """The hints read at once: names to look at, and whether a full re-list is needed."""

    names: set[str]
    dot_names: bool
    overflow: bool
    lost: bool


class DirectoryWatch:
    """An inotify watch on one directory, non-recursive, read without blocking."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._inotify = INotify(nonblocking=True)
        try:
            self._inotify.add_watch(directory, WATCH_FLAGS)
        except OSError:
            self._inotify.close()
            raise

    def fileno(self) -> int:
        """The descriptor to wait on for readability."""
        descriptor: int = self._inotify.fileno()
        return descriptor

    def read(self) -> WatchBatch:
        """Every event queued now, reduced to the names worth a look."""
        names: set[str] = set()
        created: set[str] = set()
        dot_names = overflow = lost = False
        for event in self._inotify.read(timeout=0):
            mask = event.mask
            if mask & Flags.Q_OVERFLOW:
                overflow = True
            if mask & _LOST:
                lost = True
            if not event.name or mask & Flags.ISDIR:
                continue
            if event.name[0] == ".":
                dot_names = True
            elif mask & _LOOK:
                names.add(event.name)
            elif mask & Flags.CREATE:
                created.add(event.name)
        names.update(name for name in created - names if self._has_no_close(name))
        return WatchBatch(names, dot_names, overflow, lost)

    def close(self) -> None:
        """Stop watching."""
        self._inotify.close()

    def _has_no_close(self, name: str) -> bool:
        try:
            status = os.lstat(os.path.join(self.directory, name))
        except OSError:
            return False
        return stat.S_ISLNK(status.st_mode) or status.st_nlink > 1
