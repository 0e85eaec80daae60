"""``fastpod bench startup`` on real Docker and containerd: fastpod, the floor, the peer.

A small run (3 pods) on each engine: fastpod's pods and the floor's are measured from the
runtime, podman is measured or says why it cannot run, and nothing is left on the engine.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fastpod.bench.figures import figures
from fastpod.bench.record import decode
from tests.support.engines import Engine
from tests.support.running import fastpod_command

FLOORS = {"docker": "Engine API", "cri": "CRI calls"}
BUSYBOX = "fastpod.local/busybox:1.36"


def runtime_arguments(engine: Engine) -> list[str]:
    """``fastpod bench``'s runtime options for ``engine`` (containerd: fastpod's own)."""
    endpoint = (
        ["--container-runtime-endpoint", engine.arguments[1]] if engine.runtime == "cri" else []
    )
    return ["--runtime", engine.runtime, *endpoint]


def test_a_small_startup_measures_fastpod_and_the_floor_and_leaves_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = fastpod_command(
        "bench",
        "startup",
        *runtime_arguments(engine),
        "--pods",
        "3",
        "--output",
        str(output),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, "nothing but the bench's own lines"

    record = decode((output / "record.json").read_bytes(), "record.json")
    runs = {run.name: run for run in record.runs}
    assert set(runs) == {"fastpod", FLOORS[engine.runtime], "podman kube play"}
    for name in ("fastpod", FLOORS[engine.runtime]):
        run = runs[name]
        assert run.status == "measured", run.reason
        assert [sample.kind for sample in run.samples] == ["start"] * 3
        assert all(sample.latency > 0 for sample in run.samples)
        assert run.figures == figures(run)
        assert run.usage["runtime"], "the runtime's CPU and memory were sampled"
    podman = runs["podman kube play"]
    assert podman.status == "measured" or podman.reason, "a peer that cannot run says why"
    assert record.versions[engine.runtime]
    assert engine.everything() == set(), "every container and sandbox is removed"


def test_a_small_restart_measures_first_and_crash_loop_restarts_apart(
    engine: Engine, tmp_path: Path
) -> None:
    output = tmp_path / "out"
    result = fastpod_command(
        "bench",
        "restart",
        *runtime_arguments(engine),
        "--pods",
        "2",
        "--rounds",
        "2",
        "--profile",
        "fast",
        "--output",
        str(output),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, "nothing but the bench's own lines"

    record = decode((output / "record.json").read_bytes(), "record.json")
    runs = {run.name: run for run in record.runs}
    fastpod = runs["fastpod"]
    kinds = sorted(sample.kind for sample in fastpod.samples)
    assert kinds == ["crash-loop restart"] * 2 + ["restart"] * 2
    assert all(sample.latency > 0 for sample in fastpod.samples)
    assert fastpod.figures == figures(fastpod)
    floor = runs[FLOORS[engine.runtime]]
    assert [sample.kind for sample in floor.samples] == ["restart"] * 2
    if engine.runtime == "docker":
        policy = runs["Docker restart policy"]
        assert sorted(s.kind for s in policy.samples) == kinds
        assert all(sample.latency > 0 for sample in policy.samples)
    assert engine.everything() == set(), "every container and sandbox is removed"


def test_ctrl_c_mid_startup_removes_every_pod_from_the_engine(
    engine: Engine, tmp_path: Path
) -> None:
    bench = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastpod",
            "bench",
            "startup",
            *runtime_arguments(engine),
            "--pods",
            "20",
            "--output",
            str(tmp_path / "out"),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bench.stderr is not None
    for line in bench.stderr:
        if line.startswith("pods running:"):
            break
    deadline = time.monotonic() + 30
    while not engine.containers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.containers(), "pods were being made when the signal came"
    bench.send_signal(signal.SIGINT)
    _, errors = bench.communicate(timeout=120)

    assert bench.returncode == 130, errors
    record = decode((tmp_path / "out" / "record.json").read_bytes(), "record.json")
    assert record.interrupted
    unmeasured = [run for run in record.runs if run.status == "cannot run"]
    assert {run.reason for run in unmeasured} == {"the run was interrupted before it"}
    assert engine.everything() == set(), "every container and sandbox is removed"


def test_an_image_not_on_the_node_is_refused_before_anything_runs(
    engine: Engine, tmp_path: Path
) -> None:
    result = fastpod_command(
        "bench",
        "startup",
        *runtime_arguments(engine),
        "--image",
        "fastpod.local/not-built:0.1",
        "--output",
        str(tmp_path / "out"),
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"fastpod bench: error: the image fastpod.local/not-built:0.1 is not on the "
        f"{engine.runtime} runtime: pull or load it first (the bench measures pods starting, "
        "not images pulled)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("scenario", "arguments"),
    [
        ("churn", ["--pods", "2", "--rate", "4", "--duration", "1.5"]),
        ("density", ["--steps", "2", "--window", "1"]),
        (
            "probes",
            ["--pods", "2", "--window", "2", "--image", BUSYBOX, "--command", "sleep 3600"],
        ),
    ],
)
def test_churn_density_and_probes_measure_the_floor_beside_fastpod(
    engine: Engine, tmp_path: Path, scenario: str, arguments: list[str]
) -> None:
    output = tmp_path / "out"
    result = fastpod_command(
        "bench",
        scenario,
        *runtime_arguments(engine),
        *arguments,
        "--compare",
        "floor",
        "--output",
        str(output),
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, "nothing but the bench's own lines"

    record = decode((output / "record.json").read_bytes(), "record.json")
    fastpod, floor = record.runs
    assert fastpod.status == "measured"
    assert (floor.name, floor.role, floor.status) == (FLOORS[engine.runtime], "floor", "measured")
    assert floor.figures == figures(floor, record.settings.p99_bound)
    if scenario == "churn":
        assert {sample.kind for sample in floor.samples} == {"add", "edit", "remove"}
        assert len(floor.samples) == 6, "4 changes a second for 1.5 s"
        assert all(sample.latency > 0 and sample.rate == 4 for sample in floor.samples)
    elif scenario == "density":
        assert [step.pods for step in floor.steps] == [0, 2]
        before, after = (step.runtime_rss_bytes or 0 for step in floor.steps)
        assert after > before > 0, "the runtime holds the floor's pods"
        assert floor.steps[0].rss_bytes > 0, "the idle interpreters were measured"
    else:
        [step] = floor.steps
        assert step.probes, "the bare exec calls were made in the window"
    report = (output / "report.md").read_text()
    assert f"fastpod ÷ {floor.name}" in report
    assert engine.everything() == set(), "every container and sandbox is removed"
