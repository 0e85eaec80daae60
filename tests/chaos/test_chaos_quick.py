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
