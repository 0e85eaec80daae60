"""Restart samples from what the runtime lists (pure).

A restart runs from the runtime's ``finished_at`` of the instance that was killed to the
``started_at`` of the instance that replaced it: both the runtime's own times, so neither
fastpod's noticing nor the bench's looking is in them. The first restart of a container
is fastpod's immediate one; the later ones wait out the crash-loop back-off.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastpod.bench.record import Sample
from fastpod.runtime.base import ContainerInfo
from fastpod.runtime.labels import POD_NAME, POD_NAMESPACE


def restart_kind(restart_count: int) -> str:
    """``restart`` for a container's first restart, ``crash-loop restart`` after that."""
    return "restart" if restart_count <= 1 else "crash-loop restart"


def restart_samples(
    containers: Iterable[ContainerInfo], restart_count: int, origin: float
) -> list[Sample]:
    """A sample for each container whose instance ``restart_count`` started after instance
    ``restart_count - 1`` ended, times from ``origin``; in the order they started."""
    instances: dict[tuple[str, str], dict[int, ContainerInfo]] = {}
    for info in containers:
        key = (f"{info.labels.get(POD_NAMESPACE, '')}/{info.labels.get(POD_NAME, '')}", info.name)
        instances.setdefault(key, {})[info.restart_count] = info
    samples = []
    for (pod, _), by_count in sorted(instances.items()):
        killed, replacement = by_count.get(restart_count - 1), by_count.get(restart_count)
        if killed is None or replacement is None:
            continue
        if killed.finished_at is None or replacement.started_at is None:
            continue
        samples.append(
            Sample(
                pod=pod,
                kind=restart_kind(restart_count),
                begin=killed.finished_at - origin,
                end=replacement.started_at - origin,
            )
        )
    return sorted(samples, key=lambda sample: sample.end)
