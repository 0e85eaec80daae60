"""The files of a run: the record, the plots when matplotlib is there, the report."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastpod.bench import plots
from fastpod.bench.outputs import write_outputs
from fastpod.bench.record import Machine, Record, Run, Sample, Settings, Step, decode

MACHINE = Machine(
    hostname="node1",
    os="Debian",
    kernel="6.1",
    cpu_model="CPU",
    cpus=2,
    memory_bytes=2**33,
    python="3.11",
)


def _record(scenario: str, run: Run) -> Record:
    settings = Settings(
        scenario=scenario,
        runtime="fake",
        namespace="fastpod-bench-000000",
        pods=3,
        containers_per_pod=1,
        image="pause",
    )
    return Record(
        started="2027-01-15T08:00:00Z",
        seconds=3.0,
        machine=MACHINE,
        versions={"fastpod": "0.1.0"},
        settings=settings,
        runs=[run],
    )


def test_density_steps_are_drawn_as_curves_and_shown_in_the_report(tmp_path: Path) -> None:
    steps = [
        Step(
            pods=pods,
            seconds=1.0,
            rss_bytes=(100 + pods) * 2**20,
            cpu_seconds=0.001 * pods,
            runtime_rss_bytes=pods * 2**20,
            runtime_cpu_seconds=0.0,
        )
        for pods in (0, 10, 20)
    ]
    run = Run(name="fastpod", role="subject", status="measured", steps=steps)
    written, missing = write_outputs(_record("density", run), str(tmp_path))
    assert missing is None
    assert (tmp_path / "density.png").read_bytes().startswith(b"\x89PNG")
    assert str(tmp_path / "density.png") in written
    assert (
        "![memory and idle CPU by number of pods](density.png)"
        in (tmp_path / "report.md").read_text()
    )
    assert not (tmp_path / "latency-cdf.png").exists(), "no samples: no CDF"


def test_without_matplotlib_the_record_and_report_are_written_and_say_why_no_plots(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plots, "available", lambda: False)
    samples = [Sample(pod="ns/a", kind="start", begin=0.1, end=0.2, written=0.0)]
    record = _record(
        "startup", Run(name="fastpod", role="subject", status="measured", samples=samples)
    )
    written, missing = write_outputs(record, str(tmp_path))
    assert missing == "no plots: matplotlib is not installed (pip install 'fastpod[bench]')"
    assert written == [str(tmp_path / "record.json"), str(tmp_path / "report.md")]
    assert decode((tmp_path / "record.json").read_bytes(), "record.json") == record
    assert "![" not in (tmp_path / "report.md").read_text()
    assert not list(tmp_path.glob("*.png"))
