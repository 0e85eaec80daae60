"""The static pods the workers report to the cluster process, as the mirror pods need them.

Each worker reports the pods it owns (:class:`~fastpod.ipc.messages.StaticPodReported`),
their statuses when they change (:class:`~fastpod.ipc.messages.PodStatusReported`), and,
once every source has been seen, every pod key it holds
(:class:`~fastpod.ipc.messages.PodsReported`): only when every worker has said so is a
mirror without a static pod an orphan, as the kubelet deletes orphaned mirror pods only
once its sources are ready (``HandlePodCleanups``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from fastpod.ipc.messages import Message, PodsReported, PodStatusReported, StaticPodReported

Object = dict[str, Any]


@dataclass(slots=True)
class StaticPod:
    """One static pod as its worker reported it."""

    worker: int
    pod: Object
    """Its metadata (with the config hash) and spec, as ``/pods`` serves them."""
    status: Object | None = None
    """Its status as ``/pods`` serves it, once reported for this pod's UID."""

    @property
    def uid(self) -> str:
        return str((self.pod.get("metadata") or {}).get("uid") or "")


class ReportedPods:
    """Every static pod the workers reported, by ``namespace/name``."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.pods: dict[str, StaticPod] = {}
        self._complete: set[int] = set()
        """Workers that named every pod they hold."""
        self._statuses: dict[str, tuple[str, Object]] = {}
        """Statuses reported before their pod (by key: the UID and the status)."""
        self.changed: Callable[[str], None] = lambda key: None
        """Told each key whose pod or status changed (the mirror pods' reconciler)."""
        self.completed: Callable[[], None] = lambda: None
        """Told when the pods became :attr:`complete` (orphans can be told apart)."""

    @property
    def complete(self) -> bool:
        """Every worker has named the pods it holds: what is not here is no static pod."""
        return len(self._complete) >= self.workers

    def take(self, message: Message) -> bool:
        """Take ``message`` if it is a report (whether it was)."""
        if isinstance(message, StaticPodReported):
            self._pod(message)
        elif isinstance(message, PodStatusReported):
            self._status(message)
        elif isinstance(message, PodsReported):
            self._held(message)
        else:
            return False
        return True

    def _pod(self, message: StaticPodReported) -> None:
        key = message.pod_key
        if not message.pod:
            if self.pods.pop(key, None) is not None:
                self.changed(key)
            self._statuses.pop(key, None)
            return
        pod: Object = msgspec.json.decode(message.pod)
        pod.pop("status", None)
        held = StaticPod(message.worker, pod)
        early = self._statuses.get(key)
        previous = self.pods.get(key)
        if early is not None and early[0] == held.uid:
            held.status = early[1]
        elif previous is not None and previous.uid == held.uid:
            held.status = previous.status
        self.pods[key] = held
        self.changed(key)

    def _status(self, message: PodStatusReported) -> None:
        key = message.pod_key
        status: Object = msgspec.json.decode(message.status)
        held = self.pods.get(key)
        if held is None or held.uid != message.uid:
            self._statuses[key] = (message.uid, status)
            return
        self._statuses.pop(key, None)
        held.status = status
        self.changed(key)

    def _held(self, message: PodsReported) -> None:
        named = set(message.pod_keys)
        for key in [k for k, pod in self.pods.items() if pod.worker == message.worker]:
            if key not in named:
                del self.pods[key]
                self.changed(key)
        was_complete = self.complete
        self._complete.add(message.worker)
        if self.complete and not was_complete:
            self.completed()
