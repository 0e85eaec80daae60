"""A container whose log links the host refuses runs on: the pod loop says so and goes on."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.settings import WorkerSettings
from tests.support.full_disk import full_disk
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, run, runner_on


class LoggingRuntime(FakeRuntime):
    """A fake runtime whose containers write their output to a file, as Docker's do."""

    def __init__(self, log_dir: Path) -> None:
        super().__init__()
        self.log_dir = log_dir

    async def container_log_path(self, container_id: str) -> str | None:
        path = self.log_dir / f"{container_id}-json.log"
        path.touch()
        return str(path)


def test_a_refused_log_link_is_a_warning_and_the_pod_keeps_running(
    settings: WorkerSettings, captured_logs: LogCapture, tmp_path: Path
) -> None:
    # a file where the /var/log/containers directory should be: every link there fails
    containers_dir = Path(settings.pod_logs_dir).parent / "containers"
    containers_dir.parent.mkdir(parents=True)
    containers_dir.write_text("not a directory\n")
    web = pod("web", containers=["app", "side"])

    async def scenario() -> None:
        runtime = LoggingRuntime(tmp_path)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(
                lambda: sum(info.state == "running" for info in runtime.containers.values()) == 2,
                "both containers running",
            )
            await eventually(lambda: len(captured_logs.records("log link not created")) == 2)
            assert not runner.loops[pod_key("web")].task.done()  # type: ignore[union-attr]
            reasons = [event.reason for event in runner.state.events.of(pod_key("web"))]
            assert reasons.count("Failed") == 2

    run(scenario)
    (first, _) = captured_logs.records("log link not created")
    assert first["container"] in ("app", "side")
    assert "Not a directory" in first["error"] or "File exists" in first["error"]
    assert os.path.isfile(containers_dir)


def test_log_links_a_full_disk_refused_are_made_once_the_space_returns(
    settings: WorkerSettings, captured_logs: LogCapture, tmp_path: Path
) -> None:
    disk_path = tmp_path / "disk"
    web = pod("web", containers=["app"])
    pod_dir = disk_path / "pods" / f"default_web-node1_{web.metadata.uid}"
    docker_logs = tmp_path / "docker"
    docker_logs.mkdir()

    with full_disk(disk_path) as disk:
        on_disk = replace(settings, pod_logs_dir=str(disk_path / "pods"))
        pod_dir.mkdir(parents=True)  # the container's directory in it cannot be made
        disk.fill()

        async def scenario() -> None:
            runtime = LoggingRuntime(docker_logs)
            async with runner_on(runtime, on_disk) as runner:
                runner.submit(added(web))
                await eventually(lambda: captured_logs.records("log link not created"))
                await asyncio.sleep(on_disk.resync_period * 4)  # refused again, not said again
                assert not (pod_dir / "app").exists()
                disk.free()
                await eventually(lambda: (pod_dir / "app" / "0.log").is_symlink(), "the link")
                (info,) = runtime.containers.values()
                assert info.state == "running"
                assert os.readlink(pod_dir / "app" / "0.log") == str(
                    docker_logs / f"{info.id}-json.log"
                )
                links = os.listdir(disk_path / "containers")
                assert [name.split("-")[0] for name in links] == ["web"]

        run(scenario)

    (refused,) = captured_logs.records("log link not created")
    assert refused["errno"] == "ENOSPC"
    assert refused["path"] == str(pod_dir / "app")
    (made,) = captured_logs.records("log link created")
    assert made["pod"] == pod_key("web")
    assert made["container"] == "app"
