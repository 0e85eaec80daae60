"""PodRunner on the fake runtime: one sync loop per pod name, driven by the pure lifecycle.

A replaced pod is fully stopped before its successor with the same name starts (the
kubelet's ``allowStaticPodStart``); different pods proceed in parallel; containers are
restarted by the restart policy, init containers run one at a time in order.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from fastpod.config.settings import FakeLatencies
from fastpod.model import Pod
from fastpod.runtime.base import ContainerInfo, RuntimeCallError
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import CONTAINER_NAME, MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import DEFAULT_SANDBOX, SandboxSecurity
from fastpod.runtime.spec import (
    CONTAINER_HASH,
    CONTAINER_KIND,
    RESTART_COUNT,
    ContainerSpec,
    Mount,
)
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, removed, run, runner_on, shut_down, updated

SLOW = FakeLatencies(
    run_sandbox=0.01, create_container=0.01, start_container=0.01, stop_container=0.01, remove=0.01
)


T = TypeVar("T")


class RecordingRuntime(FakeRuntime):
    """A fake runtime that records each call's start and end with the pod UID concerned,
    and which pods had running containers after each start.

    ``failing`` names calls that raise :class:`RuntimeCallError` the next time they are made.
    """

    def __init__(
        self, latencies: FakeLatencies | None = None, images: set[str] | None = None
    ) -> None:
        super().__init__(latencies, images)
        self.calls: list[tuple[str, str, str]] = []
        self.grace_periods: list[float] = []
        self.created: list[str] = []
        self.running_pods: list[set[str]] = []
        self.failing: set[str] = set()

    async def _record(self, call: str, uid: str, body: Awaitable[T]) -> T:
        self.calls.append(("begin", call, uid))
        if call in self.failing:
            self.failing.discard(call)
            if asyncio.iscoroutine(body):
                body.close()
            raise RuntimeCallError(f"{call}: injected failure")
        result = await body
        self.calls.append(("end", call, uid))
        return result

    def _sandbox_uid(self, sandbox_id: str) -> str:
        sandbox = self.sandboxes.get(sandbox_id)
        return sandbox.pod_uid if sandbox else "?"

    def _container_uid(self, container_id: str) -> str:
        container = self.containers.get(container_id)
        return container.pod_uid if container else "?"

    def _running_pods(self) -> set[str]:
        return {info.pod_uid for info in self.containers.values() if info.state == "running"}

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        uid = pod.metadata.uid or ""
        started = super().run_pod_sandbox(pod, attempt, security, sandbox=sandbox)
        return await self._record("run_pod_sandbox", uid, started)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        uid = self._sandbox_uid(sandbox_id)
        await self._record("stop_pod_sandbox", uid, super().stop_pod_sandbox(sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        uid = self._sandbox_uid(sandbox_id)
        await self._record("remove_pod_sandbox", uid, super().remove_pod_sandbox(sandbox_id))

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        uid = pod.metadata.uid or ""
        body = super().create_container(sandbox_id, pod, spec)
        container_id = await self._record("create_container", uid, body)
        self.created.append(spec.name)
        return container_id

    async def start_container(self, container_id: str) -> None:
        uid = self._container_uid(container_id)
        self.running_pods.append(self._running_pods())
        await self._record("start_container", uid, super().start_container(container_id))
        self.running_pods.append(self._running_pods())

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        uid = self._container_uid(container_id)
        self.grace_periods.append(grace_period)
        body = super().stop_container(container_id, grace_period)
        await self._record("stop_container", uid, body)

    async def remove_container(self, container_id: str) -> None:
        uid = self._container_uid(container_id)
        await self._record("remove_container", uid, super().remove_container(container_id))


async def idle(runner: PodRunner) -> None:
    await asyncio.wait_for(runner.idle(), 5.0)


def containers_of(
    runtime: FakeRuntime, name: str | None = None, uid: str | None = None
) -> list[ContainerInfo]:
    return sorted(
        (
            info
            for info in runtime.containers.values()
            if name in (None, info.name) and uid in (None, info.pod_uid)
        ),
        key=lambda info: (info.restart_count, info.created),
    )


def running(runtime: FakeRuntime, name: str | None = None, uid: str | None = None) -> list[str]:
    """The ids of the running containers (of ``name``, of pod ``uid``)."""
    return [info.id for info in containers_of(runtime, name, uid) if info.state == "running"]


def running_count(runtime: FakeRuntime, name: str, restart_count: int) -> str | None:
    """The id of the running container ``name`` with that restart count, if there is one."""
    for info in containers_of(runtime, name):
        if info.state == "running" and info.restart_count == restart_count:
            return info.id
    return None


def ready_sandboxes(runtime: FakeRuntime, uid: str | None = None) -> list[str]:
    return [s.id for s in runtime.sandboxes.values() if s.ready and uid in (None, s.pod_uid)]


def calls_of(runtime: RecordingRuntime, uid: str | None) -> list[tuple[str, str]]:
    return [(phase, call) for phase, call, of in runtime.calls if of == uid]


async def resyncs(settings: WorkerSettings, count: int = 4) -> None:
    """Let a few resync periods pass, for what must *not* happen."""
    await asyncio.sleep(settings.resync_period * count)


def test_an_added_pod_runs_a_sandbox_and_each_of_its_containers_with_the_kubelet_labels(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", containers=("app", "sidecar"), labels={"tier": "web"})
    uid = web.metadata.uid or ""

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")

            (sandbox,) = runtime.sandboxes.values()
            assert sandbox.ready
            assert sandbox.labels[POD_NAME] == "web-node1"
            assert sandbox.labels[POD_NAMESPACE] == "default"
            assert sandbox.labels[POD_UID] == uid
            assert sandbox.labels[MANAGED_BY] == "true"
            assert sandbox.labels["tier"] == "web"
            containers = containers_of(runtime)
            assert sorted(info.labels[CONTAINER_NAME] for info in containers) == ["app", "sidecar"]
            for info in containers:
                assert info.sandbox_id == sandbox.id
                assert info.labels[POD_NAME] == "web-node1"
                assert info.labels[POD_NAMESPACE] == "default"
                assert info.labels[POD_UID] == uid
                assert info.labels[MANAGED_BY] == "true"
                assert info.labels[RESTART_COUNT] == "0"
                assert info.labels[CONTAINER_KIND] == "regular"
                assert info.labels[CONTAINER_HASH]
                assert runtime.specs[info.id].image == "busybox:1.36"
            # the loop keeps the pod
            assert pod_key("web") in runner.loops
            pod_dir = f"default_web-node1_{uid}"
            assert os.path.isdir(os.path.join(settings.pod_logs_dir, pod_dir))
            # nothing more is started on later syncs
            await resyncs(settings)
            assert len(runtime.containers) == 2
            assert len(runtime.sandboxes) == 1

    run(scenario)
    started = captured_logs.records("container started")
    assert sorted(record["container"] for record in started) == ["app", "sidecar"]
    assert all(record["pod"] == pod_key("web") for record in started)
    assert all(record["restart_count"] == 0 for record in started)


def test_a_crashed_container_under_always_is_replaced_keeping_one_dead_container(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")
            (sandbox_id,) = ready_sandboxes(runtime)
            (sidecar,) = running(runtime, "sidecar")

            for crash in range(4):
                container_id = running_count(runtime, "app", crash)
                assert container_id is not None
                runtime.exit(container_id, 1)

                def restarted(count: int = crash + 1) -> bool:
                    return running_count(runtime, "app", count) is not None

                await eventually(restarted, f"app restarted with restartCount {crash + 1}")
                dead = [info for info in containers_of(runtime, "app") if info.state == "exited"]
                assert [(info.id, info.exit_code) for info in dead] == [(container_id, 1)]

            # the restarts happen in the same sandbox, beside the untouched sidecar
            assert ready_sandboxes(runtime) == [sandbox_id]
            assert running(runtime, "sidecar") == [sidecar]
            assert {info.sandbox_id for info in containers_of(runtime)} == {sandbox_id}
            assert len(containers_of(runtime, "app")) == 2

    run(scenario)
    exits = captured_logs.records("container exited")
    assert [(record["container"], record["exit_code"]) for record in exits] == [("app", 1)] * 4
    assert [record["restart_count"] for record in exits] == [0, 1, 2, 3]
    app_starts = [r for r in captured_logs.records("container started") if r["container"] == "app"]
    assert [record["restart_count"] for record in app_starts] == [0, 1, 2, 3, 4]


def test_a_container_exiting_zero_under_on_failure_is_not_restarted_and_the_sandbox_stops(
    settings: WorkerSettings,
) -> None:
    job = pod("job", containers=("first", "second"), extra_spec={"restartPolicy": "OnFailure"})

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(job))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")
            (first,) = running(runtime, "first")
            (second,) = running(runtime, "second")

            runtime.exit(first, 0)
            await resyncs(settings)
            assert running(runtime) == [second]
            assert len(ready_sandboxes(runtime)) == 1

            runtime.exit(second, 0)
            await eventually(lambda: not ready_sandboxes(runtime), "the sandbox stopped")
            await resyncs(settings)
            assert sorted(runtime.containers) == sorted([first, second])
            assert all(info.state == "exited" for info in runtime.containers.values())
            assert len(runtime.sandboxes) == 1
            assert not ready_sandboxes(runtime)

    run(scenario)


def test_a_failed_container_under_on_failure_is_restarted(settings: WorkerSettings) -> None:
    job = pod("job", extra_spec={"restartPolicy": "OnFailure"})

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(job))
            await eventually(lambda: running_count(runtime, "app", 0), "app running")
            runtime.exit(running_count(runtime, "app", 0) or "", 2)
            await eventually(lambda: running_count(runtime, "app", 1), "app restarted")

    run(scenario)


def test_a_container_under_never_is_not_restarted(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    once = pod("once", extra_spec={"restartPolicy": "Never"})

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(once))
            await eventually(lambda: running(runtime), "app running")
            (app,) = running(runtime)

            runtime.exit(app, 1)
            await eventually(lambda: not ready_sandboxes(runtime), "the sandbox stopped")
            await resyncs(settings)

            assert list(runtime.containers) == [app]
            assert runtime.containers[app].exit_code == 1
            assert len(runtime.sandboxes) == 1

    run(scenario)
    assert [record["exit_code"] for record in captured_logs.records("container exited")] == [1]
    assert len(captured_logs.records("container started")) == 1


def test_init_containers_run_one_at_a_time_in_order_before_the_main_containers(
    settings: WorkerSettings,
) -> None:
    web = pod(
        "web",
        containers=("app", "sidecar"),
        extra_spec={
            "initContainers": [
                {"name": "one", "image": "busybox:1.36"},
                {"name": "two", "image": "busybox:1.36"},
            ]
        },
    )

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: running(runtime, "one"), "init container one running")
            await resyncs(settings)
            assert runtime.created == ["one"]
            (one,) = running(runtime, "one")
            assert runtime.containers[one].kind == "init"

            runtime.exit(one, 0)
            await eventually(lambda: running(runtime, "two"), "init container two running")
            await resyncs(settings)
            assert runtime.created == ["one", "two"]

            runtime.exit(running(runtime, "two")[0], 0)
            await eventually(lambda: len(running(runtime)) == 2, "the main containers running")
            assert runtime.created[:2] == ["one", "two"]
            assert sorted(runtime.created[2:]) == ["app", "sidecar"]
            # the completed init containers are not run again
            await resyncs(settings)
            assert len(runtime.created) == 4
            assert len(ready_sandboxes(runtime)) == 1
            assert {info.sandbox_id for info in containers_of(runtime)} == set(
                ready_sandboxes(runtime)
            )

    run(scenario)


def test_a_failed_init_container_is_retried_before_the_next_one_runs(
    settings: WorkerSettings,
) -> None:
    web = pod(
        "web",
        extra_spec={
            "initContainers": [
                {"name": "one", "image": "busybox:1.36"},
                {"name": "two", "image": "busybox:1.36"},
            ]
        },
    )

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: running_count(runtime, "one", 0), "one running")
            runtime.exit(running_count(runtime, "one", 0) or "", 1)
            await eventually(lambda: running_count(runtime, "one", 1), "one run again")
            assert runtime.created == ["one", "one"]

    run(scenario)


def test_a_removed_pod_has_everything_stopped_and_removed_and_its_loop_ends(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod(
        "web",
        containers=("app", "sidecar"),
        extra_spec={"volumes": [{"name": "scratch", "emptyDir": {}}]},
    )
    uid = web.metadata.uid or ""
    own_dir = os.path.join(settings.root_dir, "pods", uid)
    volumes_dir = os.path.join(own_dir, "volumes")
    pod_dir = os.path.join(settings.pod_logs_dir, f"default_web-node1_{uid}")

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")
            assert os.path.isdir(os.path.join(volumes_dir, "empty-dir", "scratch"))
            assert sorted(os.listdir(os.path.join(own_dir, "containers"))) == ["app", "sidecar"]
            assert os.path.isdir(pod_dir)

            runner.submit(removed(web))
            await idle(runner)

            assert runtime.sandboxes == {}
            assert runtime.containers == {}
            assert runner.loops == {}
            ends = [call for phase, call in calls_of(runtime, uid) if phase == "end"]
            # the containers first, then the sandbox
            assert sorted(ends[-6:-2]) == ["remove_container"] * 2 + ["stop_container"] * 2
            assert ends[-2:] == ["stop_pod_sandbox", "remove_pod_sandbox"]
            # terminationGracePeriodSeconds defaults to 30
            assert runtime.grace_periods == [30.0, 30.0]
            assert not os.path.exists(own_dir), "its volumes and termination message files"
            assert not os.path.exists(pod_dir)

    run(scenario)
    (stopped,) = captured_logs.records("pod stopped")
    assert stopped["pod"] == pod_key("web")
    assert stopped["uid"] == uid


def test_each_container_instance_gets_a_termination_message_file_mounted_at_its_path(
    settings: WorkerSettings,
) -> None:
    web = pod("web", containers=("app", "sidecar"))
    sidecar = (web.spec.containers or [])[1]
    sidecar.termination_message_path = "/tmp/last-words"
    containers_dir = os.path.join(settings.root_dir, "pods", web.metadata.uid or "", "containers")
    runtime = FakeRuntime()

    def message_mount(container_id: str) -> Mount:
        """The last mount the container was created with, where the kubelet puts it."""
        *_, mount = runtime.specs[container_id].mounts
        return mount

    async def scenario() -> None:
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")
            (app,) = running(runtime, "app")
            (side,) = running(runtime, "sidecar")
            first = message_mount(app)
            assert first.container_path == "/dev/termination-log"
            assert message_mount(side).container_path == "/tmp/last-words"
            for container_id, name in ((app, "app"), (side, "sidecar")):
                host_file = message_mount(container_id).host_path
                assert os.path.dirname(host_file) == os.path.join(containers_dir, name)
                assert os.path.getsize(host_file) == 0
                assert os.stat(host_file).st_mode & 0o777 == 0o666
                assert not message_mount(container_id).read_only

            runtime.exit(app, 1)
            await eventually(lambda: running_count(runtime, "app", 1) is not None, "restarted")
            restarted = running_count(runtime, "app", 1)
            assert restarted is not None
            assert message_mount(restarted).host_path != first.host_path, "its own file"
            assert os.path.exists(first.host_path), "the dead instance's file is kept"

    run(scenario)


def test_a_termination_message_file_that_cannot_be_made_leaves_the_container_without_one(
    settings: WorkerSettings, captured_logs: LogCapture, tmp_path: Path
) -> None:
    """The kubelet then mounts nothing and runs the container: so does fastpod, saying why."""
    web = pod("web")
    blocked = Path(settings.pod_dir(web.metadata.uid or "")) / "containers"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("a file where the containers' directory should be")

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 1, "the container running")
            (app,) = running(runtime)
            assert [mount.container_path for mount in runtime.specs[app].mounts] == ["/etc/hosts"]

    run(scenario)
    (record,) = captured_logs.records("termination message file not created")
    assert record["pod"] == pod_key("web")
    assert record["container"] == "app"
    assert "Not a directory" in record["error"]


class UnstartableRuntime(FakeRuntime):
    """A runtime that cannot start containers, failing as the real ones fail: the start
    raises, and the container has exited with code 128 (a mount the runtime refused)."""

    async def start_container(self, container_id: str) -> None:
        self.exit(container_id, 128)
        raise RuntimeCallError(f"StartContainer {container_id}: error mounting: not a directory")


def test_a_container_whose_starts_fail_is_restarted_under_the_crash_loop_back_off(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """A failed start counts as a restart: the next one waits, instead of a runtime call
    after every sync."""

    def backing_off() -> bool:
        waiting = captured_logs.records("container waiting")
        return any(record["reason"] == "CrashLoopBackOff" for record in waiting)

    async def scenario() -> None:
        runtime = UnstartableRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod("web")))
            await eventually(backing_off, "CrashLoopBackOff")

    run(scenario)
    assert captured_logs.records("runtime call failed")


def test_a_removed_pod_is_stopped_with_its_own_grace_period(settings: WorkerSettings) -> None:
    web = pod("web", extra_spec={"terminationGracePeriodSeconds": 5})
    quick = pod("quick", extra_spec={"terminationGracePeriodSeconds": 0})

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            for each in (web, quick):
                runner.submit(added(each))
            await eventually(lambda: len(running(runtime)) == 2, "both pods running")
            runner.submit(removed(web))
            await eventually(lambda: pod_key("web") not in runner.loops, "web removed")
            runner.submit(removed(quick))
            await idle(runner)

            # never less than the kubelet's minimum of 2 s
            assert runtime.grace_periods == [5.0, 2.0]

    run(scenario)


def test_removing_a_pod_that_never_ran_does_nothing(settings: WorkerSettings) -> None:
    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(removed(pod("web")))
            assert runner.loops == {}
            await idle(runner)

            assert runtime.calls == []

    run(scenario)


def test_a_replacement_never_runs_both_pods_at_once(settings: WorkerSettings) -> None:
    old = pod("web", containers=("app", "sidecar"))
    new = pod("web", containers=("app", "sidecar"), image="busybox:1.37")
    old_uid, new_uid = old.metadata.uid or "", new.metadata.uid or ""
    assert old_uid != new_uid

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(old))
            await eventually(lambda: len(running(runtime, uid=old_uid)) == 2, "old running")
            runtime.calls.clear()

            runner.submit(removed(old))
            runner.submit(added(new))
            await eventually(lambda: len(running(runtime, uid=new_uid)) == 2, "new running")

            assert all(len(uids) <= 1 for uids in runtime.running_pods)
            uids = [uid for _, _, uid in runtime.calls]
            last_old = len(uids) - 1 - uids[::-1].index(old_uid)
            first_new = uids.index(new_uid)
            assert last_old < first_new
            assert runtime.calls[last_old] == ("end", "remove_pod_sandbox", old_uid)
            assert runtime.calls[first_new] == ("begin", "run_pod_sandbox", new_uid)
            (sandbox,) = runtime.sandboxes.values()
            assert sandbox.pod_uid == new_uid
            assert len(runtime.containers) == 2
            assert {runtime.specs[i].image for i in runtime.containers} == {"busybox:1.37"}

    run(scenario)


def test_a_replacement_submitted_while_the_old_pod_starts_waits_for_it_to_stop(
    settings: WorkerSettings,
) -> None:
    old = pod("web")
    new = pod("web", image="busybox:1.37")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(old))
            await eventually(lambda: runtime.calls, "the old pod starting")
            runner.submit(removed(old))
            runner.submit(added(new))
            await eventually(lambda: running(runtime, uid=new.metadata.uid), "the new pod running")
            await resyncs(settings)

            assert all(len(uids) <= 1 for uids in runtime.running_pods)
            assert {info.pod_uid for info in runtime.containers.values()} == {new.metadata.uid}
            assert {s.pod_uid for s in runtime.sandboxes.values()} == {new.metadata.uid}

    run(scenario)


def test_a_pod_added_and_removed_back_to_back_ends_with_nothing_running(
    settings: WorkerSettings,
) -> None:
    web = pod("web")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            runner.submit(removed(web))
            runner.submit(added(web))
            runner.submit(removed(web))
            await idle(runner)

            assert runtime.sandboxes == {}
            assert runtime.containers == {}
            assert runner.loops == {}

    run(scenario)


def test_different_pods_are_started_concurrently(settings: WorkerSettings) -> None:
    first, second = pod("first"), pod("second")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(first))
            runner.submit(added(second))
            await eventually(lambda: len(running(runtime)) == 2, "both pods running")

            starts = [
                (phase, uid) for phase, call, uid in runtime.calls if call == "run_pod_sandbox"
            ]
            # both sandboxes begin before either ends
            assert [phase for phase, _ in starts] == ["begin", "begin", "end", "end"]
            assert len(runtime.sandboxes) == 2

    run(scenario)


def test_an_update_adding_a_container_starts_it_beside_the_running_one(
    settings: WorkerSettings,
) -> None:
    old = pod("web", uid="fixed-uid", containers=("app",))
    new = pod("web", uid="fixed-uid", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(old))
            await eventually(lambda: running(runtime, "app"), "app running")
            (app,) = running(runtime, "app")

            runner.submit(updated(new, old))
            await eventually(lambda: running(runtime, "sidecar"), "sidecar running")

            assert running(runtime, "app") == [app]
            (sandbox,) = runtime.sandboxes.values()
            assert {info.sandbox_id for info in runtime.containers.values()} == {sandbox.id}
            assert runtime.grace_periods == []

    run(scenario)


def test_an_update_changing_an_image_replaces_that_container(
    settings: WorkerSettings,
) -> None:
    old = pod(
        "web", uid="fixed-uid", containers=("app",), extra_spec={"terminationGracePeriodSeconds": 7}
    )
    new = pod(
        "web",
        uid="fixed-uid",
        containers=("app",),
        image="busybox:1.37",
        extra_spec={"terminationGracePeriodSeconds": 7},
    )

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(old))
            await eventually(lambda: running(runtime, "app"), "app running")
            (first,) = running(runtime, "app")

            runner.submit(updated(new, old))
            await eventually(lambda: running_count(runtime, "app", 1), "app replaced")

            (second,) = running(runtime, "app")
            assert runtime.specs[second].image == "busybox:1.37"
            assert runtime.containers[first].state == "exited"
            assert runtime.grace_periods == [7.0]
            assert len(runtime.sandboxes) == 1

    run(scenario)


def test_a_pod_already_running_is_adopted_without_starting_anything(
    settings: WorkerSettings,
) -> None:
    web = pod("web", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as before:
            before.submit(added(web))
            await eventually(lambda: len(running(runtime)) == 2, "both containers running")
        # the first runner is closed: its pods keep running
        sandboxes = dict(runtime.sandboxes)
        containers = dict(runtime.containers)
        assert len(running(runtime)) == 2
        runtime.calls.clear()

        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await resyncs(settings)
            assert runtime.calls == []
            assert runtime.sandboxes == sandboxes
            assert runtime.containers == containers

            # and it is this runner's to restart and to remove
            runtime.exit(running(runtime, "app")[0], 1)
            await eventually(lambda: running_count(runtime, "app", 1), "app restarted")
            runner.submit(removed(web))
            await idle(runner)
            assert runtime.sandboxes == {}
            assert runtime.containers == {}

    run(scenario)


def test_close_leaves_the_pods_running(settings: WorkerSettings) -> None:
    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: running(runtime), "app running")
        assert runner.loops == {}
        assert len(running(runtime)) == 1
        assert len(ready_sandboxes(runtime)) == 1

    run(scenario)


def test_an_image_missing_under_never_pull_creates_no_container(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", image_pull_policy="Never")

    async def scenario() -> None:
        runtime = RecordingRuntime(images=set())
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(
                lambda: captured_logs.records("container waiting"), "a container waiting"
            )
            await resyncs(settings)
            assert runtime.containers == {}
            assert "create_container" not in {call for _, call, _ in runtime.calls}

    run(scenario)
    waiting = captured_logs.records("container waiting")
    assert {record["reason"] for record in waiting} == {"ErrImageNeverPull"}
    assert waiting[0]["pod"] == pod_key("web")
    assert waiting[0]["image"] == "busybox:1.36"
    assert captured_logs.records("image pull failed") == []


def test_an_image_missing_under_if_not_present_fails_to_pull_then_backs_off(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", image_pull_policy="IfNotPresent")

    def reasons() -> list[str]:
        return [record["reason"] for record in captured_logs.records("container waiting")]

    async def scenario() -> None:
        runtime = FakeRuntime(images=set())
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: "ImagePullBackOff" in reasons(), "ImagePullBackOff")
            assert runtime.containers == {}

    run(scenario)
    events = [
        (record["event"], record.get("reason"))
        for record in captured_logs.records()
        if record["event"] in ("image pull failed", "container waiting")
    ]
    assert events[0] == ("image pull failed", None)
    assert ("container waiting", "ImagePullBackOff") in events[1:]
    (failure, *_) = captured_logs.records("image pull failed")
    assert failure["image"] == "busybox:1.36"
    assert failure["pod"] == pod_key("web")
    assert "busybox:1.36" in failure["error"]


class ImageStatusCounting(FakeRuntime):
    """Counts the image status calls."""

    def __init__(self, images: set[str]) -> None:
        super().__init__(images=images)
        self.image_checks = 0

    async def image_present(self, image: str) -> bool:
        self.image_checks += 1
        return await super().image_present(image)


def test_a_restart_creates_its_container_without_asking_for_the_image_first(
    settings: WorkerSettings,
) -> None:
    async def scenario() -> None:
        runtime = ImageStatusCounting({"busybox:1.36"})
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: running_count(runtime, "app", 0), "app running")
            assert runtime.image_checks == 1
            runtime.exit(running_count(runtime, "app", 0) or "", 1)
            await eventually(lambda: running_count(runtime, "app", 1), "app restarted")
            assert runtime.image_checks == 1

    run(scenario)


def test_a_restart_whose_image_has_gone_waits_as_its_pull_policy_says(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", image_pull_policy="Never")

    async def scenario() -> None:
        runtime = FakeRuntime(images={"busybox:1.36"})
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: running_count(runtime, "app", 0), "app running")
            assert runtime.images is not None
            runtime.images.clear()
            runtime.exit(running_count(runtime, "app", 0) or "", 1)
            await eventually(
                lambda: captured_logs.records("container waiting"), "the restart waiting"
            )
            assert running(runtime) == []

    run(scenario)
    # the failed start counts for the back-off, so a later sync may wait in
    # CrashLoopBackOff, as the kubelet's doBackOff has it; the first wait is the image's
    reasons = [record["reason"] for record in captured_logs.records("container waiting")]
    assert reasons[0] == "ErrImageNeverPull"
    assert set(reasons) <= {"ErrImageNeverPull", "CrashLoopBackOff"}
    assert captured_logs.records("runtime call failed") == []


def test_an_image_present_under_if_not_present_is_not_pulled(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", image_pull_policy="IfNotPresent")

    async def scenario() -> None:
        runtime = FakeRuntime(images={"busybox:1.36"})
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: running(runtime), "app running")

    run(scenario)
    assert captured_logs.records("image pull failed") == []


def test_a_failing_runtime_call_is_logged_and_retried_on_the_next_sync(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web, api = pod("web"), pod("api")

    async def scenario() -> None:
        runtime = RecordingRuntime()
        runtime.failing.add("run_pod_sandbox")
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: captured_logs.records("runtime call failed"), "a failure")
            runner.submit(added(api))
            await eventually(lambda: len(running(runtime)) == 2, "both pods running")
            assert len(runtime.sandboxes) == 2

    run(scenario)
    (failure,) = captured_logs.records("runtime call failed")
    assert failure["level"] == "error"
    assert failure["pod"] == pod_key("web")
    assert "injected failure" in failure["error"]


def test_a_failure_does_not_block_the_removal_of_the_same_pod(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        runtime.failing.add("start_container")
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: captured_logs.records("runtime call failed"), "a failure")
            runner.submit(removed(web))
            await idle(runner)

            assert runtime.sandboxes == {}
            assert runtime.containers == {}
            assert runner.loops == {}

    run(scenario)


def test_a_removed_pod_whose_stop_fails_is_stopped_again_until_it_is_gone(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web")
    uid = web.metadata.uid or ""

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: running(runtime), "app running")
            runtime.failing.add("stop_container")
            runner.submit(removed(web))
            await idle(runner)

            assert runtime.sandboxes == {}
            assert runtime.containers == {}

    run(scenario)
    (failure,) = captured_logs.records("runtime call failed")
    assert "stop_container: injected failure" in failure["error"]
    (stopped,) = captured_logs.records("pod stopped")
    assert stopped["uid"] == uid


def test_a_replacement_waits_until_the_old_pod_could_be_removed(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    old = pod("web")
    new = pod("web", image="busybox:1.37")

    async def scenario() -> None:
        runtime = RecordingRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(old))
            await eventually(lambda: running(runtime), "old pod running")
            runtime.failing.add("remove_pod_sandbox")
            runner.submit(updated(new, old))
            await eventually(lambda: running(runtime, uid=new.metadata.uid), "new pod running")

            assert {sandbox.pod_uid for sandbox in runtime.sandboxes.values()} == {new.metadata.uid}
            removed_old = max(
                index
                for index, call in enumerate(runtime.calls)
                if call == ("end", "remove_pod_sandbox", old.metadata.uid)
            )
            started_new = runtime.calls.index(("begin", "run_pod_sandbox", new.metadata.uid or ""))
            assert removed_old < started_new

    run(scenario)
    assert len(captured_logs.records("runtime call failed")) == 1


def test_runtime_events_wake_the_pod_without_waiting_for_the_resync(
    settings: WorkerSettings,
) -> None:
    slow_resync = replace(settings, resync_period=60.0)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, slow_resync) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: running_count(runtime, "app", 0), "app running")
            runtime.exit(running_count(runtime, "app", 0) or "", 1)
            await eventually(lambda: running_count(runtime, "app", 1), "app restarted")
            assert runner.loops

    run(scenario)


def test_wake_only_wakes_the_pod_with_that_uid(settings: WorkerSettings) -> None:
    slow_resync = replace(settings, resync_period=60.0)
    web, api = pod("web"), pod("api")

    async def scenario() -> None:
        runtime = FakeRuntime()
        runner = PodRunner(runtime, slow_resync)  # no event follower: wakes by hand only
        try:
            runner.submit(added(web))
            runner.submit(added(api))
            await eventually(lambda: len(running(runtime)) == 2, "both pods running")
            (web_app,) = running(runtime, uid=web.metadata.uid)
            (api_app,) = running(runtime, uid=api.metadata.uid)
            runtime.exit(web_app, 1)
            runtime.exit(api_app, 1)

            runner.wake(api.metadata.uid)
            await eventually(lambda: running(runtime, uid=api.metadata.uid), "api restarted")
            assert running(runtime, uid=web.metadata.uid) == []

            runner.wake(None)
            await eventually(lambda: running(runtime, uid=web.metadata.uid), "web restarted")
        finally:
            await shut_down(runner)

    run(scenario)


def test_a_replaced_pod_is_woken_by_its_new_uid_only(settings: WorkerSettings) -> None:
    slow_resync = replace(settings, resync_period=60.0)
    old, new = pod("web"), pod("web", image="busybox:1.37")

    async def scenario() -> None:
        runtime = FakeRuntime()
        runner = PodRunner(runtime, slow_resync)  # no event follower: wakes by hand only
        try:
            runner.submit(added(old))
            await eventually(lambda: running(runtime, uid=old.metadata.uid), "old pod running")
            runner.submit(updated(new, old))
            await eventually(lambda: running(runtime, uid=new.metadata.uid), "new pod running")
            assert not runner.wake(old.metadata.uid)

            (app,) = running(runtime, uid=new.metadata.uid)
            runtime.exit(app, 1)
            assert runner.wake(new.metadata.uid)
            await eventually(
                lambda: running(runtime, uid=new.metadata.uid) not in ([], [app]), "restarted"
            )

            runner.submit(removed(new))
            await eventually(lambda: not runner.loops, "loop ended")
            assert not runner.wake(new.metadata.uid)
        finally:
            await shut_down(runner)

    run(scenario)


def test_close_ends_the_loops_even_when_a_pod_was_just_woken(settings: WorkerSettings) -> None:
    # On Python 3.11 asyncio.wait_for swallows a cancellation that arrives while the awaited
    # wake event is already set (CPython gh-86296), so the loop in PodRunner._sleep goes on
    async def scenario() -> None:
        runtime = FakeRuntime()
        runner = PodRunner(runtime, settings)
        runner.submit(added(pod("web")))
        await eventually(lambda: running(runtime), "app running")
        await asyncio.sleep(0)
        runner.wake(None)
        try:
            await asyncio.wait_for(runner.close(), 5.0)
            assert runner.loops == {}
        finally:
            await shut_down(runner)

    run(scenario)
