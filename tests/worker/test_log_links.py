"""A container whose log links the host refuses runs on: the pod loop says so and goes on."""

from __future__ import annotations

import os
from pathlib import Path

from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.settings import WorkerSettings
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
