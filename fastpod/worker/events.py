"""The recent events of a worker's pods, as ``kubectl describe`` shows them.

The kubelet records events in the API server; fastpod has none, so each worker keeps the
last few thousand in one ring. Memory stays bounded however many pods there are, and
``fastpod inspect`` picks a pod's events out of it. Every event is also a line of
fastpod's log: one call says both. With a kubeconfig, each is also handed to
:attr:`PodEvents.forward`, which sends it to the cluster process to be written to the API
server as the kubelet writes its events (``fastpod/worker/cluster_events.py``).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Literal

import msgspec

from fastpod import logs
from fastpod.metrics import recorder
from fastpod.runtime.base import RuntimeCallError
from fastpod.status.types import rfc3339
from fastpod.worker.streaks import QUIET_NOTE, Streaks, runtime_cause

EventType = Literal["Normal", "Warning"]
RING_SIZE = 1024
"""Events kept per worker: the recent history of the pods that are busy."""

_Entry = tuple[float, str, EventType, str, str]
"""time, pod key, type, reason, message: a plain tuple, a fraction of a Struct's size."""

Forward = Callable[[str, float, EventType, str, str, str | None], None]
"""Told each event as it is recorded: pod key, time, type, reason, message, container."""


class PodEvent(msgspec.Struct, frozen=True, gc=False):
    """One thing that happened to a pod: the kubelet's event reason and message."""

    time: str
    type: EventType
    reason: str
    message: str


class PodEvents:
    """The last :data:`RING_SIZE` events of this worker's pods, oldest first."""

    def __init__(self, size: int = RING_SIZE) -> None:
        self._events: collections.deque[_Entry] = collections.deque(maxlen=size)
        self.forward: Forward | None = None
        """Where events go beyond the ring (the cluster process), with a kubeconfig."""
        self.failures = Streaks()
        """Each pod's streak of failed syncs and runtime calls, said once per cause: the
        pod loop ends it when the pod syncs (:mod:`fastpod.worker.streaks`)."""

    def record(
        self,
        pod_key: str,
        reason: str,
        message: str,
        event_type: EventType = "Normal",
        container: str | None = None,
    ) -> None:
        """Note that ``reason`` happened to the pod ``pod_key`` (to its ``container``) now."""
        now = time.time()
        self._events.append((now, pod_key, event_type, reason, message))
        if self.forward is not None:
            self.forward(pod_key, now, event_type, reason, message, container)

    def of(self, pod_key: str) -> list[PodEvent]:
        """The events of one pod still in the ring, oldest first."""
        return [
            PodEvent(rfc3339(moment), event_type, reason, message)
            for moment, key, event_type, reason, message in self._events
            if key == pod_key
        ]

    def emit(
        self,
        pod_key: str,
        event: str,
        event_reason: str,
        message: str,
        event_type: EventType = "Normal",
        *,
        level: str | None = None,
        logged: bool = True,
        **fields: object,
    ) -> None:
        """Log a decision about a pod (``event`` with ``fields``) and keep it as its event
        (``event_reason``: the kubelet's event reason, ``Started``, ``BackOff``, ...).

        ``logged=False`` keeps the event (and forwards it) without the log line: a failure
        repeated at every sync is logged once, while its event, the same one each time,
        is kept at every sync as the kubelet records it.
        """
        if logged:
            if level is None:
                level = "info" if event_type == "Normal" else "warning"
            logs.emit(event, level=level, pod=pod_key, **fields)
        container = fields.get("container")
        self.record(
            pod_key,
            event_reason,
            message,
            event_type,
            container if isinstance(container, str) else None,
        )

    def runtime_failed(self, pod_key: str, error: RuntimeCallError) -> None:
        """A runtime call for the pod failed: the kubelet's ``FailedSync``, and counted;
        logged once per streak and cause (a runtime that is down fails every sync of every
        pod until it is back)."""
        recorder.count("fastpod_runtime_call_errors_total")
        self.emit(
            pod_key,
            "runtime call failed",
            "FailedSync",
            str(error),
            "Warning",
            level="error",
            logged=self.failures.failed(pod_key, runtime_cause(error)),
            error=str(error),
            note=QUIET_NOTE,
        )
