"""Restart samples from the runtime's listing: the killed instance's end → its successor's start."""

from __future__ import annotations

import pytest

from fastpod.bench.runtime_samples import restart_kind, restart_samples
from fastpod.runtime.base import ContainerInfo
from fastpod.runtime.labels import CONTAINER_NAME, POD_NAME, POD_NAMESPACE

ORIGIN = 1_000.0


def _instance(
    pod: str, container: str, restart_count: int, started: float, finished: float | None = None
) -> ContainerInfo:
    labels = {
        POD_NAMESPACE: "ns",
        POD_NAME: pod,
        CONTAINER_NAME: container,
        "io.kubernetes.container.restartCount": str(restart_count),
    }
    return ContainerInfo(
        id=f"{pod}-{container}-{restart_count}",
        sandbox_id="s",
        labels=labels,
        state="exited" if finished is not None else "running",
        started_at=ORIGIN + started,
        finished_at=None if finished is None else ORIGIN + finished,
    )


def test_a_restart_runs_from_the_killed_instances_end_to_the_next_ones_start() -> None:
    listing = [
        _instance("a", "c0", 0, started=1.0, finished=5.0),
        _instance("a", "c0", 1, started=5.25),
        _instance("b", "c0", 0, started=1.0, finished=5.0),
        _instance("b", "c0", 1, started=5.5),
    ]
    samples = restart_samples(listing, 1, ORIGIN)
    assert [(s.pod, s.kind) for s in samples] == [("ns/a", "restart"), ("ns/b", "restart")]
    assert [s.latency for s in samples] == pytest.approx([0.25, 0.5])
    assert samples[0].begin == pytest.approx(5.0)
    assert samples[0].written is None


def test_later_restarts_are_crash_loop_restarts_from_the_instance_before() -> None:
    listing = [
        _instance("a", "c0", 1, started=5.25, finished=6.0),
        _instance("a", "c0", 2, started=7.0),
    ]
    [sample] = restart_samples(listing, 2, ORIGIN)
    assert sample.kind == "crash-loop restart"
    assert sample.latency == pytest.approx(1.0)
    assert restart_kind(1) == "restart"
    assert restart_kind(3) == "crash-loop restart"


def test_a_container_not_yet_replaced_or_still_running_has_no_sample() -> None:
    listing = [
        _instance("a", "c0", 0, started=1.0, finished=5.0),  # no successor yet
        _instance("b", "c0", 0, started=1.0),  # never ended
        _instance("b", "c0", 1, started=2.0),
    ]
    assert restart_samples(listing, 1, ORIGIN) == []
