"""fastpod's log lines → startup samples: first seen → every container's first start."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.bench.log_samples import (
    ChurnTracker,
    Operation,
    all_running,
    first_seen,
    log_time,
    startup_samples,
)

ORIGIN = 1_800_000_000.0


def _at(seconds: float) -> str:
    """An RFC 3339 log time ``seconds`` after ORIGIN (2027-01-15T08:00:00Z)."""
    whole, fraction = divmod(seconds, 1)
    return f"2027-01-15T08:00:{int(whole):02d}.{round(fraction * 1e6):06d}Z"


def _added(pod: str, at: float) -> dict[str, Any]:
    return {"time": _at(at), "event": "pod added", "pod": pod, "uid": "u"}


def _started(pod: str, container: str, at: float, restart_count: int = 0) -> dict[str, Any]:
    return {
        "time": _at(at),
        "event": "container started",
        "pod": pod,
        "container": container,
        "restart_count": restart_count,
    }


def test_a_log_time_is_the_records_wall_clock_time() -> None:
    assert log_time({"time": _at(1.5)}) == ORIGIN + 1.5


def test_a_pod_runs_once_every_container_has_started() -> None:
    records = [
        _added("ns/a", 0.1),
        _started("ns/a", "c0", 0.2),
        _added("ns/b", 0.15),
        _started("ns/b", "c0", 0.25),
        _started("ns/b", "c1", 0.4),
        _started("ns/a", "c1", 0.3),
    ]
    running = all_running(records, ["ns/a", "ns/b"], ["c0", "c1"])
    assert running == {"ns/a": ORIGIN + 0.3, "ns/b": ORIGIN + 0.4}
    assert all_running(records[:4], ["ns/a", "ns/b"], ["c0", "c1"]) == {}


def test_restarts_and_other_pods_are_not_a_first_start() -> None:
    records = [
        _started("ns/a", "c0", 0.5, restart_count=1),
        _started("other/x", "c0", 0.2),
        _started("ns/a", "c0", 0.7),
    ]
    assert all_running(records, ["ns/a"], ["c0"]) == {"ns/a": ORIGIN + 0.7}


def test_a_pod_is_first_seen_at_its_first_added_line() -> None:
    records = [_added("ns/a", 0.1), _added("ns/a", 0.9), _added("other/x", 0.0)]
    assert first_seen(records, ["ns/a"]) == {"ns/a": ORIGIN + 0.1}


def test_startup_samples_run_from_first_seen_to_running_with_the_write_time() -> None:
    records = [
        _added("ns/a", 1.0),
        _added("ns/b", 1.1),
        _started("ns/b", "c0", 1.2),
        _started("ns/a", "c0", 1.5),
        _added("ns/c", 1.3),  # never ran: no sample
    ]
    written = {"ns/a": ORIGIN + 0.9, "ns/b": ORIGIN + 0.95, "ns/c": ORIGIN + 0.97}
    samples = startup_samples(records, written, ["c0"], ORIGIN)
    assert [s.pod for s in samples] == ["ns/b", "ns/a"]
    b, a = samples
    assert (b.begin, b.end, b.written) == pytest.approx((1.1, 1.2, 0.95), abs=1e-6)
    assert a.latency == pytest.approx(0.5, abs=1e-6)


def _stopped(pod: str, at: float) -> dict[str, Any]:
    return {"time": _at(at), "event": "pod stopped", "pod": pod, "uid": "u"}


def test_churn_operations_are_done_once_their_pod_runs_or_stops_after_the_write() -> None:
    tracker = ChurnTracker(["c0", "c1"])
    tracker.wrote(Operation("add", "ns/new", ORIGIN + 1.0))
    tracker.wrote(Operation("edit", "ns/old", ORIGIN + 1.1))
    tracker.wrote(Operation("remove", "ns/gone", ORIGIN + 1.2))
    tracker.feed(
        [
            _started("ns/old", "c0", 0.5),  # the pod before the edit: not the new one
            _started("ns/new", "c0", 1.3),
            _stopped("ns/gone", 1.25),
            _started("ns/old", "c0", 1.4),
            _started("ns/old", "c1", 1.6),
        ]
    )
    assert set(tracker.pending) == {"ns/new"}, "the add waits for its second container"
    tracker.feed([_started("ns/new", "c1", 1.5)])
    samples = {sample.kind: sample for sample in tracker.samples(ORIGIN)}
    assert samples["add"].latency == pytest.approx(0.5, abs=1e-6)
    assert samples["edit"].latency == pytest.approx(0.5, abs=1e-6)
    assert samples["remove"].latency == pytest.approx(0.05, abs=1e-6)
    assert samples["edit"].written == pytest.approx(1.1, abs=1e-6)
    assert tracker.pending == {}
