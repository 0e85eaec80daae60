"""The cluster process: fastpod's one connection to the API server, started by the
supervisor when a kubeconfig is configured (``--kubeconfig``).

It is a child of its own, beside the watcher and the workers, for three reasons: the API
server being slow or gone never delays the supervisor's read-only API, its health answers
or the pods; its imports (lightkube and its HTTP stack) and its memory stay out of every
other process; and a crash is a restart of this process alone, supervised as any child
(everything it keeps is read again from the API server). It answers the supervisor's
questions (alive, its metrics) on its own socket; its health never depends on the API
server, as the kubelet's ``/healthz`` does not.

A kubeconfig that does not exist yet (a kubelet node still bootstrapping its client
certificate) is looked for again every few seconds.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import msgspec

from fastpod import __version__, logs
from fastpod.cluster.events import Occurrence
from fastpod.cluster.mirror_reports import ReportedPods
from fastpod.config.settings import Config
from fastpod.ipc.channels import Inbox, Outbox, handle_each
from fastpod.ipc.messages import (
    Message,
    PodEventReported,
    ReportAll,
    StatusAnswer,
    StatusQuery,
)
from fastpod.ipc.rundir import cluster_socket, supervisor_socket, worker_socket
from fastpod.metrics import recorder
from fastpod.supervisor.child import run_child

if TYPE_CHECKING:
    from fastpod.cluster.events_sink import EventSink
    from fastpod.cluster.mirror_pods import MirrorPods
    from fastpod.cluster.node_agent import NodeAgent

KUBELET_VERSION = f"v1.32.0-fastpod.{__version__}"
"""The Node's ``kubeletVersion``: the kubelet release whose behaviour fastpod matches, with
fastpod's own version as its pre-release part, so that what parses it as a Kubernetes
version (kubectl, the control plane's version skew checks) still can."""

KUBECONFIG_RETRY = 5.0
"""Seconds between looks for a kubeconfig that does not exist yet, or cannot be used."""


def main(config: Config, run_dir: str) -> None:
    """The cluster process's entry point (a child of the supervisor)."""
    run_child(config, "cluster", Cluster(config, run_dir).run)


class Cluster:
    """The cluster side of one fastpod run: the Node, its Lease, the mirror pods and the
    pods' events."""

    def __init__(self, config: Config, run_dir: str) -> None:
        self.config = config
        self.run_dir = run_dir
        self.agent: NodeAgent | None = None
        self.mirrors: MirrorPods | None = None
        self.reported = ReportedPods(config.worker_count)
        """The static pods the workers report, for their mirror pods."""
        self._supervisor = Outbox(supervisor_socket(run_dir))
        self._workers = [
            Outbox(worker_socket(run_dir, index)) for index in range(config.worker_count)
        ]
        # imported here, in the cluster process: the sink's client is this process's alone
        from fastpod.cluster.events_sink import EventSink

        self.events: EventSink = EventSink(config.node_name)
        """The workers' pod events, written as the kubelet's Events."""

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the cluster side until ``stop`` is set."""
        inbox = Inbox(cluster_socket(self.run_dir), self.receive)
        await inbox.start()
        # what an earlier cluster process was told died with it: the workers say it again
        for worker in self._workers:
            worker.send([ReportAll()])
        work = asyncio.create_task(self._connected())
        try:
            await stop.wait()
        finally:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            await inbox.close()
            await self._supervisor.close()
            for worker in self._workers:
                await worker.close()

    def receive(self, messages: list[Message]) -> None:
        """The workers' reports of their pods and their events; the supervisor's questions:
        this process is alive (whatever the API server does), its metrics, a static pod's
        mirror."""
        handle_each(messages, self._handle)

    def _handle(self, message: Message) -> None:
        if self.reported.take(message):
            return
        if isinstance(message, PodEventReported):
            self.events.record(occurrence(message))
        elif isinstance(message, StatusQuery):
            metrics = recorder.snapshot() if message.metrics else None
            mirror = b"" if message.pod_key is None else self.mirror_state(message.pod_key)
            answer = StatusAnswer(message.token, "cluster", (), True, metrics, mirror)
            self._supervisor.send([answer])

    def mirror_state(self, key: str) -> bytes:
        """``fastpod inspect``'s word on the mirror of the static pod ``key``, as JSON."""
        if self.mirrors is None:
            state: object = {"state": "pending", "reason": "the kubeconfig is not usable yet"}
        else:
            state = self.mirrors.state(key) or {
                "state": "pending",
                "reason": "its worker has not reported the pod yet",
            }
        return msgspec.json.encode(state)

    async def _connected(self) -> None:
        # imported only here: the client and its HTTP stack are this process's alone
        from fastpod.cluster.client import ApiClient, ApiFailure
        from fastpod.cluster.facts import node_facts
        from fastpod.cluster.mirror_pods import MirrorPods
        from fastpod.cluster.node_agent import Heartbeats, NodeAgent
        from fastpod.cluster.node_object import NodeSettings
        from fastpod.runtime.factory import create_runtime

        config = self.config
        assert config.kubeconfig is not None
        logged = False
        while True:
            problem = None
            if not os.path.exists(config.kubeconfig):
                problem = f"{config.kubeconfig} does not exist (yet)"
            else:
                try:
                    client = ApiClient(
                        config.kubeconfig,
                        config.kube_api_qps,
                        config.kube_api_burst,
                        event_qps=config.event_record_qps,
                        event_burst=config.event_burst,
                    )
                    break
                except ApiFailure as failure:
                    problem = str(failure)
            if not logged:
                logs.emit(
                    "kubeconfig not usable",
                    level="warning",
                    problem=problem,
                    retry_every=f"{KUBECONFIG_RETRY:g}s",
                )
                logged = True
            await asyncio.sleep(KUBECONFIG_RETRY)
        runtime = create_runtime(config)
        settings = NodeSettings(
            name=config.node_name,
            kubelet_version=KUBELET_VERSION,
            labels=config.node_labels,
            taints=config.register_with_taints,
            max_pods=config.max_pods,
        )
        heartbeats = Heartbeats(
            status_update=config.node_status_update_frequency,
            status_report=config.node_status_report_frequency,
            lease_duration=config.node_lease_duration_seconds,
            register_node=config.register_node,
        )
        self.agent = NodeAgent(client, runtime, settings, node_facts(config), heartbeats)
        self.mirrors = MirrorPods(client, self.agent, self.reported, config.node_name)
        logs.emit("API server client started", server=client.host, node=config.node_name)
        try:
            await asyncio.gather(self.agent.run(), self.mirrors.run(), self.events.run(client))
        finally:
            await client.close()
            await runtime.close()


def occurrence(message: PodEventReported) -> Occurrence:
    """The event a worker reported, as the sink takes it."""
    return Occurrence(
        namespace=message.namespace,
        name=message.name,
        uid=message.uid,
        field_path=message.field_path,
        type=message.event_type,
        reason=message.reason,
        message=message.message,
        time=message.time,
    )
