"""What a worker tells the cluster process about its pods (only with a kubeconfig): each
static pod it owns and its status, for the pod's mirror on the API server.

Cheap by construction: a pod loop's sync or a change of the desired pods only marks the
pod's key; a timer a moment later (``COALESCE``) looks at the marked keys alone, computes
their status as ``/pods`` does, and sends what differs from what was sent last (the pod
object compared by identity, the status by a hash of its JSON). A burst of syncs of one pod
is one look, an unchanged status nothing. Each message states the present, so a cluster
process started again is simply told everything again (:class:`~fastpod.ipc.messages.ReportAll`).

The channel is the worker's one :class:`~fastpod.ipc.channels.Outbox` to ``cluster.sock``:
other reports to the cluster process (events) go through :meth:`ClusterReports.send`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import msgspec

from fastpod.ipc.channels import Outbox
from fastpod.ipc.messages import Message, PodsReported, PodStatusReported, StaticPodReported
from fastpod.model import Pod
from fastpod.status.api_view import as_served
from fastpod.worker.desired import DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.reports import served_status

COALESCE = 0.1
"""Seconds between a pod being marked and its report: a pod's burst of syncs (a start is
several) is looked at once."""

_encoder = msgspec.json.Encoder()


class ClusterReports:
    """The reports of one worker's pods to the cluster process."""

    def __init__(self, index: int, runner: PodRunner, desired: DesiredPods, outbox: Outbox) -> None:
        self.index = index
        self.runner = runner
        self.desired = desired
        self.outbox = outbox
        self._pods: dict[str, Pod] = {}
        """The pod object last reported under each key (held by the desired pods anyway)."""
        self._statuses: dict[str, tuple[str, int]] = {}
        """The UID and the hash of the status JSON last reported under each key."""
        self._marked: set[str] = set()
        self._seen = False
        """Every source has been seen."""
        self._name_held = False
        """The next report ends naming every pod held."""
        self._timer: asyncio.TimerHandle | None = None

    def send(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` to the cluster process now (queued while it is down)."""
        self.outbox.send(messages)

    def mark(self, key: str) -> None:
        """The pod under ``key`` may have changed (added, updated, removed, synced)."""
        self._marked.add(key)
        self._schedule()

    def all_seen(self) -> None:
        """Every source has been seen: say which pods this worker holds, after them."""
        self._seen = self._name_held = True
        self.mark_all()

    def resend(self) -> None:
        """The cluster process started again: report everything as if never reported."""
        self._pods.clear()
        self._statuses.clear()
        self._name_held = self._seen
        self.mark_all()

    def mark_all(self) -> None:
        """Every pod held or last reported may have changed."""
        self._marked.update(self.desired.pods)
        self._marked.update(self._pods)
        self._schedule()

    def _schedule(self) -> None:
        """Report the marked pods a moment from now, unless a report is already due."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(COALESCE, self.report)

    def report(self) -> None:
        """Send what changed among the marked pods (and the pods held, once all is seen)."""
        self._timer = None
        marked, self._marked = self._marked, set()
        messages: list[Message] = []
        now = time.time()
        for key in marked:
            held = self.desired.pods.get(key)
            if held is None:
                if self._pods.pop(key, None) is not None:
                    self._statuses.pop(key, None)
                    messages.append(StaticPodReported(self.index, key, b""))
                continue
            pod = held.pod
            if self._pods.get(key) is not pod:
                self._pods[key] = pod
                messages.append(StaticPodReported(self.index, key, _encoder.encode(as_served(pod))))
            uid = pod.metadata.uid or ""
            status = _encoder.encode(served_status(self.runner, pod, now))
            sent = (uid, hash(status))
            if self._statuses.get(key) != sent:
                self._statuses[key] = sent
                messages.append(PodStatusReported(self.index, key, uid, status))
        if self._name_held:
            self._name_held = False
            messages.append(PodsReported(self.index, tuple(self.desired.pods)))
        self.outbox.send(messages)
