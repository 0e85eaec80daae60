"""PURE: how the cluster side waits after a failed call, and when a failure is worth a log
line.

The kubelet retries registration after 100 ms, doubling to 7 s (``registerWithAPIServer``),
and ensures its lease after 200 ms doubling to 7 s (``backoffEnsureLease``); its status
and lease loops retry at their next tick. A streak of failures (the API server down for a
minute) is logged once, when it starts, and once when it ends, not at every retry.
"""

from __future__ import annotations

from dataclasses import dataclass

REGISTER_INITIAL = 0.1
RETRY_MAX = 7.0


@dataclass(slots=True)
class Streak:
    """The failures of one kind of call since its last success."""

    initial: float = REGISTER_INITIAL
    maximum: float = RETRY_MAX
    failures: int = 0

    def failed(self) -> float:
        """Record a failure: the seconds to wait before trying again."""
        self.failures += 1
        return float(min(self.initial * 2.0 ** (self.failures - 1), self.maximum))

    @property
    def first(self) -> bool:
        """The failure just recorded began a streak: log it."""
        return self.failures == 1

    def succeeded(self) -> int:
        """Record a success: how many failures it ends (0: there was no streak)."""
        ended, self.failures = self.failures, 0
        return ended
