"""The fake runtime: CRI-shaped calls on dictionaries, and the kubelet's labels on what it runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

import pytest

from fastpod.config.settings import FakeLatencies
from fastpod.manifest.decode import decode_pod
from fastpod.model import Container, Pod
from fastpod.runtime.base import (
    MAX_EXEC_OUTPUT,
    ExecTimeout,
    ImageMissing,
    RuntimeCallError,
    RuntimeEvent,
)
from fastpod.runtime.fake import FakeRuntime, ScriptedExec
from fastpod.runtime.labels import (
    CONTAINER_NAME,
    MANAGED_BY,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    container_labels,
    sandbox_labels,
)
from fastpod.runtime.spec import ContainerSpec, PodContext, container_spec
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

CONTEXT = PodContext(host_ip="127.0.0.1", pod_ip="127.0.0.1", volumes_dir="/nonexistent/volumes")


def web() -> Pod:
    return decode_pod(MANIFEST, FILE, "node1").pod


def container(pod: Pod, index: int = 0) -> Container:
    assert pod.spec.containers is not None
    return pod.spec.containers[index]


def spec(pod: Pod, index: int = 0, restart_count: int = 0) -> ContainerSpec:
    return container_spec(pod, container(pod, index), restart_count, "regular", CONTEXT)


def run(
    scenario: Callable[[FakeRuntime], Coroutine[Any, Any, None]],
    images: set[str] | None = None,
    **latencies: float,
) -> None:
    async def main() -> None:
        await scenario(FakeRuntime(FakeLatencies(**latencies), images=images))

    asyncio.run(main())


async def next_event(runtime: FakeRuntime) -> RuntimeEvent:
    events = runtime.events()
    assert isinstance(events, AsyncGenerator)
    try:
        return await asyncio.wait_for(anext(events), 5.0)
    finally:
        await events.aclose()


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
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)

        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.id == sandbox_id
        assert sandbox.ready is True
        assert sandbox.labels == sandbox_labels(pod)
        assert sandbox.pod_uid == pod.metadata.uid
        assert sandbox.pod_key == "kube-system/web-node1"

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
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        container_id = await runtime.create_container(sandbox_id, pod, spec(pod))

        (created,) = await runtime.list_containers()
        assert (created.id, created.sandbox_id, created.state) == (
            container_id,
            sandbox_id,
            "created",
        )
        assert created.exit_code is None
        assert created.labels == {**spec(pod).labels, **spec(pod).annotations}
        assert created.labels.items() >= container_labels(pod, container(pod)).items()
        assert (created.name, created.pod_uid, created.restart_count, created.kind) == (
            "app",
            pod.metadata.uid,
            0,
            "regular",
        )
        assert runtime.specs[container_id] == spec(pod)

        await runtime.start_container(container_id)
        (running,) = await runtime.list_containers()
        assert (running.state, running.exit_code) == ("running", None)
        assert running.started_at is not None
        assert running.finished_at is None

        # a stopped container was killed: SIGKILL's 128 + 9
        await runtime.stop_container(container_id, 30.0)
        (exited,) = await runtime.list_containers()
        assert (exited.state, exited.exit_code) == ("exited", 137)
        assert exited.finished_at is not None
        assert exited.labels == created.labels

        await runtime.remove_container(container_id)
        assert await runtime.list_containers() == []
        assert container_id not in runtime.specs

    run(
        scenario,
        create_container=latency,
        start_container=latency,
        stop_container=latency,
        remove=latency,
    )


def test_a_container_runs_until_it_exits_with_its_own_code() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        container_id = await runtime.create_container(sandbox_id, pod, spec(pod))
        await runtime.start_container(container_id)
        assert await next_event(runtime) == RuntimeEvent(pod.metadata.uid, "started")

        runtime.exit(container_id, 3)

        (exited,) = await runtime.list_containers()
        assert (exited.state, exited.exit_code) == ("exited", 3)
        assert await next_event(runtime) == RuntimeEvent(pod.metadata.uid, "died")
        # stopping an exited container keeps its exit code
        await runtime.stop_container(container_id, 1.0)
        (still,) = await runtime.list_containers()
        assert still.exit_code == 3

    run(scenario)


def test_the_restart_count_label_is_read_back() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        await runtime.create_container(sandbox_id, pod, spec(pod, restart_count=4))

        (info,) = await runtime.list_containers()
        assert info.restart_count == 4

    run(scenario)


def test_the_lists_can_be_limited_to_one_pod() -> None:
    other_manifest = MANIFEST.replace(b"name: web", b"name: api")
    other = decode_pod(other_manifest, FILE, "node1").pod

    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        assert pod.metadata.uid != other.metadata.uid
        mine = await runtime.run_pod_sandbox(pod, 0)
        theirs = await runtime.run_pod_sandbox(other, 0)
        await runtime.create_container(mine, pod, spec(pod))
        await runtime.create_container(theirs, other, spec(other))

        assert [s.id for s in await runtime.list_pod_sandboxes(pod.metadata.uid)] == [mine]
        assert [c.sandbox_id for c in await runtime.list_containers(other.metadata.uid)] == [theirs]
        assert len(await runtime.list_pod_sandboxes()) == 2
        assert len(await runtime.list_containers()) == 2
        assert await runtime.list_containers("no-such-uid") == []

    run(scenario)


def test_every_image_is_present_unless_a_set_is_given() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        assert await runtime.image_present("anything:1")

    run(scenario)


def test_only_the_given_images_are_present_and_none_can_be_pulled() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        assert await runtime.image_present("busybox:1.36")
        assert not await runtime.image_present("nginx:1")
        with pytest.raises(ImageMissing, match="nginx:1"):
            await runtime.pull_image("nginx:1")

    run(scenario, images={"busybox:1.36"})


def test_the_fake_runtime_writes_no_log_files() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        container_id = await runtime.create_container(sandbox_id, pod, spec(pod))
        assert await runtime.container_log_path(container_id) is None

    run(scenario)


def test_every_sandbox_and_container_gets_its_own_id() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandboxes = [await runtime.run_pod_sandbox(pod, attempt) for attempt in range(3)]
        containers = [
            await runtime.create_container(sandbox, pod, spec(pod)) for sandbox in sandboxes
        ]

        assert len(set(sandboxes + containers)) == 6
        assert len(await runtime.list_pod_sandboxes()) == 3
        assert {info.id for info in await runtime.list_containers()} == set(containers)

    run(scenario)


def test_the_lists_are_empty_on_a_fresh_runtime() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        await runtime.close()

    run(scenario)


def _stop_sandbox(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.stop_pod_sandbox("sandbox-404")


def _remove_sandbox(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    return runtime.remove_pod_sandbox("sandbox-404")


def _create_container(runtime: FakeRuntime) -> Coroutine[Any, Any, object]:
    pod = web()
    return runtime.create_container("sandbox-404", pod, spec(pod))


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


def test_exiting_an_unknown_container_raises_a_runtime_call_error() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        with pytest.raises(RuntimeCallError, match="container-404"):
            runtime.exit("container-404", 1)

    run(scenario)


def test_a_removed_container_is_unknown_afterwards() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        container_id = await runtime.create_container(sandbox_id, pod, spec(pod))
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
            await runtime.run_pod_sandbox(pod, 0)
            order.append(f"end {label}")

        await asyncio.gather(start("a"), start("b"))

        assert order[:2] == ["begin a", "begin b"]

    run(scenario, run_sandbox=0.001)


async def running_containers(runtime: FakeRuntime) -> tuple[str, str]:
    """Both containers of the web pod, started."""
    pod = web()
    sandbox_id = await runtime.run_pod_sandbox(pod, 0)
    ids = [await runtime.create_container(sandbox_id, pod, spec(pod, i)) for i in (0, 1)]
    for container_id in ids:
        await runtime.start_container(container_id)
    return ids[0], ids[1]


def test_a_command_without_a_script_ends_at_once_with_exit_code_0_and_is_recorded() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        app, _ = await running_containers(runtime)
        result = await runtime.exec_sync(app, ["cat", "/tmp/healthy"], timeout=1)
        assert (result.exit_code, result.output) == (0, b"")
        assert runtime.execs == [(app, ("cat", "/tmp/healthy"))]

    run(scenario, exec_sync=0.001)


def test_a_script_for_one_container_comes_before_the_one_for_every_container() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        app, sidecar = await running_containers(runtime)
        runtime.script_exec(["check"], ScriptedExec(1, b"down"))
        runtime.script_exec(["check"], ScriptedExec(2, b"sidecar down"), container_id=sidecar)
        assert (await runtime.exec_sync(app, ["check"], 1)).exit_code == 1
        sidecar_result = await runtime.exec_sync(sidecar, ["check"], 1)
        assert (sidecar_result.exit_code, sidecar_result.output) == (2, b"sidecar down")
        runtime.script_exec(["check"], ScriptedExec(0, b"ok"))
        assert (await runtime.exec_sync(app, ["check"], 1)).output == b"ok", "scripted anew"
        assert (await runtime.exec_sync(app, ["other"], 1)).exit_code == 0

    run(scenario)


def test_a_scripted_output_is_cut_as_the_kubelet_cuts_it() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        app, _ = await running_containers(runtime)
        runtime.script_exec(["noisy"], ScriptedExec(0, b"x" * (MAX_EXEC_OUTPUT + 1)))
        assert (await runtime.exec_sync(app, ["noisy"], 1)).output == b"x" * MAX_EXEC_OUTPUT

    run(scenario)


def test_a_command_longer_than_its_timeout_times_out_unless_there_is_none() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        app, _ = await running_containers(runtime)
        runtime.script_exec(["sleep", "5"], ScriptedExec(duration=0.05))
        with pytest.raises(ExecTimeout, match=r'command "sleep 5" timed out after 0\.01s'):
            await runtime.exec_sync(app, ["sleep", "5"], timeout=0.01)
        assert (await runtime.exec_sync(app, ["sleep", "5"], timeout=0)).exit_code == 0
        with pytest.raises(ExecTimeout):
            await runtime.exec_sync(app, ["true"], timeout=0.001)  # the call's latency alone

    run(scenario, exec_sync=0.005)


def test_a_command_in_a_missing_created_or_exited_container_is_a_runtime_error() -> None:
    async def scenario(runtime: FakeRuntime) -> None:
        pod = web()
        sandbox_id = await runtime.run_pod_sandbox(pod, 0)
        created = await runtime.create_container(sandbox_id, pod, spec(pod))
        exited = await runtime.create_container(sandbox_id, pod, spec(pod, 1))
        await runtime.start_container(exited)
        runtime.exit(exited, 0)
        for container_id in ("container-404", created, exited):
            with pytest.raises(RuntimeCallError, match=container_id) as raised:
                await runtime.exec_sync(container_id, ["true"], 1)
            assert not isinstance(raised.value, ExecTimeout)
        assert runtime.execs == []

    run(scenario)
