"""A pod whose files the host refuses (its log directory on a full disk): its syncs fail
and are tried again; the streak is said once, naming the path and ``ENOSPC``, and its end
is said too, once the space returns and the pod starts."""

from __future__ import annotations

import errno
from dataclasses import replace
from pathlib import Path

from fastpod.runtime.base import RuntimeUnavailable, SandboxInfo
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.settings import WorkerSettings
from fastpod.worker.streaks import Streaks, host_refusal
from tests.support.full_disk import full_disk
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, run, runner_on


def refused(path: str, code: int = errno.ENOSPC) -> OSError:
    return OSError(code, "refused", path)


def test_a_streak_is_said_at_its_start_and_again_only_when_its_reason_changes() -> None:
    failures = Streaks()

    def failed(subject: str, error: OSError) -> bool:
        return failures.failed(subject, host_refusal(error))

    said = [failed("a", refused("/logs/a")) for _ in range(3)]
    said.append(failed("a", refused("/logs/a", errno.EACCES)))
    said.append(failed("a", refused("/other")))

    assert said == [True, False, False, True, True]
    assert failed("b", refused("/logs/b"))
    assert failures.succeeded("a") == 5
    assert failures.succeeded("a") == 0
    assert failed("a", refused("/logs/a"))


def test_a_full_log_disk_is_said_once_and_the_pod_starts_when_space_returns(
    settings: WorkerSettings, captured_logs: LogCapture, tmp_path: Path
) -> None:
    disk_path = tmp_path / "disk"
    web = pod("web")
    key = pod_key("web")

    with full_disk(disk_path) as disk:
        on_disk = replace(settings, pod_logs_dir=str(disk_path / "pods"))
        (disk_path / "pods").mkdir()
        disk.fill()

        async def scenario() -> None:
            runtime = FakeRuntime()
            async with runner_on(runtime, on_disk) as runner:
                runner.submit(added(web))

                def failed_syncs() -> int:
                    events = runner.state.events.of(key)
                    return sum(event.reason == "FailedSync" for event in events)

                await eventually(lambda: failed_syncs() >= 4, "four failed syncs")
                assert not runtime.containers
                disk.free()
                await eventually(lambda: runtime.containers, "the container, space back")

        run(scenario)

    (failed,) = captured_logs.records("pod sync failed")
    assert failed["pod"] == key
    assert failed["errno"] == "ENOSPC"
    assert failed["path"] == str(disk_path / "pods" / f"default_web-node1_{web.metadata.uid}")
    assert "No space left on device" in failed["error"]
    (recovered,) = captured_logs.records("pod sync recovered")
    assert recovered["pod"] == key
    assert recovered["failures"] >= 4


class DownRuntime(FakeRuntime):
    """A runtime whose listings fail, as a daemon that is down, while ``down`` is set."""

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        if self.down is not None:
            raise RuntimeUnavailable(self.down)
        return await super().list_pod_sandboxes(pod_uid)


def test_a_runtime_that_is_down_is_said_once_per_pod_and_its_return_once(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """Every sync fails while it is down, and each is the pod's event; one line says it."""
    web = pod("web")
    key = pod_key("web")

    async def scenario() -> None:
        runtime = DownRuntime()
        runtime.down = "ListPodSandbox: connection refused"
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            events = runner.state.events

            def failed() -> int:
                return sum(event.reason == "FailedSync" for event in events.of(key))

            await eventually(lambda: failed() >= 3, "three failed syncs")
            runtime.down = None
            await eventually(lambda: captured_logs.records("pod sync recovered"), "the return")

    run(scenario)
    (failure,) = captured_logs.records("runtime call failed")
    assert (failure["pod"], failure["level"]) == (key, "error")
    assert "connection refused" in failure["error"]
    (recovered,) = captured_logs.records("pod sync recovered")
    assert recovered["pod"] == key
    assert recovered["failures"] >= 3
