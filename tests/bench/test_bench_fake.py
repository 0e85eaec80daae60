"""``fastpod bench`` run end to end on the fake runtime: the record, the report, Ctrl-C.

Each test runs the real command in a child process, with its temporary directory set to one
of the test's own, so that "nothing left behind" can be checked: no process, no workspace.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from fastpod.bench.figures import figures
from fastpod.bench.record import Record, decode
from tests.support.running import fastpod_command


def _bench(tmp_path: Path, *arguments: str) -> subprocess.Popen[str]:
    """``fastpod bench ARGUMENTS`` with TMPDIR under ``tmp_path``."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "fastpod", "bench", *arguments],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temporary)},
    )


def _read_record(output: Path) -> Record:
    return decode((output / "record.json").read_bytes(), "record.json")


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_startup_run_records_every_pod_and_figures_that_match_its_samples(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out"
    bench = _bench(
        tmp_path,
        "startup",
        "--runtime",
        "fake",
        "--pods",
        "12",
        "--containers",
        "2",
        "--output",
        str(output),
    )
    _, errors = bench.communicate(timeout=120)
    assert bench.returncode == 0, errors
    assert "pods running: 12/12" in errors

    record = _read_record(output)
    assert not record.interrupted
    assert (record.settings.scenario, record.settings.runtime) == ("startup", "fake")
    assert record.settings.pods == 12
    assert record.machine.cpus == os.cpu_count()
    [fastpod] = record.runs
    assert (fastpod.name, fastpod.role, fastpod.status) == ("fastpod", "subject", "measured")
    assert len(fastpod.samples) == 12
    assert len({sample.pod for sample in fastpod.samples}) == 12
    for sample in fastpod.samples:
        assert sample.kind == "start"
        assert sample.written is not None
        assert 0 <= sample.written <= sample.begin <= sample.end <= record.seconds
    assert fastpod.figures == figures(fastpod)
    # and each figure by hand, from the samples alone (nearest-rank percentiles)
    latencies = sorted(sample.latency for sample in fastpod.samples)
    first_written = min(sample.written or 0 for sample in fastpod.samples)
    last_running = max(sample.end for sample in fastpod.samples)
    by_name = {figure.name: figure.value for figure in fastpod.figures}
    assert by_name["startup, first seen → running p50"] == latencies[5]  # rank ceil(6)
    assert by_name["startup, first seen → running p90"] == latencies[10]  # ceil(10.8)
    assert by_name["startup, first seen → running p99"] == latencies[11]
    assert by_name["startup, first seen → running samples"] == 12
    assert by_name["all pods running"] == pytest.approx(last_running - first_written)
    assert by_name["pods per second"] == pytest.approx(12 / (last_running - first_written))
    rss = max(point.rss_bytes for point in fastpod.usage["fastpod"])
    assert by_name["fastpod peak RSS"] == rss
    assert fastpod.usage["fastpod"], "fastpod's CPU and memory were sampled"

    report = (output / "report.md").read_text()
    assert report.startswith("# fastpod bench startup: 12 pods on fake\n")
    p50 = next(f for f in fastpod.figures if f.name == "startup, first seen → running p50")
    row = next(line for line in report.splitlines() if line.startswith(f"| {p50.name} |"))
    assert f"{p50.value * 1000:.1f} ms" in row
    assert '"event":"pod added"' in (output / "fastpod.log").read_text()
    for plot in ("latency-cdf.png", "timeline.png", "usage.png"):
        assert (output / plot).read_bytes().startswith(b"\x89PNG"), plot
        assert (output / plot).stat().st_size > 10_000, f"{plot} has something drawn"
        assert f"]({plot})" in report
    assert list((tmp_path / "tmp").iterdir()) == [], "the workspace is removed"


def test_ctrl_c_stops_the_run_cleans_up_and_keeps_what_was_measured(tmp_path: Path) -> None:
    output = tmp_path / "out"
    # each fake call takes 0.3 s: 40 pods take several seconds, so the signal comes mid-run
    bench = _bench(
        tmp_path,
        "startup",
        "--runtime",
        "fake",
        "--pods",
        "40",
        "--fake-latency",
        "0.3",
        "--workers",
        "1",
        "--output",
        str(output),
    )
    assert bench.stderr is not None
    for text in bench.stderr:
        if text.startswith("pods running:"):
            break
    children = _descendants(bench.pid)
    assert children, "the bench's fastpod runs"
    bench.send_signal(signal.SIGINT)
    _, errors = bench.communicate(timeout=60)

    assert bench.returncode == 130, errors
    record = _read_record(output)
    assert record.interrupted
    [fastpod] = record.runs
    assert len(fastpod.samples) < 40
    assert "(interrupted)" in (output / "report.md").read_text()
    deadline = time.monotonic() + 5
    while any(child.is_running() for child in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [child for child in children if child.is_running()], "no process is left"
    assert list((tmp_path / "tmp").iterdir()) == [], "the workspace is removed"


def test_compare_prints_each_figures_ratio_between_two_records(tmp_path: Path) -> None:
    for name in ("a", "b"):
        bench = _bench(
            tmp_path,
            "startup",
            "--runtime",
            "fake",
            "--pods",
            "3",
            "--output",
            str(tmp_path / name),
        )
        _, errors = bench.communicate(timeout=120)
        assert bench.returncode == 0, errors
    compared = fastpod_command(
        "bench", "compare", str(tmp_path / "a/record.json"), str(tmp_path / "b/record.json")
    )
    assert compared.returncode == 0, compared.stderr
    line = next(
        text
        for text in compared.stdout.splitlines()
        if text.startswith("fastpod: startup, first seen → running p50: ")
    )
    assert line.split("  ")[1].split()[0].endswith("x")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("compare", "missing.json", "missing.json"), "missing.json: No such file or directory"),
        (("startup", "--runtime", "docker", "--fake-latency", "1"), "only with --runtime fake"),
    ],
)
def test_bad_input_is_one_line_without_a_traceback(
    arguments: tuple[str, ...], message: str
) -> None:
    result = fastpod_command("bench", *arguments)
    assert result.returncode in (1, 2)
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_bad_pod_count_is_a_usage_error() -> None:
    result = fastpod_command("bench", "startup", "--pods", "0")
    assert result.returncode == 2
    assert "--pods: must be 1 or more: 0" in result.stderr


def test_a_compared_peer_that_cannot_run_is_in_the_record_and_report_with_why(
    tmp_path: Path,
) -> None:
    output = tmp_path / "out"
    bench = _bench(
        tmp_path,
        "startup",
        "--runtime",
        "fake",
        "--pods",
        "2",
        "--compare",
        "floor",
        "podman",
        "--output",
        str(output),
    )
    _, errors = bench.communicate(timeout=120)
    assert bench.returncode == 0, errors

    record = _read_record(output)
    others = {run.name: (run.role, run.status, run.reason) for run in record.runs[1:]}
    assert others == {
        "runtime calls": ("floor", "cannot run", "it does not run on the fake runtime"),
        "podman kube play": ("peer", "cannot run", "it does not run on the fake runtime"),
    }
    report = (output / "report.md").read_text()
    assert (
        "- podman kube play (peer): cannot run here: it does not run on the fake runtime" in report
    )


def _run_to_the_end(tmp_path: Path, *arguments: str) -> Record:
    output = tmp_path / "out"
    bench = _bench(tmp_path, *arguments, "--runtime", "fake", "--output", str(output))
    _, errors = bench.communicate(timeout=120)
    assert bench.returncode == 0, errors
    record = _read_record(output)
    [fastpod] = record.runs
    assert fastpod.figures == figures(fastpod, record.settings.p99_bound)
    assert list((tmp_path / "tmp").iterdir()) == [], "the workspace is removed"
    return record


def test_churn_measures_each_add_edit_and_removal_from_its_write(tmp_path: Path) -> None:
    record = _run_to_the_end(tmp_path, "churn", "--pods", "3", "--rate", "20", "--duration", "1")
    [fastpod] = record.runs
    kinds = [sample.kind for sample in fastpod.samples]
    assert kinds.count("add") + kinds.count("edit") + kinds.count("remove") == 20
    assert {"add", "edit", "remove"} <= set(kinds)
    for sample in fastpod.samples:
        assert sample.written == sample.begin < sample.end
    assert (record.settings.rates, record.settings.duration) == ([20.0], 1.0)
    assert {sample.rate for sample in fastpod.samples} == {20.0}
    names = {figure.name for figure in fastpod.figures}
    assert {
        "churn edit, write → running p99",
        "manifest changes per second",
        "highest rate with p99 ≤ 1 s",
    } <= names


def test_density_measures_a_window_with_no_pod_then_each_step(tmp_path: Path) -> None:
    record = _run_to_the_end(tmp_path, "density", "--steps", "4,8", "--window", "0.5")
    [fastpod] = record.runs
    assert [step.pods for step in fastpod.steps] == [0, 4, 8]
    for step in fastpod.steps:
        assert step.seconds >= 0.5
        assert step.rss_bytes > 0
        assert step.cpu_seconds >= 0
    assert record.settings.steps == [4, 8]
    assert "RSS per pod at 8 pods" in {figure.name for figure in fastpod.figures}


def test_probes_counts_the_probes_fastpod_ran_in_its_window(tmp_path: Path) -> None:
    record = _run_to_the_end(tmp_path, "probes", "--pods", "4", "--window", "2")
    [fastpod] = record.runs
    [step] = fastpod.steps
    # 4 readiness probes a second for about 2 s (the fake runtime's exec ends at once)
    assert step.probes is not None
    assert 4 <= step.probes <= 4 * (step.seconds + 2)
    assert record.settings.probe_command == ["true"]
