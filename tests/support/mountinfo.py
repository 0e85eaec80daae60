"""The mounts a process sees, read from ``/proc/<pid>/mountinfo``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastpod.runtime.tmpfs import unmount

_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountEntry:
    """One line of mountinfo: where, what file system, and its options."""

    mount_point: str
    fs_type: str
    mount_options: frozenset[str]
    """Per-mount options (``rw``, ``ro``, ``relatime``)."""
    super_options: dict[str, str]
    """The file system's options (``size`` of a tmpfs in KiB with a ``k``, ``mode``)."""


def mounts(pid: int | str = "self") -> list[MountEntry]:
    """Every mount process ``pid`` sees, in mount order."""
    entries = []
    with open(f"/proc/{pid}/mountinfo") as lines:
        for line in lines:
            before, _, after = line.rstrip("\n").partition(" - ")
            fields, rest = before.split(" "), after.split(" ")
            options = {}
            for option in rest[2].split(","):
                key, _, value = option.partition("=")
                options[key] = value
            entries.append(
                MountEntry(
                    mount_point=_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), fields[4]),
                    fs_type=rest[0],
                    mount_options=frozenset(fields[5].split(",")),
                    super_options=options,
                )
            )
    return entries


def mounted_at(path: str, pid: int | str = "self") -> list[MountEntry]:
    """The mounts at ``path`` (the last one is what is seen there), for process ``pid``."""
    return [entry for entry in mounts(pid) if entry.mount_point == path]


def unmount_under(directory: str) -> None:
    """Unmount whatever is mounted below ``directory`` in this namespace, deepest first:
    what a test's pods left (fastpod leaves its pods and their volumes when it stops)."""
    for entry in reversed(mounts()):
        if entry.mount_point.startswith(f"{directory}/"):
            unmount(entry.mount_point)
