"""A pod's addresses come from its sandbox, read once per sandbox: into its status, the
downward API of its containers, and the address its probes and hooks reach."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from fastpod.model import Pod
from fastpod.runtime.base import SandboxInfo
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker import reports
from fastpod.worker.desired import DesiredPod, DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.pods import decoded, pod_document, pod_key
from tests.support.worker import added, eventually, run, runner_on

DUAL_STACK = ("fd00::7", "10.88.0.7")
"""What the sandbox reports, IPv6 first: the pod shows IPv4 first, the node's family."""


class CountingRuntime(FakeRuntime):
    """A fake runtime whose sandboxes report :data:`DUAL_STACK`, counting the asks."""

    def __init__(self) -> None:
        super().__init__()
        self.pod_network_ips = DUAL_STACK
        self.asked: list[str] = []
        self.listings = 0

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        self.listings += 1
        return await super().list_pod_sandboxes(pod_uid)

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        self.asked.append(sandbox_id)
        return await super().sandbox_ips(sandbox_id)


def addressed_pod(name: str, *, host_network: bool = False) -> Pod:
    """A pod whose container ``app`` reads its addresses through the downward API."""
    document = pod_document(name, extra_spec={"hostNetwork": host_network})
    document["spec"]["containers"][0]["env"] = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "POD_IPS", "valueFrom": {"fieldRef": {"fieldPath": "status.podIPs"}}},
    ]
    return decoded(json.dumps(document).encode(), FILE)


def status_of(runner: PodRunner, pod: Pod) -> dict[str, Any]:
    desired = DesiredPods()
    desired.pods[pod_key("web")] = DesiredPod(pod, FILE)
    (item,) = msgspec.json.decode(reports.pods_document(runner, desired))
    return dict(item["status"])


def test_a_pod_network_pod_shows_its_sandboxs_addresses_everywhere(
    settings: WorkerSettings,
) -> None:
    web = addressed_pod("web")

    async def scenario() -> None:
        runtime = CountingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: runtime.specs, "the container created")
            (spec,) = runtime.specs.values()
            assert (spec.env["POD_IP"], spec.env["POD_IPS"]) == (
                "10.88.0.7",
                "10.88.0.7,fd00::7",
            )
            status = status_of(runner, web)
            assert status["podIP"] == "10.88.0.7"
            assert status["podIPs"] == [{"ip": "10.88.0.7"}, {"ip": "fd00::7"}]
            assert runner.state.pod_address(web) == "10.88.0.7"
            # later syncs (every 0.05 s here) do not ask again: one sandbox, one question
            await eventually(lambda: runtime.listings >= 5, "five syncs")
            assert runtime.asked == list(runtime.sandboxes)

    run(scenario)


def test_a_host_network_pod_has_the_nodes_address_without_asking(
    settings: WorkerSettings,
) -> None:
    web = addressed_pod("web", host_network=True)

    async def scenario() -> None:
        runtime = CountingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: runtime.specs, "the container created")
            (spec,) = runtime.specs.values()
            assert spec.env["POD_IP"] == settings.host_ip
            assert status_of(runner, web)["podIPs"] == [{"ip": settings.host_ip}]
            assert runtime.asked == []

    run(scenario)


def test_a_sandbox_without_an_address_leaves_the_pod_without_one(
    settings: WorkerSettings,
) -> None:
    """Docker's ``none`` network: no podIP in the status, empty downward API values, and
    probes and hooks reach the pod on its own loopback."""
    web = addressed_pod("web")

    async def scenario() -> None:
        runtime = CountingRuntime()
        runtime.pod_network_ips = ()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: runtime.specs, "the container created")
            (spec,) = runtime.specs.values()
            assert (spec.env["POD_IP"], spec.env["POD_IPS"]) == ("", "")
            status = status_of(runner, web)
            assert {"podIP", "podIPs"}.isdisjoint(status)
            assert runner.state.pod_address(web) == "127.0.0.1"

    run(scenario)
