"""What a worker reports to the cluster process: each pod once per change of the pod, its
status once per change of the status (however often the pod syncs), a removal, every pod
held once all sources are seen, and everything again for a cluster process restarted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec

from fastpod.ipc.channels import Outbox
from fastpod.ipc.messages import (
    Message,
    PodsReported,
    PodStatusReported,
    StaticPodReported,
)
from fastpod.manifest.defaults import CONFIG_HASH
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.cluster_reports import COALESCE, ClusterReports
from fastpod.worker.desired import DesiredPod, DesiredPods
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.pods import pod_key
from tests.support.worker import NOW, added, claim, eventually, pod, run, runner_on


class Sent(Outbox):
    """An outbox that keeps what is sent, instead of writing it to a socket."""

    def __init__(self) -> None:
        super().__init__("/nonexistent")
        self.messages: list[Message] = []

    def send(self, messages: Sequence[Message]) -> None:
        self.messages.extend(messages)

    def taken(self) -> list[Message]:
        taken, self.messages = self.messages, []
        return taken


def phases(messages: list[Message]) -> list[str]:
    return [
        msgspec.json.decode(m.status)["phase"] for m in messages if isinstance(m, PodStatusReported)
    ]


def test_a_pod_is_reported_once_and_its_status_only_when_it_changes(
    settings: WorkerSettings,
) -> None:
    """The test settings resync every pod each 50 ms: many syncs, few reports."""
    web = pod("web")
    key = pod_key("web")
    desired = DesiredPods()

    async def scenario() -> None:
        outbox = Sent()
        async with runner_on(FakeRuntime(), settings) as runner:
            reports = ClusterReports(0, runner, desired, outbox)
            runner.on_sync = reports.mark
            desired.pods[key] = DesiredPod(web, FILE)
            reports.mark(key)
            runner.submit(added(web))
            await eventually(lambda: "Running" in phases(outbox.messages), "running reported")
            await asyncio.sleep(COALESCE * 5)  # ten resyncs more
            first = outbox.taken()

            pods = [m for m in first if isinstance(m, StaticPodReported)]
            assert [(m.worker, m.pod_key) for m in pods] == [(0, key)]
            reported: dict[str, Any] = msgspec.json.decode(pods[0].pod)
            assert reported["metadata"]["annotations"][CONFIG_HASH]
            assert reported["spec"]["containers"][0]["name"]
            assert phases(first)[-1] == "Running"
            assert len(phases(first)) <= 3, "Pending, maybe ContainerCreating, Running"

            del desired.pods[key]
            reports.mark(key)
            await eventually(lambda: outbox.messages, "the removal reported")
            assert outbox.taken() == [StaticPodReported(0, key, b"")]

    run(scenario)


def test_every_pod_held_is_named_once_sources_are_seen_and_everything_again_on_resend(
    settings: WorkerSettings,
) -> None:
    desired = DesiredPods()
    for name in ("web", "db"):
        desired.apply(claim(FILE, name), NOW)

    async def scenario() -> None:
        outbox = Sent()
        async with runner_on(FakeRuntime(), settings) as runner:
            reports = ClusterReports(3, runner, desired, outbox)
            reports.all_seen()
            await eventually(lambda: outbox.messages, "the first report")
            first = outbox.taken()
            assert isinstance(first[-1], PodsReported)
            assert sorted(first[-1].pod_keys) == sorted([pod_key("web"), pod_key("db")])
            assert sum(isinstance(m, StaticPodReported) for m in first) == 2

            reports.mark(pod_key("web"))
            await asyncio.sleep(COALESCE * 3)
            assert outbox.taken() == [], "nothing changed"

            reports.resend()
            await eventually(lambda: outbox.messages, "the report again")
            again = outbox.taken()
            assert sum(isinstance(m, StaticPodReported) for m in again) == 2
            assert sum(isinstance(m, PodStatusReported) for m in again) == 2
            assert isinstance(again[-1], PodsReported)
            assert again[-1].worker == 3

    run(scenario)
