"""Each fault scenario of bench/chaos at its small size, on Docker and on containerd: the
suite runs end to end and every invariant holds (the full sizes are ``make chaos``'s)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.chaos.__main__ import main

pytestmark = pytest.mark.e2e

RUNTIMES = [
    pytest.param("docker", marks=pytest.mark.docker),
    pytest.param("cri", marks=pytest.mark.containerd),
]


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("scenario", ["kills", "full-disk", "manifest-dir", "manifest-url"])
def test_a_quick_run_breaks_no_invariant(scenario: str, runtime: str, tmp_path: Path) -> None:
    status = main(
        [scenario, "--quick", "--runtime", runtime, "--seed", "7", "--out", str(tmp_path)]
    )

    record = json.loads((tmp_path / f"{scenario}-{runtime}-seed7.json").read_text())
    assert record["violations"] == []
    assert status == 0
    assert sum(record["faults"].values()) > 0
    assert record["checks"] > 1
    assert record["pods_checked"] > 0
    assert (tmp_path / f"{scenario}-{runtime}-seed7.log").stat().st_size > 0


@pytest.mark.containerd
def test_a_quick_run_of_containerd_restarts_breaks_no_invariant(tmp_path: Path) -> None:
    """Scenario 2 restarts only fastpod's private containerd (see its docstring)."""
    status = main(["runtime-restarts", "--quick", "--runtime", "cri", "--out", str(tmp_path)])

    record = json.loads((tmp_path / "runtime-restarts-cri-seed1.json").read_text())
    assert record["violations"] == []
    assert status == 0
    assert record["faults"] == {"containerd killed, then started again": 2}


@pytest.mark.parametrize("scenario", ["fuzz", "api-abuse"])
def test_a_quick_run_on_the_fake_runtime_finds_no_traceback_and_no_death(
    scenario: str, tmp_path: Path
) -> None:
    """Scenarios 6 and 7 test fastpod's own input handling: no engine needed."""
    status = main([scenario, "--quick", "--seed", "7", "--out", str(tmp_path)])

    record = json.loads((tmp_path / f"{scenario}-fake-seed7.json").read_text())
    assert record["violations"] == []
    assert status == 0
    figures = record["figures"]
    assert figures["process deaths"] == 0
    if scenario == "fuzz":
        assert figures["validated"] == figures["watched"] + figures["held back from the watcher"]
        assert figures["validated"] >= 1000
        assert figures["tracebacks, log"] == 0
    else:
        assert figures["tracebacks"] == 0
        assert figures["concurrent /pods"] == {"200": 200}
        assert figures["slow clients"]["closed by fastpod"] > 0


@pytest.mark.docker
def test_a_quick_run_of_dockerd_restarts_breaks_no_invariant(tmp_path: Path) -> None:
    """Scenario 2 on Docker restarts a dockerd of its own, with live restore."""
    status = main(["runtime-restarts", "--quick", "--runtime", "docker", "--out", str(tmp_path)])

    record = json.loads((tmp_path / "runtime-restarts-docker-seed1.json").read_text())
    assert record["violations"] == []
    assert status == 0
    assert sum(record["faults"].values()) == 2
    assert record["runtime_restarted"] == 0  # live restore: the containers ran on
