"""Failures said once per streak: the first of a streak, and the first after its reason
changed, are logged; the rest are only counted; the streak's end is said with its count.

A failure that lasts is met again at every retry: a pod whose log directory is on a full
disk (``ENOSPC``) or whose runtime is down fails every sync, a container that cannot be
created waits again at every sync, a record the host will not write fails every resync
period. A line per retry would bury the one that matters, so fastpod says each streak
once, naming its cause, as it says the manifest URL's failures (:mod:`fastpod.sources.url`).
A pod's ``FailedSync`` event is kept at every failure all the same, as the kubelet records
one per failed sync.
"""

from __future__ import annotations

from collections.abc import Hashable

from fastpod.logs import errno_name
from fastpod.runtime.base import RuntimeCallError, RuntimeUnavailable

QUIET_NOTE = "further failures of this pod for the same reason are not logged until it syncs"


class Streaks:
    """By subject (a pod key; a container's name, for the streaks of one pod's containers),
    the reason of its current streak of failures and its count."""

    def __init__(self) -> None:
        self._streaks: dict[str, tuple[Hashable, int]] = {}

    def failed(self, subject: str, reason: Hashable) -> bool:
        """Count a failure of ``subject`` for ``reason``; whether to say it (a new streak,
        or a new reason within one)."""
        before, count = self._streaks.get(subject, (None, 0))
        self._streaks[subject] = (reason, count + 1)
        return count == 0 or reason != before

    def succeeded(self, subject: str) -> int:
        """End the streak of ``subject``, if any; how many failures it had (0: none)."""
        streak = self._streaks.pop(subject, None)
        return 0 if streak is None else streak[1]


def host_refusal(error: OSError) -> tuple[str, str]:
    """The cause of a file the host refused: the errno by name and the path."""
    return errno_name(error), str(error.filename or "")


def runtime_cause(error: RuntimeCallError) -> str:
    """What a failed runtime call says went wrong: a runtime that does not answer is one
    cause whichever call met it; any other failure is its message."""
    return "runtime unavailable" if isinstance(error, RuntimeUnavailable) else str(error)
