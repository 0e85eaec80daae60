"""Per pod, the streak of syncs the host refused: a file or directory the pod needs that
cannot be made (its log directory on a full disk, ``ENOSPC``).

Such a sync is tried again at every resync, as the kubelet retries a sandbox whose log
directory it cannot make; a disk that stays full would then log a line per pod every
resync. So each streak is said once, when it starts (or its error changes: another path,
another errno), naming the path and the errno by name; the rest of it only counts; its end
is said with how many syncs it cost. The pod's ``FailedSync`` event is kept at every
failure, as the kubelet records one per failed sync.
"""

from __future__ import annotations

from fastpod.logs import errno_name

QUIET_NOTE = "further failures of this pod for the same reason are not logged until it syncs"


class SyncFailures:
    """The current streak of each pod that has one: what failed, and how many times."""

    def __init__(self) -> None:
        self._streaks: dict[str, tuple[tuple[str, str], int]] = {}

    def failed(self, key: str, error: OSError) -> bool:
        """Count a failed sync of the pod ``key``; whether to log it (a new streak, or a new
        reason within one)."""
        reason = (errno_name(error), str(error.filename or ""))
        before, count = self._streaks.get(key, (None, 0))
        self._streaks[key] = (reason, count + 1)
        return reason != before

    def succeeded(self, key: str) -> int:
        """End the pod's streak, if any; how many failed syncs it had (0: none)."""
        streak = self._streaks.pop(key, None)
        return 0 if streak is None else streak[1]
