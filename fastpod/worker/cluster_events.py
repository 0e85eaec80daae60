"""A worker's pod events, sent to the cluster process (only with a kubeconfig), which writes
them to the API server as the kubelet's Events about the static pod.

Each event recorded (:attr:`fastpod.worker.events.PodEvents.forward`) names its pod's
namespace, name and UID and, for a container's event, the container's place in the spec
(``spec.containers{web}``), as the kubelet's object reference does. The events of one turn
of the event loop go as one frame. Nothing here waits: while the cluster process does not
read (being restarted), frames queue in the worker's outbox, and past
:data:`PENDING_MAX` the events are dropped and counted instead, so a worker's memory stays
bounded however long the cluster process is away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from fastpod import logs
from fastpod.cluster.events import field_path
from fastpod.ipc.messages import Message, PodEventReported
from fastpod.metrics import recorder
from fastpod.model import Pod
from fastpod.worker.desired import DesiredPods
from fastpod.worker.events import EventType
from fastpod.worker.pod_loop import PodRunner

PENDING_MAX = 200
"""Frames queued for the cluster process past which events are dropped."""


class Channel(Protocol):
    """The worker's :class:`~fastpod.ipc.channels.Outbox` to the cluster process."""

    @property
    def pending(self) -> int: ...

    def send(self, messages: Sequence[Message]) -> None: ...


class ClusterEvents:
    """Sends one worker's pod events to the cluster process."""

    def __init__(self, runner: PodRunner, desired: DesiredPods, outbox: Channel) -> None:
        self.runner = runner
        self.desired = desired
        self.outbox = outbox
        self._batch: list[Message] = []
        self._dropped = 0

    def forward(
        self,
        pod_key: str,
        moment: float,
        event_type: EventType,
        reason: str,
        message: str,
        container: str | None,
    ) -> None:
        """Send the event (with this turn's others) to the cluster process."""
        pod = self._pod(pod_key)
        if pod is None:
            return  # nothing names the pod any more: its events have no object
        meta = pod.metadata
        init = bool(container) and any(c.name == container for c in pod.spec.init_containers or [])
        self._batch.append(
            PodEventReported(
                namespace=meta.namespace or "default",
                name=meta.name or "",
                uid=meta.uid or "",
                field_path=field_path(container, init),
                event_type=event_type,
                reason=reason,
                message=message,
                time=moment,
            )
        )
        if len(self._batch) == 1:
            asyncio.get_running_loop().call_soon(self._flush)

    def _pod(self, pod_key: str) -> Pod | None:
        """The pod the event is about: the one its loop runs, or the one wanted."""
        loop = self.runner.loops.get(pod_key)
        if loop is not None and (loop.running or loop.desired) is not None:
            return loop.running or loop.desired
        held = self.desired.pods.get(pod_key)
        return held.pod if held is not None else None

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        if self.outbox.pending < PENDING_MAX:
            if self._dropped:
                logs.emit("pod events sent again", dropped=self._dropped)
                self._dropped = 0
            self.outbox.send(batch)
            return
        if not self._dropped:
            logs.emit(
                "pod events dropped",
                level="warning",
                note="the cluster process does not read its socket; counted until it does",
            )
        self._dropped += len(batch)
        recorder.count("fastpod_events_dropped_total", len(batch), reason="cluster process away")
