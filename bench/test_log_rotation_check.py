"""What a look at the logs for rotation costs a worker on a CRI runtime: one tick of the
log rotator over 1,000 running containers whose logs are under the size (nothing to
rotate, the usual case), beside a bare ``os.stat`` of the same 1,000 files.

The subject is the whole tick as a worker runs it: the running containers taken from its
pod loops' last observations (``running_logs``: each log's path built), each log
``stat``-ed and compared with the size (``LogRotator.check``). The stage is the check alone
over the paths already built. The kubelet does the same look every 10 s
(``containerLogMonitorInterval``), with a ``ContainerStatus`` call per container besides.
See README.md.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fastpod.config.settings import Config
from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import CONTAINER_NAME, POD_UID
from fastpod.runtime.logrotation import RotationPolicy
from fastpod.runtime.spec import RESTART_COUNT
from fastpod.status.compute import Observed
from fastpod.worker.log_rotation import LogRotator, running_logs
from fastpod.worker.pod_loop import PodLoop, PodRunner
from fastpod.worker.settings import worker_settings
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

CONTAINERS = 1000
GROUP = "log rotation, 1,000 containers: one look vs a bare os.stat each"
POLICY = RotationPolicy(max_size=10 * 1024 * 1024, max_files=5)


def _runner(tmp_path: Path) -> PodRunner:
    """A worker's pod runner holding 1,000 pods, each with one running container whose log
    (4 KiB) is where a CRI runtime writes it."""
    config = Config(node_name="node1", runtime="cri", pod_logs_dir=str(tmp_path / "pods"))
    runner = PodRunner(FakeRuntime(), worker_settings(config, "192.0.2.1"))
    for index in range(CONTAINERS):
        pod = decoded(pod_manifest(f"web{index}"), FILE)
        uid = pod.metadata.uid or ""
        labels = {POD_UID: uid, CONTAINER_NAME: "app", RESTART_COUNT: "0"}
        container = ContainerInfo(f"c{index:060}", "s", labels, "running")
        sandbox = SandboxInfo("s", {POD_UID: uid}, True)
        loop = PodLoop(f"default/web{index}", pod, running=pod)
        loop.observed = Observed([sandbox], [container], {}, {})
        runner.loops[loop.key] = loop
        log = os.path.join(runner.state.pod_logs.pod_dir(pod), "app", "0.log")
        os.makedirs(os.path.dirname(log))
        Path(log).write_bytes(b"x" * 4096)
    return runner


def _look(rotator: LogRotator) -> Callable[[], int]:
    loop = asyncio.new_event_loop()

    def look() -> int:
        return loop.run_until_complete(rotator.check())

    return look


def _bare_stats(paths: list[str]) -> Callable[[], int]:
    def stats() -> int:
        total = 0
        for path in paths:
            total += os.stat(path).st_size
        return total

    return stats


@pytest.mark.parametrize("role", ["subject", "stage", "floor"])
def test_a_rotation_look_beside_a_bare_stat(
    benchmark: BenchmarkFixture, tmp_path: Path, role: str
) -> None:
    runner = _runner(tmp_path)
    targets = list(running_logs(runner))
    assert len(targets) == CONTAINERS
    paths = [path for _, path in targets]
    benchmark.group = GROUP
    if role == "subject":

        def current() -> Iterator[tuple[str, str]]:
            return running_logs(runner)

        rotator = LogRotator(runner.runtime, POLICY, 10.0, current)
        benchmark.extra_info.update(
            role="subject", label="a look (running_logs + check)", target_ratio=2.0
        )
        rotated = benchmark(_look(rotator))
    elif role == "stage":
        rotator = LogRotator(runner.runtime, POLICY, 10.0, lambda: targets)
        benchmark.extra_info.update(role="stage", label="the check over built paths")
        rotated = benchmark(_look(rotator))
    else:
        benchmark.extra_info.update(role="floor", label="bare os.stat")
        benchmark(_bare_stats(paths))
        rotated = 0
    assert rotated == 0
