"""PodRunner on the fake runtime: pod changes become sandboxes and containers.

A replaced pod is fully stopped before its successor with the same name starts (the
kubelet's ``allowStaticPodStart``, checklist 36); different pods proceed in parallel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastpod.config import FakeLatencies
from fastpod.model import Container, Pod
from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import CONTAINER_NAME, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.worker.desired import PodChange
from fastpod.worker.pods import PodRunner
from tests.support import FILE
from tests.worker.helpers import LogCapture, decoded, key_of, pod_manifest

SLOW = FakeLatencies(
    run_sandbox=0.01, create_container=0.01, start_container=0.01, stop_container=0.01, remove=0.01
)


class RecordingRuntime(FakeRuntime):
    """A fake runtime that records each call's start and end with the pod UID concerned.

    ``failing`` names calls that raise :class:`RuntimeCallError` the next time they are made.
    """

    def __init__(self, latencies: FakeLatencies | None = None) -> None:
        super().__init__(latencies)
        self.calls: list[tuple[str, str, str]] = []
        self.grace_periods: list[float] = []
        self.failing: set[str] = set()

    async def _record(self, call: str, uid: str, body: Awaitable[Any]) -> Any:
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
        return sandbox.labels[POD_UID] if sandbox else "?"

    def _container_uid(self, container_id: str) -> str:
        container = self.containers.get(container_id)
        return container.labels[POD_UID] if container else "?"

    async def run_pod_sandbox(self, pod: Pod) -> str:
        uid = pod.metadata.uid or ""
        return await self._record("run_pod_sandbox", uid, super().run_pod_sandbox(pod))

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        uid = self._sandbox_uid(sandbox_id)
        await self._record("stop_pod_sandbox", uid, super().stop_pod_sandbox(sandbox_id))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        uid = self._sandbox_uid(sandbox_id)
        await self._record("remove_pod_sandbox", uid, super().remove_pod_sandbox(sandbox_id))

    async def create_container(self, sandbox_id: str, pod: Pod, container: Container) -> str:
        uid = pod.metadata.uid or ""
        body = super().create_container(sandbox_id, pod, container)
        return await self._record("create_container", uid, body)

    async def start_container(self, container_id: str) -> None:
        uid = self._container_uid(container_id)
        await self._record("start_container", uid, super().start_container(container_id))

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        uid = self._container_uid(container_id)
        self.grace_periods.append(grace_period)
        body = super().stop_container(container_id, grace_period)
        await self._record("stop_container", uid, body)

    async def remove_container(self, container_id: str) -> None:
        uid = self._container_uid(container_id)
        await self._record("remove_container", uid, super().remove_container(container_id))


def pod(name: str, **options: Any) -> Pod:
    return decoded(pod_manifest(name, **options), FILE)


def added(the_pod: Pod) -> PodChange:
    return PodChange("added", the_pod, FILE)


def removed(the_pod: Pod) -> PodChange:
    return PodChange("removed", the_pod, FILE)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def calls_of(runtime: RecordingRuntime, uid: str | None) -> list[tuple[str, str]]:
    return [(phase, call) for phase, call, of in runtime.calls if of == uid]


def test_an_added_pod_runs_a_sandbox_and_each_of_its_containers(
    captured_logs: LogCapture,
) -> None:
    web = pod("web", containers=("app", "sidecar"), labels={"tier": "web"})

    async def scenario() -> None:
        runtime = FakeRuntime()
        runner = PodRunner(runtime)
        runner.submit(added(web))
        await runner.idle()

        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.ready
        assert sandbox.labels[POD_NAME] == "web-node1"
        assert sandbox.labels[POD_NAMESPACE] == "default"
        assert sandbox.labels[POD_UID] == web.metadata.uid
        assert sandbox.labels["tier"] == "web"
        containers = await runtime.list_containers()
        assert sorted(container.labels[CONTAINER_NAME] for container in containers) == [
            "app",
            "sidecar",
        ]
        for container in containers:
            assert container.state == "running"
            assert container.sandbox_id == sandbox.id
            assert container.labels[POD_NAME] == "web-node1"
            assert container.labels[POD_NAMESPACE] == "default"
            assert container.labels[POD_UID] == web.metadata.uid
        running = runner.running[web.metadata.uid or ""]
        assert running.sandbox_id == sandbox.id
        assert sorted(running.container_ids) == sorted(container.id for container in containers)

    run(scenario)
    (started,) = captured_logs.records("pod started")
    assert started["pod"] == key_of("web")
    assert started["uid"] == web.metadata.uid


def test_a_removed_pod_has_everything_stopped_and_removed(captured_logs: LogCapture) -> None:
    web = pod("web", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = RecordingRuntime()
        runner = PodRunner(runtime)
        runner.submit(added(web))
        await runner.idle()
        runner.submit(removed(web))
        await runner.idle()

        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        assert runner.running == {}
        ends = [call for phase, call in calls_of(runtime, web.metadata.uid) if phase == "end"]
        # the containers first (in parallel), then the sandbox
        assert sorted(ends[-6:-2]) == ["remove_container"] * 2 + ["stop_container"] * 2
        assert ends[-2:] == ["stop_pod_sandbox", "remove_pod_sandbox"]
        # terminationGracePeriodSeconds defaults to 30
        assert runtime.grace_periods == [30.0, 30.0]

    run(scenario)
    (stopped,) = captured_logs.records("pod stopped")
    assert stopped["pod"] == key_of("web")
    assert stopped["uid"] == web.metadata.uid


def test_a_removed_pod_is_stopped_with_its_own_grace_period() -> None:
    web = pod("web", extra_spec={"terminationGracePeriodSeconds": 5})

    async def scenario() -> None:
        runtime = RecordingRuntime()
        runner = PodRunner(runtime)
        runner.submit(added(web))
        runner.submit(removed(web))
        await runner.idle()

        assert runtime.grace_periods == [5.0]

    run(scenario)


def test_removing_a_pod_that_never_ran_does_nothing() -> None:
    async def scenario() -> None:
        runtime = RecordingRuntime()
        runner = PodRunner(runtime)
        runner.submit(removed(pod("web")))
        await runner.idle()

        assert runtime.calls == []

    run(scenario)


def test_a_replacement_stops_the_old_pod_before_the_new_one_starts() -> None:
    old = pod("web", containers=("app", "sidecar"))
    new = pod("web", containers=("app", "sidecar"), image="busybox:1.37")
    assert old.metadata.uid != new.metadata.uid

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        runner = PodRunner(runtime)
        runner.submit(added(old))
        await runner.idle()
        runtime.calls.clear()

        runner.submit(removed(old))
        runner.submit(added(new))
        await runner.idle()

        uids = [uid for _, _, uid in runtime.calls]
        last_old = len(uids) - 1 - uids[::-1].index(old.metadata.uid)
        first_new = uids.index(new.metadata.uid)
        assert last_old < first_new
        assert runtime.calls[last_old] == ("end", "remove_pod_sandbox", old.metadata.uid)
        assert runtime.calls[first_new] == ("begin", "run_pod_sandbox", new.metadata.uid)
        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.labels[POD_UID] == new.metadata.uid
        assert len(await runtime.list_containers()) == 2

    run(scenario)


def test_a_pod_added_and_removed_back_to_back_ends_with_nothing_running() -> None:
    web = pod("web")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        runner = PodRunner(runtime)
        runner.submit(added(web))
        runner.submit(removed(web))
        runner.submit(added(web))
        runner.submit(removed(web))
        await runner.idle()

        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        assert runner.running == {}

    run(scenario)


def test_different_pods_are_started_concurrently() -> None:
    first, second = pod("first"), pod("second")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        runner = PodRunner(runtime)
        runner.submit(added(first))
        runner.submit(added(second))
        await runner.idle()

        uids = [uid for _, _, uid in runtime.calls]
        first_uid, second_uid = first.metadata.uid, second.metadata.uid
        last_of_first = len(uids) - 1 - uids[::-1].index(first_uid)
        # the second pod's first call begins before the first pod's last call ends
        assert uids.index(second_uid) < last_of_first
        last_of_second = len(uids) - 1 - uids[::-1].index(second_uid)
        assert uids.index(first_uid) < last_of_second
        assert len(await runtime.list_pod_sandboxes()) == 2

    run(scenario)


def test_an_update_restarts_the_pod_with_its_new_spec() -> None:
    old = pod(
        "web", uid="fixed-uid", containers=("app",), extra_spec={"terminationGracePeriodSeconds": 7}
    )
    new = pod("web", uid="fixed-uid", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = RecordingRuntime()
        runner = PodRunner(runtime)
        runner.submit(added(old))
        runner.submit(PodChange("updated", new, FILE, old))
        await runner.idle()

        (sandbox,) = await runtime.list_pod_sandboxes()
        containers = await runtime.list_containers()
        assert sorted(container.labels[CONTAINER_NAME] for container in containers) == [
            "app",
            "sidecar",
        ]
        assert all(container.sandbox_id == sandbox.id for container in containers)
        assert all(container.state == "running" for container in containers)
        # the old pod is stopped with its own grace period
        assert runtime.grace_periods == [7.0]

    run(scenario)


def test_an_adopted_pod_is_not_started_again() -> None:
    web = pod("web", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = RecordingRuntime()
        before = PodRunner(runtime)
        before.submit(added(web))
        await before.idle()
        sandboxes = await runtime.list_pod_sandboxes()
        containers = await runtime.list_containers()
        runtime.calls.clear()

        runner = PodRunner(runtime)
        await runner.adopt()
        runner.submit(added(web))
        await runner.idle()

        assert runtime.calls == []
        assert await runtime.list_pod_sandboxes() == sandboxes
        assert await runtime.list_containers() == containers
        adopted = runner.running[web.metadata.uid or ""]
        assert adopted.sandbox_id == sandboxes[0].id
        assert sorted(adopted.container_ids) == sorted(container.id for container in containers)

    run(scenario)


def test_an_adopted_pod_can_be_removed() -> None:
    web = pod("web", containers=("app", "sidecar"))

    async def scenario() -> None:
        runtime = FakeRuntime()
        before = PodRunner(runtime)
        before.submit(added(web))
        await before.idle()

        runner = PodRunner(runtime)
        await runner.adopt()
        runner.submit(removed(web))
        await runner.idle()

        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []

    run(scenario)


def test_remove_orphans_removes_only_the_undesired_pods_this_worker_owns(
    captured_logs: LogCapture,
) -> None:
    wanted, orphan, elsewhere = pod("wanted"), pod("orphan"), pod("elsewhere")

    async def scenario() -> None:
        runtime = FakeRuntime()
        runner = PodRunner(runtime)
        for each in (wanted, orphan, elsewhere):
            runner.submit(added(each))
        await runner.idle()

        await runner.remove_orphans(
            lambda key, uid: uid == wanted.metadata.uid, lambda key: key != key_of("elsewhere")
        )
        await runner.idle()

        left = {sandbox.labels[POD_UID] for sandbox in await runtime.list_pod_sandboxes()}
        assert left == {wanted.metadata.uid, elsewhere.metadata.uid}
        assert {container.labels[POD_UID] for container in await runtime.list_containers()} == left
        assert set(runner.running) == left

    run(scenario)
    (removal,) = captured_logs.records("orphan pod removed")
    assert removal["pod"] == key_of("orphan")
    assert removal["uid"] == orphan.metadata.uid


def test_remove_orphans_after_adopt_removes_what_a_previous_worker_left() -> None:
    wanted, orphan = pod("wanted"), pod("orphan")

    async def scenario() -> None:
        runtime = FakeRuntime()
        before = PodRunner(runtime)
        before.submit(added(wanted))
        before.submit(added(orphan))
        await before.idle()

        runner = PodRunner(runtime)
        await runner.adopt()
        await runner.remove_orphans(lambda key, uid: uid == wanted.metadata.uid, lambda key: True)
        await runner.idle()

        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.labels[POD_UID] == wanted.metadata.uid
        assert {container.labels[POD_UID] for container in await runtime.list_containers()} == {
            wanted.metadata.uid
        }

    run(scenario)


def test_a_failing_runtime_call_is_logged_and_later_operations_still_run(
    captured_logs: LogCapture,
) -> None:
    web, api = pod("web"), pod("api")

    async def scenario() -> None:
        runtime = RecordingRuntime()
        runtime.failing.add("run_pod_sandbox")
        runner = PodRunner(runtime)
        runner.submit(added(web))
        runner.submit(added(api))
        await runner.idle()

        assert {sandbox.labels[POD_UID] for sandbox in await runtime.list_pod_sandboxes()} == {
            api.metadata.uid
        }
        # the same pod again, once the runtime recovers
        runner.submit(added(web))
        await runner.idle()
        assert len(await runtime.list_pod_sandboxes()) == 2
        assert len(await runtime.list_containers()) == 2

    run(scenario)
    (failure,) = captured_logs.records("runtime call failed")
    assert failure["level"] == "error"
    assert failure["pod"] == key_of("web")
    assert "injected failure" in failure["error"]


def test_a_failure_does_not_block_the_next_change_of_the_same_pod(
    captured_logs: LogCapture,
) -> None:
    web = pod("web")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        runtime.failing.add("start_container")
        runner = PodRunner(runtime)
        runner.submit(added(web))
        runner.submit(removed(web))
        await runner.idle()

        assert await runtime.list_pod_sandboxes() == []
        assert await runtime.list_containers() == []
        assert runner.running == {}

    run(scenario)
    assert len(captured_logs.records("runtime call failed")) == 1


def test_a_pod_wanted_again_while_the_orphan_sweep_runs_is_left_running(
    captured_logs: LogCapture,
) -> None:
    first, second = pod("first"), pod("second")

    async def scenario() -> None:
        runtime = RecordingRuntime(SLOW)
        before = PodRunner(runtime)
        before.submit(added(first))
        before.submit(added(second))
        await before.idle()
        runner = PodRunner(runtime)
        await runner.adopt()

        # the gate opened with neither pod desired; while the sweep stops the first, the
        # second's manifest comes back (same content, same UID) and is added again
        desired: set[str | None] = set()
        await runner.remove_orphans(lambda key, uid: uid in desired, lambda _: True)
        while not any(call == "stop_container" for _, call, _ in runtime.calls):
            await asyncio.sleep(0)
        desired.add(second.metadata.uid)
        runner.submit(added(second))
        await runner.idle()

        (sandbox,) = await runtime.list_pod_sandboxes()
        assert sandbox.labels[POD_UID] == second.metadata.uid
        (container,) = await runtime.list_containers()
        assert container.state == "running"

    run(scenario)
