"""The node agent against the test API server: the Node registered or updated, its status
posted when it changes, its Lease renewed, and an API server that fails logged once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from fastpod.cluster.client import ApiClient, ApiFailure
from fastpod.cluster.node_agent import Heartbeats, NodeAgent
from fastpod.cluster.node_object import NodeFacts, NodeSettings
from fastpod.config.settings import FakeLatencies
from fastpod.runtime.fake import FakeRuntime
from tests.support.cluster_api import LocalApiServer
from tests.support.logs import LogCapture

FACTS = NodeFacts(
    hostname="node1",
    address="10.0.0.5",
    operating_system="linux",
    architecture="amd64",
    kernel_version="6.1.0",
    os_image="Debian GNU/Linux 12 (bookworm)",
    cpus=2,
    memory=4 * 1024**3,
    ephemeral_storage=50 * 1024**3,
)
SETTINGS = NodeSettings(name="node1", kubelet_version="v1.32.0-fastpod.0.1.0")
LEASE = ("coordination.k8s.io/v1/leases", "kube-node-lease", "node1")

_Result = TypeVar("_Result")


def run_agent(
    server: LocalApiServer,
    tmp_path: Path,
    body: Callable[[NodeAgent, FakeRuntime], Awaitable[_Result]],
    heartbeats: Heartbeats | None = None,
    **kubeconfig: Any,
) -> _Result:
    """``body(agent, runtime)`` with an agent speaking to ``server``."""
    path = server.write_kubeconfig(tmp_path / "kubelet.conf", **kubeconfig)

    async def main() -> _Result:
        client = ApiClient(str(path), qps=50, burst=100)
        runtime = FakeRuntime(FakeLatencies(), record_specs=False)
        try:
            agent = NodeAgent(client, runtime, SETTINGS, FACTS, heartbeats or Heartbeats())
            return await body(agent, runtime)
        finally:
            await client.close()

    return asyncio.run(main())


def patches(server: LocalApiServer) -> int:
    return sum(1 for method, path in server.requests() if method == "PATCH")


def test_the_node_is_registered_and_its_lease_created_then_owned_by_it(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        await agent.renew_lease()  # before the Node exists: no owner yet
        await agent.sync_status()
        await agent.renew_lease()

    run_agent(api_server, tmp_path, body)

    node = api_server.stored("v1/nodes", None, "node1")
    lease = api_server.stored(*LEASE)
    assert node is not None
    assert lease is not None
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"] == "fake://0.1.0"
    assert lease["spec"]["holderIdentity"] == "node1"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node1", "uid": node["metadata"]["uid"]}
    ]
    (registered,) = captured_logs.records("node registered")
    assert registered["uid"] == node["metadata"]["uid"]


def test_an_existing_node_is_updated_not_recreated(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    old = {
        "metadata": {
            "name": "node1",
            "labels": {"kubernetes.io/arch": "arm64", "team": "web"},
        },
        "spec": {"taints": [{"key": "keep", "effect": "NoSchedule"}]},
    }
    code, existing = api_server.request("POST", "/api/v1/nodes", old)
    assert code == 201

    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        await agent.sync_status()

    run_agent(api_server, tmp_path, body)

    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    assert node["metadata"]["uid"] == existing["metadata"]["uid"]
    assert node["metadata"]["labels"]["kubernetes.io/arch"] == "amd64"
    assert node["metadata"]["labels"]["team"] == "web"
    assert node["spec"]["taints"] == [{"key": "keep", "effect": "NoSchedule"}]
    assert [c["type"] for c in node["status"]["conditions"]][-1] == "Ready"
    assert captured_logs.records("node updated")
    assert not captured_logs.records("node registered")


def test_the_status_is_posted_when_it_changes_or_is_due_and_not_otherwise(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    counts: list[int] = []

    async def body(agent: NodeAgent, runtime: FakeRuntime) -> None:
        await agent.sync_status()  # registers
        for _ in range(3):
            await agent.sync_status()  # nothing changed: nothing posted
        counts.append(patches(api_server))
        runtime.down = "gone"
        await agent.sync_status()  # NotReady: posted
        await agent.sync_status()
        counts.append(patches(api_server))

    run_agent(api_server, tmp_path, body)

    assert counts == [0, 1]
    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "KubeletNotReady",
        "container runtime is down",
    )
    (changed,) = captured_logs.records("node status changed")
    assert changed["ready"] is False


def test_an_unchanged_status_is_still_posted_every_report_period(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        for _round in range(3):
            await agent.sync_status()

    run_agent(api_server, tmp_path, body, Heartbeats(status_report=0.0))

    assert patches(api_server) == 2


def test_a_lease_changed_by_someone_else_is_read_again_and_renewed(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    versions: list[str] = []

    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        await agent.renew_lease()
        await agent.renew_lease()
        lease = api_server.stored(*LEASE)
        assert lease is not None
        versions.append(lease["metadata"]["resourceVersion"])
        lease["spec"]["holderIdentity"] = "someone-else"
        api_server.request(
            "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1", lease
        )
        with pytest.raises(ApiFailure) as conflict:
            await agent.renew_lease()
        assert conflict.value.kind == "conflict"
        await agent.renew_lease()  # (the loop does this at once) read again, then renewed

    run_agent(api_server, tmp_path, body)

    lease = api_server.stored(*LEASE)
    assert lease is not None
    assert lease["spec"]["holderIdentity"] == "node1"
    assert int(lease["metadata"]["resourceVersion"]) > int(versions[0])


def test_an_api_server_refusing_is_logged_once_and_caught_up_with(
    api_server: LocalApiServer, tmp_path: Path, captured_logs: LogCapture
) -> None:
    api_server.call(lambda: api_server.emulator.refuse("POST", r"^/api/v1/nodes$", 403, times=3))
    api_server.call(lambda: api_server.emulator.refuse("GET", r"/leases/node1$", 503, times=3))
    heartbeats = Heartbeats(status_update=0.05, lease_duration=1)

    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        task = asyncio.create_task(agent.run())
        try:
            async with asyncio.timeout(20):
                while not captured_logs.records("API server call succeeded again")[1:]:
                    await asyncio.sleep(0.05)
                while api_server.stored(*LEASE) is None:
                    await asyncio.sleep(0.05)
        finally:
            task.cancel()

    run_agent(api_server, tmp_path, body, heartbeats)

    failed = captured_logs.records("API server call failed")
    assert sorted(record["call"] for record in failed) == ["lease", "node status"]
    refused = next(record for record in failed if record["call"] == "node status")
    assert refused["error"].startswith("403 Forbidden")
    again = {
        r["call"]: r["failures"] for r in captured_logs.records("API server call succeeded again")
    }
    assert again == {"node status": 3, "lease": 3}
    assert api_server.stored("v1/nodes", None, "node1") is not None


def test_the_agent_reaches_a_server_over_https_with_a_client_certificate(
    tls_api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        await agent.sync_status()

    run_agent(tls_api_server, tmp_path, body, embedded=False)

    assert tls_api_server.stored("v1/nodes", None, "node1") is not None


def test_a_bearer_token_from_the_kubeconfig_is_sent(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    async def body(agent: NodeAgent, _: FakeRuntime) -> None:
        await agent.sync_status()

    run_agent(api_server, tmp_path, body, token="abc.def")

    tokens = api_server.call(lambda: {r.headers.get("Authorization") for r in api_server.emulator})
    assert tokens == {"Bearer abc.def"}
