"""The pod names no loop may start a pod under yet, because another agent's pod holds them.

From the first listing until the foreign pods are sorted out (:mod:`fastpod.worker.takeover`)
a name a kubelet's static pod runs under is held: fastpod starting its own copy there would
run two at once. Taking over releases it once the old pod is adopted or gone; with taking
over off, the name stays held (refused, with the reason) while the foreign pod runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator


class NameHolds:
    """Held pod names (``namespace/name``), each with the reason it is refused, if it is."""

    def __init__(self, wake: Callable[[str], None]) -> None:
        self._held: dict[str, str | None] = {}
        self._wake = wake
        """Wakes the loop of a name, if it has one: its hold changed."""

    def hold(self, keys: Iterable[str]) -> None:
        """Hold these names until released."""
        for key in keys:
            self._held.setdefault(key, None)

    def refuse(self, key: str, reason: str) -> None:
        """Hold the name for good, saying why (until released)."""
        self._held[key] = reason
        self._wake(key)

    def release(self, key: str) -> None:
        """Let a pod start under the name."""
        if key in self._held:
            del self._held[key]
            self._wake(key)

    def refusal(self, key: str) -> str | None:
        """Why the name is refused; None when it is not (held or free)."""
        return self._held.get(key)

    def refused(self) -> list[str]:
        """The names refused."""
        return [key for key, reason in self._held.items() if reason is not None]

    def __contains__(self, key: object) -> bool:
        return key in self._held

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._held))
