"""PURE: when a container's log is rotated, and what happens to its files then.

The kubelet's container log manager (``pkg/kubelet/logs/container_log_manager.go``), for a
CRI runtime, which writes each container's log where the kubelet says and reopens it when
asked: every ``containerLogMonitorInterval`` (10 s) the log of each running container is
looked at; one of ``containerLogMaxSize`` (10Mi) or more is rotated. A rotation removes
what an interrupted one left (``.tmp`` files, files already compressed), removes the
oldest rotated files until ``containerLogMaxFiles - 2`` remain, compresses those still
plain with gzip, renames the log to ``<log>.<YYYYmmdd-HHMMSS>`` (left plain, so a reader
can finish it) and asks the runtime to reopen it (``ReopenContainerLog``). A container thus
keeps at most ``containerLogMaxFiles`` files: its current log and ``MaxFiles - 1`` rotated.

Docker rotates its own json-file logs: the same limits go to it as the ``max-size`` and
``max-file`` log options of each container (:func:`docker_log_options`).
"""

from __future__ import annotations

import time
from collections.abc import Collection

import msgspec

TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
"""A rotated log's suffix, in local time, as the kubelet's ``timestampFormat``."""

COMPRESSED = ".gz"
TEMPORARY = ".tmp"


class RotationPolicy(msgspec.Struct, frozen=True):
    """The kubelet's ``LogRotatePolicy``."""

    max_size: int
    """Bytes a log may reach before it is rotated; negative: never rotated."""
    max_files: int
    """Files a container keeps, its current log included (2 or more)."""

    @property
    def enabled(self) -> bool:
        """Whether logs are rotated at all."""
        return self.max_size >= 0


class Rotation(msgspec.Struct, frozen=True):
    """What one rotation of a log does, in order; names are within the log's directory."""

    remove: tuple[str, ...]
    """Leftovers of an interrupted rotation, then the oldest rotated files beyond the limit."""
    compress: tuple[str, ...]
    """Rotated files still plain: each becomes ``<name>.gz``, and the plain one goes."""
    rotated: str
    """The name the current log takes before the runtime reopens it."""


def rotation_due(size: int, policy: RotationPolicy) -> bool:
    """Whether a log of ``size`` bytes is to be rotated now."""
    return policy.enabled and size >= policy.max_size


def plan_rotation(
    log: str, names: Collection[str], policy: RotationPolicy, now: float
) -> Rotation | None:
    """The rotation of the log named ``log`` at ``now``, its directory holding ``names``.

    None when the name it would get is taken (rotated within the same second already):
    the next look rotates it, rather than overwriting a rotated file.
    """
    prefix = f"{log}."
    files = {name for name in names if name.startswith(prefix)}
    unused = {
        name
        for name in files
        if name.endswith(TEMPORARY)
        or (not name.endswith(COMPRESSED) and f"{name}{COMPRESSED}" in files)
    }
    in_use = sorted(files - unused)  # the timestamps sort oldest first
    # room for the file being rotated now and the one the runtime opens next
    excess = in_use[: max(0, len(in_use) - max(0, policy.max_files - 2))]
    kept = in_use[len(excess) :]
    rotated = f"{log}.{time.strftime(TIMESTAMP_FORMAT, time.localtime(now))}"
    if rotated in files or f"{rotated}{COMPRESSED}" in files:
        return None
    return Rotation(
        remove=(*sorted(unused), *excess),
        compress=tuple(name for name in kept if not name.endswith(COMPRESSED)),
        rotated=rotated,
    )


def docker_log_options(policy: RotationPolicy) -> dict[str, str]:
    """The json-file driver's options that rotate as ``policy`` says (none when it is off):
    ``max-size`` in bytes, ``max-file`` the files kept, the current one included."""
    if not policy.enabled:
        return {}
    # json-file refuses a max-size of 0 with max-file; the kubelet would rotate at every look
    return {"max-size": str(max(1, policy.max_size)), "max-file": str(policy.max_files)}
