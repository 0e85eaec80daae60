"""Housekeeping: orphans found and stopped every 2 s as the kubelet's HandlePodCleanups does,
the runtime listed only when an orphan may have appeared."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from fastpod.model import Pod
from fastpod.runtime.base import RuntimeCallError, RuntimeUnavailable, SandboxInfo
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker import housekeeping as housekeeping_module
from fastpod.worker.housekeeping import Housekeeping
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, removed, run, runner_on


class StopRecordingRuntime(FakeRuntime):
    """Records each stop's grace; ``failing`` names calls that fail once."""

    def __init__(self) -> None:
        super().__init__()
        self.graces: list[float] = []
        self.failing: set[str] = set()

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        self.graces.append(grace_period)
        await super().stop_container(container_id, grace_period)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        if "stop_pod_sandbox" in self.failing:
            self.failing.discard("stop_pod_sandbox")
            raise RuntimeCallError("stop_pod_sandbox: injected failure")
        await super().stop_pod_sandbox(sandbox_id)


def running(runtime: FakeRuntime) -> list[str]:
    return [info.id for info in runtime.containers.values() if info.state == "running"]


async def left_running(runtime: FakeRuntime, settings: WorkerSettings, *pods: Pod) -> None:
    """Start ``pods`` under a runner that then goes away, as a restarted worker finds them."""
    async with runner_on(runtime, settings) as before:
        for each in pods:
            before.submit(added(each))
        await eventually(lambda: len(running(runtime)) == len(pods), "the pods running")


def never(key: str, uid: str) -> bool:
    return False


def everything(key: str) -> bool:
    return True


def test_an_orphan_is_stopped_as_the_kubelet_stops_a_pod_it_does_not_know(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """Grace 1 s raised to the 2 s minimum, and no preStop hook (``ToAPIPod`` has none)."""
    orphan = pod(
        "orphan",
        extra_spec={"terminationGracePeriodSeconds": 60},
    )

    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        await left_running(runtime, settings, orphan)
        runtime.graces.clear()
        async with runner_on(runtime, settings) as runner:
            assert await Housekeeping(runner, never, everything).sweep()
        assert runtime.graces == [2.0]
        assert runtime.sandboxes == {}
        assert runtime.containers == {}

    run(scenario)
    (removal,) = captured_logs.records("orphan pod removed")
    assert (removal["pod"], removal["uid"]) == (pod_key("orphan"), orphan.metadata.uid)


def test_only_unwanted_pods_of_the_shard_that_no_loop_runs_are_orphans(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    wanted, orphan, elsewhere, looped = (
        pod(n) for n in ("wanted", "orphan", "elsewhere", "looped")
    )

    async def scenario() -> None:
        runtime = FakeRuntime()
        await left_running(runtime, settings, wanted, orphan, elsewhere, looped)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(looped))
            housekeeping = Housekeeping(
                runner,
                lambda key, uid: uid == wanted.metadata.uid,
                lambda key: key != pod_key("elsewhere"),
            )
            assert await housekeeping.sweep()
            left = {sandbox.pod_uid for sandbox in runtime.sandboxes.values()}
            assert left == {each.metadata.uid for each in (wanted, elsewhere, looped)}

    run(scenario)
    assert [r["pod"] for r in captured_logs.records("orphan pod removed")] == [pod_key("orphan")]


def test_a_sweep_lets_the_event_loop_run_between_slices_of_sandboxes(
    settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest event arriving during a sweep of thousands of sandboxes, none orphaned,
    is handled between two slices, not after the whole walk."""
    monkeypatch.setattr(housekeeping_module, "SWEEP_SLICE", 1)
    pods = [pod("first"), pod("second"), pod("third")]

    async def scenario() -> None:
        runtime = FakeRuntime()
        await left_running(runtime, settings, *pods)
        async with runner_on(runtime, settings) as runner:
            housekeeping = Housekeeping(runner, lambda key, uid: True, everything)
            order: list[str] = []
            listing = runtime.list_pod_sandboxes

            async def listed_as_a_message_arrives(pod_uid: str | None = None) -> list[SandboxInfo]:
                asyncio.get_running_loop().call_soon(order.append, "a message handled")
                return await listing(pod_uid)

            monkeypatch.setattr(runtime, "list_pod_sandboxes", listed_as_a_message_arrives)
            assert await housekeeping.sweep()
            order.append("the sweep done")
            assert order == ["a message handled", "the sweep done"]

    run(scenario)


def test_the_orphans_of_every_slice_are_stopped(
    settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(housekeeping_module, "SWEEP_SLICE", 1)
    wanted, first, second = pod("wanted"), pod("first"), pod("second")

    async def scenario() -> None:
        runtime = FakeRuntime()
        await left_running(runtime, settings, first, wanted, second)
        async with runner_on(runtime, settings) as runner:
            housekeeping = Housekeeping(
                runner, lambda key, uid: uid == wanted.metadata.uid, everything
            )
            assert await housekeeping.sweep()
            left = {sandbox.pod_uid for sandbox in runtime.sandboxes.values()}
            assert left == {wanted.metadata.uid}

    run(scenario)


def test_a_stale_pod_under_a_name_a_loop_runs_is_an_orphan(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """By UID, as the kubelet compares runtime pods with its pod workers: a loop running
    the new web does not make the old web's leftover sandbox its own."""
    old = pod("web")
    new = pod("web", image="fastpod.local/busybox:1.37")

    async def scenario() -> None:
        runtime = FakeRuntime()
        await left_running(runtime, settings, old)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(new))
            await eventually(lambda: len(running(runtime)) == 2, "the new web running too")
            housekeeping = Housekeeping(
                runner, lambda key, uid: uid == new.metadata.uid, everything
            )
            assert await housekeeping.sweep()
            left = {sandbox.pod_uid for sandbox in runtime.sandboxes.values()}
            assert left == {new.metadata.uid}

    run(scenario)


async def sweep_until_gone(runner: PodRunner, runtime: FakeRuntime) -> None:
    """Run housekeeping, every pod an orphan, until no sandbox is left."""
    housekeeping = Housekeeping(runner, never, everything, period=0.01)
    task = asyncio.create_task(housekeeping.run())
    await eventually(lambda: not runtime.sandboxes, "the orphan gone")
    task.cancel()


def test_a_failed_stop_is_tried_again_at_the_next_tick(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        await left_running(runtime, settings, pod("orphan"))
        async with runner_on(runtime, settings) as runner:
            runtime.failing.add("stop_pod_sandbox")
            await sweep_until_gone(runner, runtime)
        assert runtime.containers == {}

    run(scenario)
    assert len(captured_logs.records("runtime call failed")) == 1
    assert len(captured_logs.records("orphan pod removed")) == 2


def test_an_orphans_removal_ends_its_failure_streak_so_a_later_failure_is_said(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = StopRecordingRuntime()
        await left_running(runtime, settings, pod("orphan"))
        async with runner_on(runtime, settings) as runner:
            for _ in range(2):  # the same name left behind twice, its first stop failing
                runtime.failing.add("stop_pod_sandbox")
                await sweep_until_gone(runner, runtime)
                await left_running(runtime, settings, pod("orphan"))

    run(scenario)
    assert len(captured_logs.records("runtime call failed")) == 2


def test_an_idle_tick_lists_nothing_until_the_runtime_reports_a_pod_no_loop_runs(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """The kubelet's housekeeping reads its runtime cache; a worker reads its counters. A
    pod started behind its back (another agent, here another runner) is an event for a UID
    no loop runs: the next tick lists, and removes it."""
    quiet = replace(settings, resync_period=3600.0)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, quiet) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: running(runtime), "web running")
            housekeeping = Housekeeping(
                runner,
                lambda key, uid: key == pod_key("web"),
                everything,
                period=0.01,
            )
            task = asyncio.create_task(housekeeping.run())
            await eventually(lambda: housekeeping.sweeps == 1, "the first sweep")
            await asyncio.sleep(0.1)  # ten idle ticks
            assert housekeeping.sweeps == 1
            # no ticks while the intruder's own loop runs: it would start again what a
            # tick removes, and the orphan would be found twice
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            async with runner_on(runtime, quiet) as intruder:
                intruder.submit(added(pod("intruder")))
                await eventually(lambda: len(running(runtime)) == 2, "the intruder running")
                await intruder.close()
            task = asyncio.create_task(housekeeping.run())
            await eventually(lambda: len(runtime.sandboxes) == 1, "the intruder removed")
            assert housekeeping.sweeps == 2
            task.cancel()

    run(scenario)
    assert [r["pod"] for r in captured_logs.records("orphan pod removed")] == [pod_key("intruder")]


def test_a_removal_no_loop_carries_out_makes_the_next_tick_look(
    settings: WorkerSettings,
) -> None:
    """A pod whose loop died, then removed from its source: housekeeping stops it."""
    quiet = replace(settings, resync_period=3600.0)
    web = pod("web")

    async def scenario() -> None:
        runtime = FakeRuntime()
        await left_running(runtime, quiet, web)
        async with runner_on(runtime, quiet) as runner:
            wanted = [True]
            housekeeping = Housekeeping(runner, lambda key, uid: wanted[0], everything)
            assert await housekeeping.sweep()
            assert not housekeeping.due()
            wanted[0] = False
            runner.submit(removed(web))
            assert housekeeping.due()
            assert await housekeeping.sweep()
            assert runtime.sandboxes == {}

    run(scenario)


def test_a_sweep_is_due_again_after_a_resync_period_whatever_happened(
    settings: WorkerSettings,
) -> None:
    """The safety net the pod loops have too: a missed event costs one resync period."""
    now = [0.0]

    async def scenario() -> None:
        runner = PodRunner(FakeRuntime(), settings)
        housekeeping = Housekeeping(runner, never, everything, clock=lambda: now[0])
        assert housekeeping.due()
        await housekeeping.sweep()
        assert not housekeeping.due()
        now[0] += settings.resync_period
        assert housekeeping.due()

    run(scenario)


class DownRuntime(FakeRuntime):
    """A runtime whose listings fail while ``down`` is set, as a daemon that is down."""

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        if self.down is not None:
            raise RuntimeUnavailable(self.down)
        return await super().list_pod_sandboxes(pod_uid)


def test_a_runtime_down_at_every_tick_is_said_once_and_its_return_once(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = DownRuntime()
        async with runner_on(runtime, settings) as runner:
            runtime.down = "connection refused"
            housekeeping = Housekeeping(runner, never, everything, period=0.01)
            task = asyncio.create_task(housekeeping.run())
            await eventually(lambda: housekeeping.sweeps >= 4, "four failed listings")
            runtime.down = None
            await eventually(lambda: captured_logs.records("orphans listed again"), "its return")
            task.cancel()

    run(scenario)
    (failure,) = captured_logs.records("orphans not listed")
    assert "connection refused" in failure["error"]
    (back,) = captured_logs.records("orphans listed again")
    assert back["failures"] >= 4
