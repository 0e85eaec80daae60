"""fastpod's log records → the samples of a run (pure).

A pod is first seen at its ``pod added`` line (the worker's, logged as it takes the pod,
where fastpod's ``kubelet_pod_start_duration_seconds`` starts too) and running at the last
of its containers' first ``container started`` lines (``restart_count`` 0), read with the
log's microsecond times. That is the kubelet's pod startup SLI,
``kubelet_pod_start_sli_duration_seconds`` (``pkg/kubelet/util/
pod_startup_latency_tracker.go``: from the pod's creation to all its containers started,
image pulls left out), for a static pod, which has no creation time on an API server: its
first sight stands for it. The bench's pods use images already on the node, so there is no
pull to leave out; an image that must be pulled is in the figure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import msgspec

from fastpod.bench.record import Sample

LogRecord = Mapping[str, Any]


def log_time(record: LogRecord) -> float:
    """The wall-clock time (seconds since the epoch) of a JSON log record."""
    return datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00")).timestamp()


def first_seen(records: Iterable[LogRecord], pods: Iterable[str]) -> dict[str, float]:
    """When each of ``pods`` (keys, ``namespace/name``) was first added."""
    wanted = set(pods)
    seen: dict[str, float] = {}
    for record in records:
        key = record.get("pod")
        if record.get("event") == "pod added" and key in wanted and key not in seen:
            seen[key] = log_time(record)
    return seen


def all_running(
    records: Iterable[LogRecord],
    pods: Iterable[str],
    containers: Iterable[str],
    restart_count: int = 0,
) -> dict[str, float]:
    """When each of ``pods`` had all of ``containers`` started (their ``restart_count``-th
    instances, the first ones by default): the pods running so far."""
    wanted, names = set(pods), set(containers)
    started: dict[str, dict[str, float]] = {}
    for record in records:
        key = record.get("pod")
        if (
            record.get("event") == "container started"
            and key in wanted
            and record.get("restart_count", 0) == restart_count
            and record.get("container") in names
        ):
            started.setdefault(str(key), {}).setdefault(str(record["container"]), log_time(record))
    return {key: max(times.values()) for key, times in started.items() if set(times) == names}


def startup_samples(
    records: Iterable[LogRecord],
    written: Mapping[str, float],
    containers: Iterable[str],
    origin: float,
) -> list[Sample]:
    """A ``start`` sample for each pod of ``written`` (key → when its manifest was written)
    that was seen and is running, times from ``origin``; in the order the pods ran."""
    kept = list(records)
    names = list(containers)
    seen = first_seen(kept, written)
    running = all_running(kept, written, names)
    samples = [
        Sample(
            pod=key,
            kind="start",
            begin=seen[key] - origin,
            end=running[key] - origin,
            written=written[key] - origin,
        )
        for key in written
        if key in seen and key in running
    ]
    return sorted(samples, key=lambda sample: sample.end)


class Operation(msgspec.Struct, frozen=True):
    """One manifest change of a churn: ``add``, ``edit`` or ``remove`` of pod ``key``."""

    kind: str
    key: str
    written: float
    rate: float | None = None
    """The rate of changes it was made at."""


class ChurnTracker:
    """Which churn operations fastpod has carried out, fed the log records as they come.

    An add or an edit is done when every container of the pod has started (first
    instances) after the write; a removal when the pod was stopped after it. Records are
    fed once each, so a run of minutes stays linear in its log.
    """

    def __init__(self, containers: Iterable[str]) -> None:
        self.names = set(containers)
        self.pending: dict[str, Operation] = {}
        """The operation waiting on each pod, by key (one at a time per pod)."""
        self.started: dict[str, dict[str, float]] = {}
        self.done: list[tuple[Operation, float]] = []

    def wrote(self, operation: Operation) -> None:
        self.pending[operation.key] = operation
        self.started.pop(operation.key, None)

    def feed(self, records: Iterable[LogRecord]) -> None:
        for record in records:
            key = str(record.get("pod"))
            operation = self.pending.get(key)
            if operation is None:
                continue
            at = log_time(record)
            if at < operation.written:
                continue
            event = record.get("event")
            if operation.kind == "remove":
                if event == "pod stopped":
                    self._finish(operation, at)
            elif (
                event == "container started"
                and record.get("restart_count", 0) == 0
                and record.get("container") in self.names
            ):
                started = self.started.setdefault(key, {})
                started.setdefault(str(record["container"]), at)
                if set(started) == self.names:
                    self._finish(operation, max(started.values()))

    def _finish(self, operation: Operation, at: float) -> None:
        del self.pending[operation.key]
        self.started.pop(operation.key, None)
        self.done.append((operation, at))

    def samples(self, origin: float) -> list[Sample]:
        """A sample per operation done: from its write to the pod running (or stopped)."""
        return sorted(
            (
                Sample(
                    pod=operation.key,
                    kind=operation.kind,
                    begin=operation.written - origin,
                    end=at - origin,
                    written=operation.written - origin,
                    rate=operation.rate,
                )
                for operation, at in self.done
            ),
            key=lambda sample: sample.begin,
        )
