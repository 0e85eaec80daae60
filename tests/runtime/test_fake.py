"""The fake runtime: CRI-shaped calls on dictionaries, and the kubelet's labels on what it runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from fastpod.config import FakeLatencies
from fastpod.manifest import decode_pod
from fastpod.model import Container, Pod
from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import (
    CONTAINER_NAME,
    MANAGED_BY,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    container_labels,
    sandbox_labels,
)
from tests.support import FILE

MANIFEST = b"""
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels:
    tier: control-plane
    io.kubernetes.pod.name: spoofed
spec:
  containers:
  - name: app
    image: busybox:1.36
  - name: sidecar
    image: busybox:1.36
"""


def web() -> Pod:
    return decode_pod(MANIFEST, FILE, "node1").pod


def container(pod: Pod, index: int = 0) -> Container:
    assert pod.spec.containers is not None
    return pod.spec.containers[index]


def run(scenario: Callable[[FakeRuntime], Coroutine[Any, Any, None]], **latencies: float) -> None:
    asyncio.run(scenario(FakeRuntime(FakeLatencies(**latencies))))


def test_sandbox_labels_are_the_pod_labels_plus_its_identity() -> None:
    pod = web()

    assert sandbox_labels(pod) == {
        "tier": "control-plane",
        POD_NAME: "web-node1",
        POD_NAMESPACE: "kube-system",
        POD_UID: pod.metadata.uid,
        MANAGED_BY: "true",
    }


def test_container_labels_are_the_pod_identity_and_the_container_name() -> None:
    pod = web()

    assert container_labels(pod, container(pod, 1)) == {
        POD_NAME: "web-node1",
        POD_NAMESPACE: "kube-system",
        POD_UID: pod.metadata.uid,
        CONTAINER_NAME: "sidecar",
        MANAGED_BY: "true",
    }


@pytest.mark.parametrize("latency", [0.0, 0.001])
def test_a_sandbox_is_listed_ready_with_its_labels_until_removed(latency: float) -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod)

        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.id == sandbox_id
        assert sandbox.ready is True
        assert sandbox.labels == sandbox_labels(pod)

        await runtime.stop_pod_sandbox(sandbox_id)
        (stopped,) = await runtime.list_pod_sandboxes()
        assert stopped.ready is False
        assert stopped.labels == sandbox.labels

        await runtime.remove_pod_sandbox(sandbox_id)
        assert await runtime.list_pod_sandboxes() == []

    run(scenario, run_sandbox=latency, stop_container=latency, remove=latency)


@pytest.mark.parametrize("latency", [0.0, 0.001])
def test_a_container_goes_from_created_to_running_to_exited_until_removed(
    latency: float,
) -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod)
        container_id = await runtime.create_container(sandbox_id, pod, container(pod))

        (created,) = await runtime.list_containers()
        assert (created.id, created.sandbox_id, created.state) == (
            container_id,
            sandbox_id,
            "created",
        )
        assert created.exit_code is None
        assert created.labels == container_labels(pod, container(pod))

        await runtime.start_container(container_id)
        (running,) = await runtime.list_containers()
        assert (running.state, running.exit_code) == ("running", None)

        await runtime.stop_container(container_id, 30.0)
        (exited,) = await runtime.list_containers()
        assert (exited.state, exited.exit_code) == ("exited", 0)
        assert exited.labels == created.labels

        await runtime.remove_container(container_id)
        assert await runtime.list_containers() == []

    run(
        scenario,
        create_container=latency,
        start_container=latency,
        stop_container=latency,
        remove=latency,
    )


def test_every_sandbox_and_container_gets_its_own_id() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandboxes = [await runtime.run_pod_sandbox(pod) for _ in range(3)]
        containers = [
            await runtime.create_container(sandbox, pod, container(pod)) for sandbox in sandboxes
        ]

        assert len(set(sandboxes + containers)) == 6
        assert len(await runtime.list_pod_sandboxes()) == 3
        assert {info.id for info in await runtime.list_containers()} == set(containers)

    run(scenario)


def test_the_lists_are_empty_on_a_fresh_runtime() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        assert await runtime.close() is None

    run(scenario)


def _stop_sandbox(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.stop_pod_sandbox("sandbox-404")


def _remove_sandbox(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.remove_pod_sandbox("sandbox-404")


def _create_container(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    pod = web()
    return runtime.create_container("sandbox-404", pod, container(pod))


def _start_container(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.start_container("container-404")


def _stop_container(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.stop_container("container-404", 1.0)


def _remove_container(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.remove_container("container-404")


@pytest.mark.parametrize(
    ("call", "missing"),
    [
        (_stop_sandbox, "sandbox-404"),
        (_remove_sandbox, "sandbox-404"),
        (_create_container, "sandbox-404"),
        (_start_container, "container-404"),
        (_stop_container, "container-404"),
        (_remove_container, "container-404"),
    ],
)
def test_a_call_naming_an_unknown_id_raises_a_runtime_call_error(
    call: Callable[[FakeRuntime], Coroutine[Any, Any, object]], missing: str
) -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        with pytest.raises(RuntimeCallError, match=missing):
            await call(runtime)
        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []

    run(scenario)


def test_a_removed_container_is_unknown_afterwards() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod)
        container_id = await runtime.create_container(sandbox_id, pod, container(pod))
        await runtime.remove_container(container_id)

        with pytest.raises(RuntimeCallError):
            await runtime.start_container(container_id)
        await runtime.remove_pod_sandbox(sandbox_id)
        with pytest.raises(RuntimeCallError):
            await runtime.remove_pod_sandbox(sandbox_id)

    run(scenario)


def test_calls_with_a_latency_let_other_tasks_run_meanwhile() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        order: list[str] = []

        async def start(label: str) -> None:
            order.append(f"begin {label}")
            await runtime.run_pod_sandbox(pod)
            order.append(f"end {label}")

        await asyncio.gather(start("a"), start("b"))

        assert order[:2] == ["begin a", "begin b"]

    run(scenario, run_sandbox=0.001)
