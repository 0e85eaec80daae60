"""PURE: the kubelet's back-off for crash loops and image pulls (client-go ``flowcontrol``).

The first failure is retried at once; each later one waits ``initial`` seconds, doubling up
to ``maximum``; an entry not touched for ``reset_after`` seconds starts over. Times are
plain seconds passed in by the caller: nothing here reads a clock. The three durations are
the caller's too (Config's ``backoff_*``, whose defaults are the kubelet's), so no setting
is decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class _Entry:
    delay: float
    last_update: float


@dataclass(slots=True)
class BackOff:
    """Per-key delays: ``initial`` doubling to ``maximum``, reset after ``reset_after``."""

    initial: float
    maximum: float
    reset_after: float
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def waiting_until(self, key: str, failed_at: float, now: float) -> float | None:
        """When the retry of a failure at ``failed_at`` may happen, if that is after ``now``."""
        entry = self._entries.get(key)
        if entry is None or failed_at - entry.last_update > self.reset_after:
            return None
        retry_at = failed_at + entry.delay
        return retry_at if now < retry_at else None

    def retried(self, key: str, failed_at: float, now: float) -> None:
        """Record a retry of a failure at ``failed_at``: the next one waits longer."""
        entry = self._entries.get(key)
        if entry is None or failed_at - entry.last_update > self.reset_after:
            self._entries[key] = _Entry(min(self.initial, self.maximum), now)
            return
        entry.delay = min(entry.delay * 2, self.maximum)
        entry.last_update = now

    def delay(self, key: str) -> float | None:
        """The wait the next failure of ``key`` will get, if it has failed before."""
        entry = self._entries.get(key)
        return entry.delay if entry else None

    def forget(self, prefix: str) -> None:
        """Drop every entry whose key starts with ``prefix`` (a pod that is gone)."""
        for key in [key for key in self._entries if key.startswith(prefix)]:
            del self._entries[key]
