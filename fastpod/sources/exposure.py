"""Who else can write the manifests: anyone who can is root on the node.

A static pod may be privileged, mount the host's ``/`` and share its namespaces, and
nothing (no API server, no admission) stands between the file and the runtime: whoever can
write a manifest, or put one in the manifest directory, or replace that directory, runs
what they like as root. The kubelet says nothing of it; fastpod warns, once per path and
state, naming the path, its mode and owner, the way OpenSSH's ``StrictModes`` judges a
key's path:

- a manifest file or the manifest directory writable by every user, or by a group other
  than root's (group root is the administrators' already), or owned by another user than
  root or the one fastpod runs as (its owner can make it writable);
- a directory above it that such a user could write without the sticky bit: they could
  rename the manifest directory away and put their own in its place. With the sticky bit
  (``/tmp``) only the owner of an entry can rename it, and that owner is checked in turn.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat

from fastpod import logs

REASON = "anyone who can write here can run privileged containers as root on this node"


def exposure(mode: int, uid: int, gid: int, me: int, *, sticky_protects: bool = False) -> str:
    """PURE: how a path with ``mode``, ``uid`` and ``gid`` lets users other than root and
    ``me`` write it ("" when it does not). ``sticky_protects``: a directory above the
    manifests, where the sticky bit keeps others from renaming what they do not own."""
    guarded = sticky_protects and bool(mode & stat.S_ISVTX)
    if mode & stat.S_IWOTH and not guarded:
        return "writable by every user"
    if mode & stat.S_IWGRP and gid != 0 and not guarded:
        return f"writable by group {gid}"
    if uid not in (0, me):
        return f"owned by user {uid}"
    return ""


class ExposureCheck:
    """Warns about manifest paths others can write: once per path, again if its mode or
    owner changes and it is still exposed."""

    def __init__(self, me: int | None = None) -> None:
        self.me = os.geteuid() if me is None else me
        self._said: dict[str, tuple[int, int, int]] = {}

    def file(self, path: str, status: os.stat_result) -> None:
        """A manifest file (its target, when it is a symlink)."""
        self._judge(path, status, what="manifest file")

    def path(self, path: str) -> None:
        """The manifest path (a directory, or a single file) and every directory above it,
        above the symlink as well as above its target."""
        absolute = os.path.abspath(path)
        above = set()
        for start in (absolute, os.path.realpath(absolute)):
            while (parent := os.path.dirname(start)) != start:
                above.add(parent)
                start = parent
        for directory in sorted(above):
            self._stat_and_judge(directory, what="directory above the manifests", sticky=True)
        self._stat_and_judge(path, what="manifest path")

    def _stat_and_judge(self, path: str, *, what: str, sticky: bool = False) -> None:
        try:
            status = os.stat(path)
        except OSError:
            return  # a missing path is said elsewhere (the watcher waits for it)
        self._judge(path, status, what=what, sticky=sticky)

    def _judge(self, path: str, status: os.stat_result, *, what: str, sticky: bool = False) -> None:
        state = (status.st_mode, status.st_uid, status.st_gid)
        if self._said.get(path) == state:
            return
        how = exposure(*state, self.me, sticky_protects=sticky)
        if not how:
            self._said.pop(path, None)
            return
        self._said[path] = state
        logs.emit(
            "manifest path writable by others",
            level="warning",
            path=path,
            kind=what,
            mode=f"{stat.S_IMODE(status.st_mode):04o} ({stat.filemode(status.st_mode)})",
            owner=f"{_user(status.st_uid)}:{_group(status.st_gid)}",
            problem=how,
            reason=REASON,
        )


def _user(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} ({uid})"
    except KeyError:
        return str(uid)


def _group(gid: int) -> str:
    try:
        return f"{grp.getgrgid(gid).gr_name} ({gid})"
    except KeyError:
        return str(gid)
