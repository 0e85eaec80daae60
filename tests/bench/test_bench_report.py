"""A record's figures, its Markdown report, its JSON form and the comparison of two runs."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from fastpod.bench.figures import figures, with_figures
from fastpod.bench.record import (
    SCHEMA_VERSION,
    Figure,
    Machine,
    Record,
    RecordError,
    Run,
    Sample,
    Settings,
    Step,
    Usage,
    decode,
    encode,
)
from fastpod.bench.report import compare, markdown, ratio_text, table, value_text

MACHINE = Machine(
    hostname="node1",
    os="Debian GNU/Linux 12 (bookworm)",
    kernel="6.1.0",
    cpu_model="Some CPU",
    cpus=2,
    memory_bytes=8 * 1024**3,
    python="3.11.7",
)


def _starts(latencies: list[float], name: str = "p") -> list[Sample]:
    return [
        Sample(
            pod=f"ns/{name}{i}", kind="start", begin=1.0 + i, end=1.0 + i + latency, written=0.5 + i
        )
        for i, latency in enumerate(latencies)
    ]


def _record(fastpod: list[float], floor: list[float], pods: int = 4) -> Record:
    return Record(
        started="2027-01-15T08:00:00Z",
        seconds=12.0,
        machine=MACHINE,
        versions={"fastpod": "0.1.0", "docker": "Docker 27.0"},
        settings=Settings(
            scenario="startup",
            runtime="docker",
            namespace="fastpod-bench-000000",
            pods=pods,
            containers_per_pod=1,
            image="pause",
        ),
        runs=[
            with_figures(
                Run(name="fastpod", role="subject", status="measured", samples=_starts(fastpod))
            ),
            with_figures(
                Run(name="Engine API", role="floor", status="measured", samples=_starts(floor, "f"))
            ),
            Run(
                name="podman kube play",
                role="peer",
                status="cannot run",
                reason="podman is not installed",
            ),
        ],
    )


def _value(run: Run, name: str) -> float:
    return next(f.value for f in run.figures if f.name == name)


def test_startup_figures_are_worked_out_from_the_samples() -> None:
    run = Run(
        name="fastpod", role="subject", status="measured", samples=_starts([0.1, 0.2, 0.3, 0.4])
    )
    by_name = {f.name: f for f in figures(run)}
    assert by_name["startup, first seen → running p50"].value == pytest.approx(0.2)
    assert by_name["startup, first seen → running p99"].value == pytest.approx(0.4)
    assert by_name["startup, first seen → running samples"].value == 4
    # first written at 0.5, last running at 4.0 + 0.4
    assert by_name["all pods running"].value == pytest.approx(3.9)
    assert by_name["pods per second"].value == pytest.approx(4 / 3.9)
    assert by_name["pods per second"].better == "higher"
    assert by_name["write → running p50"].value == pytest.approx(0.7)


def test_usage_and_density_steps_make_figures() -> None:
    run = Run(
        name="fastpod",
        role="subject",
        status="measured",
        usage={
            "fastpod": [
                Usage(at=0, cpu_seconds=1.0, rss_bytes=100),
                Usage(at=1, cpu_seconds=1.5, rss_bytes=300),
            ]
        },
        steps=[
            Step(pods=0, seconds=2.0, rss_bytes=600, cpu_seconds=0.0, runtime_rss_bytes=100),
            Step(pods=10, seconds=2.0, rss_bytes=1000, cpu_seconds=0.02, runtime_rss_bytes=500),
            Step(pods=5, seconds=2.0, rss_bytes=1000, cpu_seconds=0.5, probes=10),
        ],
    )
    by_name = {f.name: f.value for f in figures(run)}
    assert by_name["fastpod peak RSS"] == 300
    assert by_name["fastpod CPU"] == pytest.approx(0.5)
    assert by_name["RSS per pod at 10 pods"] == 40  # what the pods added to the 600 of none
    assert by_name["runtime RSS per pod at 10 pods"] == 40
    assert "RSS per pod at 0 pods" not in by_name
    assert by_name["idle CPU at 10 pods"] == 0.01
    assert by_name["probes per second at 5 pods"] == 5
    assert by_name["CPU per probe at 5 pods"] == 0.05


def test_a_record_reads_back_as_it_was_written() -> None:
    record = _record([0.1, 0.2], [0.05, 0.1])
    assert decode(encode(record), "r.json") == record
    assert msgspec.json.decode(encode(record))["schema_version"] == SCHEMA_VERSION


def test_a_record_of_another_schema_version_is_refused_by_name() -> None:
    with pytest.raises(RecordError, match=r"old\.json: record schema version 99"):
        decode(b'{"schema_version": 99}', "old.json")


def test_a_broken_record_is_refused_naming_the_field() -> None:
    document = msgspec.json.decode(encode(_record([0.1], [0.1])))
    document["runs"][0]["samples"][0]["end"] = "soon"
    with pytest.raises(RecordError, match=r"r\.json: .*\$\.runs\[0\]\.samples\[0\]\.end"):
        decode(msgspec.json.encode(document), "r.json")
    with pytest.raises(RecordError, match=r"r\.json: not a fastpod bench record"):
        decode(b"[1, 2]", "r.json")


def test_values_are_shown_in_units_people_read() -> None:
    assert value_text(0.0123, "s") == "12.3 ms"
    assert value_text(2.5, "s") == "2.50 s"
    assert value_text(0.0000425, "s") == "42.5 µs"
    assert value_text(3 * 1024 * 1024, "B") == "3.0 MiB"
    assert value_text(2.5 * 1024**3, "B") == "2.50 GiB"
    assert value_text(0.015, "s/s") == "1.50 % of a core"
    assert value_text(12.34, "/s") == "12.3/s"
    assert ratio_text(3.0, 2.0) == "1.50x"
    assert ratio_text(3.0, 0.0) == "-"


def test_the_table_has_a_column_per_measured_run_and_fastpods_ratios() -> None:
    lines = table(_record([0.2, 0.2, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]))
    assert lines[0] == "| figure | fastpod | Engine API (floor) | fastpod ÷ Engine API |"
    p50 = next(line for line in lines if line.startswith("| startup, first seen → running p50"))
    assert p50 == "| startup, first seen → running p50 | 200.0 ms | 100.0 ms | 2.00x |"


def test_the_report_names_the_run_that_cannot_run_here_and_why() -> None:
    report = markdown(_record([0.2], [0.1]), plots=[("latency CDF", "startup-cdf.png")])
    assert report.startswith("# fastpod bench startup: 4 pods on docker\n")
    assert "node1: Debian GNU/Linux 12 (bookworm), kernel 6.1.0, 2 x Some CPU" in report
    assert "- podman kube play (peer): cannot run here: podman is not installed" in report
    assert "![latency CDF](startup-cdf.png)" in report


def test_compare_gives_each_figures_ratio_and_whether_it_is_better() -> None:
    before = _record([0.2, 0.2], [0.1, 0.1])
    after = _record([0.1, 0.1], [0.1, 0.1])
    lines = compare(before, after)
    assert (
        "fastpod: startup, first seen → running p50: 200.0 ms → 100.0 ms  0.50x (better)" in lines
    )
    assert "Engine API: startup, first seen → running p50: 100.0 ms → 100.0 ms  1.00x" in lines
    assert not any(line.startswith("podman") for line in lines)


def test_compare_says_first_where_the_runs_differ() -> None:
    lines = compare(_record([0.2], [0.1], pods=4), _record([0.2], [0.1], pods=8))
    assert lines[0] == "pods: 4 → 8 (the runs differ)"


def test_a_figure_that_rises_is_worse_unless_higher_is_better() -> None:
    slower = [Figure(name="x", value=2.0, unit="s")]
    faster = [Figure(name="x", value=1.0, unit="s")]
    record = _record([0.1], [0.1])
    runs_before = [Run(name="fastpod", role="subject", status="measured", figures=faster)]
    runs_after = [Run(name="fastpod", role="subject", status="measured", figures=slower)]
    lines = compare(
        msgspec.structs.replace(record, runs=runs_before),
        msgspec.structs.replace(record, runs=runs_after),
    )
    assert lines == ["fastpod: x: 1.00 s → 2.00 s  2.00x (worse)"]


def _change(kind: str, begin: float, latency: float, at_rate: float) -> Sample:
    return Sample(
        pod="ns/p", kind=kind, begin=begin, end=begin + latency, written=begin, rate=at_rate
    )


def test_churn_at_several_rates_names_the_highest_whose_p99_stays_under_the_bound() -> None:
    samples = [
        *(_change("add", 0.1 * i, 0.05, 10.0) for i in range(10)),
        *(_change("edit", 2 + 0.05 * i, 0.2, 20.0) for i in range(20)),
        *(_change("remove", 4 + 0.025 * i, 2.0, 40.0) for i in range(40)),
    ]
    run = Run(name="fastpod", role="subject", status="measured", samples=samples)
    by_name = {f.name: f.value for f in figures(run, p99_bound=0.5)}
    assert by_name["highest rate with p99 ≤ 0.5 s"] == 20.0
    assert by_name["churn at 10/s, write → done p99"] == pytest.approx(0.05)
    assert by_name["churn at 40/s, write → done p99"] == pytest.approx(2.0)
    assert by_name["churn at 20/s: changes per second"] == pytest.approx(20.0)
    assert "manifest changes per second" not in by_name, "one figure per rate instead"
    assert figures(run, p99_bound=0.01)[-1].value == 0.0, "no rate sustained"


def test_the_record_shown_in_the_readme_reads_back_and_its_figures_check_out() -> None:
    path = Path(__file__).parents[2] / "docs" / "bench" / "startup-docker-record.json"
    record = decode(path.read_bytes(), str(path))
    assert record.settings.scenario == "startup"
    for run in record.runs:
        assert run.figures == figures(run), run.name
