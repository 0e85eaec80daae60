"""What a worker reports of its pods: live statuses from the loops' last observations, one
pod's inspection with its events, the gauges, readiness and health."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from fastpod.health import POD_LOOPS, RUNTIME, HealthProblem
from fastpod.manifest.defaults import stamp_first_seen
from fastpod.model import Pod
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker import reports
from fastpod.worker.desired import DesiredPod, DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import NOW, added, eventually, pod, run, runner_on


def holding(*pods: Pod) -> DesiredPods:
    desired = DesiredPods()
    for each in pods:
        name = (each.metadata.name or "").removesuffix("-node1")
        desired.pods[pod_key(name)] = DesiredPod(each, FILE)
    return desired


def statuses(runner: PodRunner, desired: DesiredPods) -> dict[str, dict[str, Any]]:
    items = msgspec.json.decode(reports.pods_document(runner, desired))
    return {item["metadata"]["name"]: item["status"] for item in items}


def test_a_desired_pod_not_synced_yet_is_pending_with_its_containers_being_created(
    settings: WorkerSettings,
) -> None:
    web = pod("web")
    runner = PodRunner(FakeRuntime(), settings)
    (status,) = statuses(runner, holding(web)).values()
    assert status["phase"] == "Pending"
    (container,) = status["containerStatuses"]
    assert container["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert not reports.synced(runner) or not runner.loops


def test_a_pod_not_taken_yet_keeps_the_start_time_it_was_first_seen_at(
    settings: WorkerSettings,
) -> None:
    """Its status, and so its report to the cluster, does not change as the clock moves."""
    web = pod("web")
    stamp_first_seen(web.metadata, NOW)
    runner = PodRunner(FakeRuntime(), settings)
    first = reports.served_status(runner, web, NOW.timestamp() + 0.9)
    later = reports.served_status(runner, web, NOW.timestamp() + 61.0)
    assert first == later
    assert first.start_time == "2026-01-02T03:04:05Z"


def test_a_crashed_container_shows_its_restart_and_last_state_with_its_message(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web")
    desired = holding(web)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))

            def container() -> dict[str, Any]:
                (status,) = statuses(runner, desired).values()
                first: dict[str, Any] = status["containerStatuses"][0]
                return first

            await eventually(lambda: "running" in container()["state"], "running")
            (first,) = [i.id for i in runtime.containers.values() if i.state == "running"]
            runtime.exit(first, 3, "cannot reach etcd")
            await eventually(lambda: container()["restartCount"] == 1, "restarted")
            await eventually(lambda: "running" in container()["state"], "running again")
            last = container()["lastState"]["terminated"]
            assert (last["exitCode"], last["reason"]) == (3, "Error")
            assert last["message"] == "cannot reach etcd", "its termination message"
            assert last["containerID"] == f"fake://{first}", "the runtime's name as scheme"
            assert reports.synced(runner)

            inspected = msgspec.json.decode(
                reports.inspection_document(runner, desired, pod_key("web"))
            )
            assert inspected["source"] == FILE.location
            reasons = [event["reason"] for event in inspected["events"]]
            assert reasons.count("Started") == 2
            assert "Error" in reasons, "the exit is an event"

            gauges = {
                (sample.name, sample.labels): sample.value
                for sample in reports.worker_gauges(runner, desired)
            }
            assert gauges[("kubelet_running_pods", ())] == 1
            assert gauges[("kubelet_desired_pods", (("static", "true"),))] == 1

    run(scenario)


def test_a_pod_this_worker_does_not_hold_has_no_inspection(settings: WorkerSettings) -> None:
    runner = PodRunner(FakeRuntime(), settings)
    assert reports.inspection_document(runner, holding(pod("web")), pod_key("db")) == b""


def test_a_pod_loop_that_raised_is_a_health_problem_while_its_pod_is_wanted(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """Nothing syncs that pod any more: ``/healthz`` says so, and the log has the traceback."""
    web = pod("web")

    async def scenario() -> None:
        async with runner_on(FakeRuntime(), settings) as runner:

            async def broken(*arguments: object) -> float | None:
                raise RuntimeError("a bug")

            runner.starter.start = broken  # type: ignore[method-assign,assignment]
            runner.submit(added(web))
            await eventually(lambda: runner.loop_failures.errors, "the loop died")
            assert reports.problems(runner, holding(web), None) == (
                HealthProblem(POD_LOOPS, f"{pod_key('web')}: pod loop ended: RuntimeError: a bug"),
            )
            assert reports.problems(runner, holding(), None) == ()

    run(scenario)
    (died,) = captured_logs.records("pod loop died")
    assert died["pod"] == pod_key("web")
    assert "raise RuntimeError" in died["traceback"]


def test_a_new_loop_for_the_pod_clears_its_failure(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """An edited manifest starts a new loop: the pod is synced again."""
    web = pod("web")

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            start = runner.starter.start

            async def broken(*arguments: object) -> float | None:
                raise RuntimeError("a bug")

            runner.starter.start = broken  # type: ignore[method-assign,assignment]
            runner.submit(added(web))
            await eventually(lambda: runner.loop_failures.errors, "the loop died")
            runner.starter.start = start  # type: ignore[method-assign]
            runner.submit(added(web))
            assert reports.problems(runner, holding(web), None) == ()
            await eventually(lambda: runtime.containers, "the pod runs")

    run(scenario)


def test_an_unreachable_runtime_is_the_runtime_checks_problem(settings: WorkerSettings) -> None:
    """Named with the runtime's own words."""
    runner = PodRunner(FakeRuntime(), settings)
    assert reports.problems(runner, holding(), "GET /_ping: Docker unreachable") == (
        HealthProblem(RUNTIME, "GET /_ping: Docker unreachable"),
    )


def test_a_pod_past_its_active_deadline_is_stopped_and_failed_as_the_kubelet_says(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web", extra_spec={"activeDeadlineSeconds": 1})
    desired = holding(web)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: runtime.containers, "the container started")
            await eventually(
                lambda: statuses(runner, desired)[web.metadata.name or ""]["phase"] == "Failed",
                "the pod failed",
                timeout=5,
            )
            status = statuses(runner, desired)[web.metadata.name or ""]
            assert (status["reason"], status["message"]) == (
                "DeadlineExceeded",
                "Pod was active on the node longer than the specified deadline",
            )
            # the status says Failed from the sync that decides to stop the pod, as the
            # kubelet's does: the sandbox is stopped after its containers, in that sync
            await eventually(
                lambda: not any(sandbox.ready for sandbox in runtime.sandboxes.values()),
                "the sandbox stopped",
            )
            assert all(info.state == "exited" for info in runtime.containers.values())
            await asyncio.sleep(0.2)  # several resyncs: nothing is started again
            assert all(info.state == "exited" for info in runtime.containers.values())

    run(scenario)
    assert captured_logs.records("pod deadline exceeded")
