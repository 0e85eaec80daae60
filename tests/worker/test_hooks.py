"""Lifecycle hooks on the fake runtime: what postStart and preStop do to a container, its
stop and its events. The same on Docker and containerd is in the runtime suite."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastpod.model import Pod
from fastpod.runtime.base import ContainerInfo
from fastpod.runtime.fake import FakeRuntime, ScriptedExec
from fastpod.runtime.spec import PodContext, container_spec
from fastpod.worker.events import PodEvents
from fastpod.worker.hooks import HookRunner
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import decoded, pod_document
from tests.support.worker import added, eventually, removed, run, runner_on
from tests.worker.test_prober import container_status

HOOK = ["hook"]
KEY = "default/web"


class StopRecordingRuntime(FakeRuntime):
    """The fake, noting each stop's grace period and each step in order."""

    def __init__(self) -> None:
        super().__init__(record_specs=True)
        self.steps: list[str] = []
        self.graces: list[float] = []

    async def exec_sync(self, container_id: str, command: Any, timeout: float) -> Any:
        self.steps.append("exec " + " ".join(command))
        return await super().exec_sync(container_id, command, timeout)

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        self.steps.append("stop")
        self.graces.append(grace_period)
        await super().stop_container(container_id, grace_period)


def hooked_pod(
    name: str = "web",
    grace: int | None = None,
    ports: list[dict[str, Any]] | None = None,
    **lifecycle: Any,
) -> Pod:
    document = pod_document(name)
    document["spec"]["containers"][0]["lifecycle"] = lifecycle
    if ports is not None:
        document["spec"]["containers"][0]["ports"] = ports
    if grace is not None:
        document["spec"]["terminationGracePeriodSeconds"] = grace
    return decoded(json.dumps(document).encode(), FILE)


async def started(runtime: FakeRuntime, pod: Pod) -> ContainerInfo:
    """The pod's first container, created and running in a fresh sandbox."""
    sandbox = await runtime.run_pod_sandbox(pod, 0)
    container = (pod.spec.containers or [])[0]
    context = PodContext(host_ip="127.0.0.1", pod_ip="127.0.0.1", volumes_dir="/nonexistent")
    spec = container_spec(pod, container, 0, "regular", context)
    container_id = await runtime.create_container(sandbox, pod, spec)
    await runtime.start_container(container_id)
    return runtime.containers[container_id]


def hooks_on(runtime: FakeRuntime) -> tuple[HookRunner, PodEvents]:
    events = PodEvents()
    return HookRunner(runtime, events, lambda pod: "127.0.0.1"), events


def test_a_pre_stop_hook_runs_before_the_stop_signal() -> None:
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, _ = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, pod, 30.0)
        assert runtime.steps == ["exec hook", "stop"]
        assert runtime.graces == [30.0]

    run(scenario)


def test_a_failed_pre_stop_hook_is_an_event_and_the_container_still_stops() -> None:
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        runtime.script_exec(HOOK, ScriptedExec(exit_code=3, output=b"secret"))
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, pod, 30.0)
        assert runtime.steps == ["exec hook", "stop"]
        (event,) = events.of(KEY)
        assert (event.reason, event.type) == ("FailedPreStopHook", "Warning")
        assert event.message == "PreStopHook failed"  # the output may hold secrets

    run(scenario)


def test_a_pre_stop_hook_longer_than_the_grace_period_is_cut_short() -> None:
    pod = hooked_pod(preStop={"sleep": {"seconds": 3600}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, _ = hooks_on(runtime)
        target = await started(runtime, pod)
        await asyncio.wait_for(hooks.kill(KEY, target, pod, 1.0), timeout=30)
        # the grace is spent; the stop still gets the kubelet's minimum
        assert runtime.graces == [2.0]

    run(scenario)


def test_the_stop_gets_what_the_pre_stop_hook_left_of_the_grace_period() -> None:
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        runtime.script_exec(HOOK, ScriptedExec(duration=1.0))
        hooks, _ = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, pod, 600.0)
        (grace,) = runtime.graces
        # the hook's whole seconds come off: at least one, and the hook did end
        assert 2.0 <= grace <= 599.0

    run(scenario)


def test_a_container_whose_spec_is_gone_runs_the_pre_stop_hook_its_annotations_keep() -> None:
    """``restoreSpecsFromContainerLabels``: the hook is read back from the annotations."""
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, _ = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, None, 1.0)
        assert runtime.steps == ["exec hook", "stop"]

    run(scenario)


def test_a_pod_known_only_from_the_runtime_is_stopped_without_its_hook() -> None:
    """The kubelet kills an orphan as ``runningPod.ToAPIPod()``: names and images, no
    lifecycle, so no preStop hook runs; its grace override of 1 s becomes the 2 s minimum."""
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, _ = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, None, 1.0, pre_stop=False)
        assert runtime.steps == ["stop"]
        assert runtime.graces == [2.0]

    run(scenario)


def test_a_container_without_hooks_is_only_stopped() -> None:
    pod = hooked_pod()

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        await hooks.kill(KEY, target, pod, 0.0)
        assert runtime.steps == ["stop"]
        assert runtime.graces == [2.0]
        assert events.of(KEY) == []

    run(scenario)


def test_a_failed_post_start_hook_kills_the_container_in_the_kubelets_words() -> None:
    pod = hooked_pod(postStart={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        runtime.script_exec(HOOK, ScriptedExec(exit_code=1, output=b"no"))
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        assert not await hooks.post_start(KEY, pod, (pod.spec.containers or [])[0], target)
        assert runtime.containers[target.id].state == "exited"
        failed, killing = events.of(KEY)
        assert failed.reason == "FailedPostStartHook"
        assert failed.message == (
            f'Exec lifecycle hook ([hook]) for Container "app" in Pod'
            f" \"web-node1_default({pod.metadata.uid})\" failed - error: command 'hook' exited"
            ' with 1: no, message: "no"'
        )
        assert (killing.reason, killing.message) == ("Killing", "FailedPostStartHook")

    run(scenario)


def test_a_post_start_hook_that_succeeds_leaves_the_container_running() -> None:
    pod = hooked_pod(postStart={"sleep": {"seconds": 1}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        assert await hooks.post_start(KEY, pod, (pod.spec.containers or [])[0], target)
        assert runtime.containers[target.id].state == "running"
        assert events.of(KEY) == []

    run(scenario)


def test_a_tcp_socket_hook_fails_as_on_the_kubelet() -> None:
    pod = hooked_pod(postStart={"tcpSocket": {"port": 80}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        assert not await hooks.post_start(KEY, pod, (pod.spec.containers or [])[0], target)
        assert events.of(KEY)[0].message.startswith("Cannot run handler: invalid handler")

    run(scenario)


def test_an_http_hook_succeeds_on_any_answer_and_says_it_is_a_lifecycle_hook() -> None:
    async def scenario() -> None:
        requests: list[bytes] = []

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pod = hooked_pod(
            ports=[{"name": "web", "containerPort": port}],
            postStart={"httpGet": {"path": "/started", "port": "web"}},
        )
        runtime = StopRecordingRuntime()
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        assert await hooks.post_start(KEY, pod, (pod.spec.containers or [])[0], target)
        server.close()
        (request,) = requests
        assert request.startswith(b"GET /started HTTP/1.1\r\n")
        assert b"\r\nUser-Agent: kube-lifecycle/1.32\r\n" in request
        assert events.of(KEY) == []

    run(scenario)


def test_an_http_hook_nobody_answers_fails() -> None:
    async def scenario() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        pod = hooked_pod(postStart={"httpGet": {"path": "/x", "port": port}})
        runtime = StopRecordingRuntime()
        hooks, events = hooks_on(runtime)
        target = await started(runtime, pod)
        assert not await hooks.post_start(KEY, pod, (pod.spec.containers or [])[0], target)
        message = events.of(KEY)[0].message
        assert message.startswith('HTTP lifecycle hook (/x) for Container "app" in Pod')
        assert "connection refused" in message

    run(scenario)


def test_the_pod_loop_restarts_a_container_whose_post_start_hook_failed(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    pod = hooked_pod(postStart={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = FakeRuntime()
        runtime.script_exec(HOOK, ScriptedExec(exit_code=1))
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod))
            await eventually(
                lambda: container_status(runner, pod)["restartCount"] >= 1,
                "a restart after the failed hook",
            )

    run(scenario)
    assert captured_logs.records("post-start hook failed")


def test_a_container_is_not_reported_running_until_its_post_start_hook_ends(
    settings: WorkerSettings,
) -> None:
    pod = hooked_pod(postStart={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = FakeRuntime()
        release = asyncio.Event()
        original = runtime.exec_sync

        async def held(container_id: str, command: Any, timeout: float) -> Any:
            await release.wait()
            return await original(container_id, command, timeout)

        runtime.exec_sync = held  # type: ignore[method-assign]
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod))
            await eventually(lambda: any(c.state == "running" for c in runtime.containers.values()))
            await asyncio.sleep(0.2)  # several resync periods: the loop is held in the hook
            assert "running" not in container_status(runner, pod)["state"]
            release.set()
            await eventually(lambda: "running" in container_status(runner, pod)["state"])

    run(scenario)


def test_removing_a_pod_runs_its_pre_stop_hooks(settings: WorkerSettings) -> None:
    pod = hooked_pod(preStop={"exec": {"command": HOOK}})

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod))
            await eventually(lambda: any(c.state == "running" for c in runtime.containers.values()))
            runner.submit(removed(pod))
            await eventually(lambda: not runtime.containers, "the pod removed")
        assert runtime.steps[:2] == ["exec hook", "stop"]

    run(scenario)


def test_a_container_killed_by_its_liveness_probe_runs_its_pre_stop_hook_first(
    settings: WorkerSettings,
) -> None:
    document = pod_document("web")
    document["spec"]["containers"][0].update(
        livenessProbe={"exec": {"command": ["check"]}, "periodSeconds": 1, "failureThreshold": 1},
        lifecycle={"preStop": {"exec": {"command": HOOK}}},
    )
    pod = decoded(json.dumps(document).encode(), FILE)

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        runtime.script_exec(["check"], ScriptedExec(exit_code=1))
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod))
            await eventually(lambda: "stop" in runtime.steps, "the probe's kill", timeout=10)
        first_stop = runtime.steps.index("stop")
        assert runtime.steps[first_stop - 1] == "exec hook"

    run(scenario)
