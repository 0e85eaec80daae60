"""``fastpod bench --server``: a fastpod already running is measured through its API, its
own pods left alone, and every pod the bench made removed, also on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastpod.bench.figures import figures
from fastpod.bench.record import decode
from tests.support.pods import NODE
from tests.support.running import RunningFastpod, fastpod_command, free_port

OWN_POD = """\
apiVersion: v1
kind: Pod
metadata: {name: own}
spec:
  containers: [{name: c, image: fastpod.local/busybox:1.36}]
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[RunningFastpod, str]]:
    """A running fastpod on the fake runtime with a pod of its own; its flags."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "own.yaml").write_text(OWN_POD)
    flags = [
        "--pod-manifest-path",
        str(manifests),
        "--root-dir",
        str(tmp_path / "root"),
        "--pod-logs-dir",
        str(tmp_path / "logs"),
    ]
    fastpod = RunningFastpod(flags, api_port=free_port())
    fastpod.wait_for_api()
    fastpod.wait_for(lambda: f"own-{NODE}" in fastpod.served_pods())
    try:
        yield fastpod, " ".join(["--runtime", "fake", "--hostname-override", NODE, *flags])
    finally:
        fastpod.stop()


def test_a_startup_measures_the_running_fastpod_and_leaves_it_only_its_own_pods(
    server: tuple[RunningFastpod, str], tmp_path: Path
) -> None:
    fastpod, flags = server
    output = tmp_path / "out"
    result = fastpod_command(
        "bench", "startup", "--server", flags, "--pods", "6", "--output", str(output)
    )
    assert result.returncode == 0, result.stderr

    record = decode((output / "record.json").read_bytes(), "record.json")
    assert record.settings.server == f"http://127.0.0.1:{fastpod.api_port}"
    assert record.settings.runtime == "fake"
    [run] = record.runs
    assert len(run.samples) == 6
    assert {sample.pod for sample in run.samples} == {
        f"{record.settings.namespace}/startup-{index:04d}-{NODE}" for index in range(6)
    }
    for sample in run.samples:
        assert sample.written is not None
        assert sample.written <= sample.begin <= sample.end
    assert run.figures == figures(run)
    assert run.usage["fastpod"], "the running fastpod's CPU and memory were sampled"
    assert sorted(os.listdir(tmp_path / "manifests")) == ["own.yaml"]
    assert set(fastpod.served_pods()) == {f"own-{NODE}"}, "only its own pod runs on"
    assert fastpod.process.poll() is None, "the server runs on"


def test_ctrl_c_removes_every_pod_the_bench_gave_the_running_fastpod(
    server: tuple[RunningFastpod, str], tmp_path: Path
) -> None:
    fastpod, flags = server
    churn = ["churn", "--pods", "5", "--rate", "5", "--duration", "60"]
    out = str(tmp_path / "out")
    bench = subprocess.Popen(
        [sys.executable, "-m", "fastpod", "bench", *churn, "--server", flags, "--output", out],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert bench.stderr is not None
    for line in bench.stderr:
        if line.startswith("manifest changes at"):
            break
    assert len(fastpod.served_pods()) > 1, "the bench's pods run beside the server's own"
    bench.send_signal(signal.SIGINT)
    _, errors = bench.communicate(timeout=60)

    assert bench.returncode == 130, errors
    assert sorted(os.listdir(tmp_path / "manifests")) == ["own.yaml"]
    assert set(fastpod.served_pods()) == {f"own-{NODE}"}
    record = decode((tmp_path / "out" / "record.json").read_bytes(), "record.json")
    assert record.interrupted


def test_a_fastpod_that_does_not_run_is_one_line_naming_where_it_was_looked_for(
    tmp_path: Path,
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    flags = f"--pod-manifest-path {manifests} --root-dir {tmp_path / 'root'}"
    result = fastpod_command("bench", "startup", "--server", flags)
    assert result.returncode == 2
    assert result.stderr == (
        f"fastpod bench: --server: no running fastpod has published its API at "
        f"{tmp_path / 'root' / 'api.json'} (is it running with --root-dir "
        f"{tmp_path / 'root'}, and its read-only port on?)\n"
    )
