"""What fastpod counts, and the recorder each process counts into.

Every process keeps its own numbers (no shared files, no locks: prometheus-client's
multiprocess mode would need both) and hands a :class:`MetricsSnapshot` to the supervisor
when it asks; the supervisor adds them up for ``/metrics``. :data:`CATALOGUE` names every
metric once, with the kubelet's name where the kubelet has one.
"""

from __future__ import annotations

import bisect
from typing import Literal, NamedTuple

import msgspec

MetricKind = Literal["counter", "gauge", "histogram"]
Labels = tuple[tuple[str, str], ...]

_DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_POD_START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 600)
_FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metric(NamedTuple):
    """One metric's kind, help text and (for histograms) bucket bounds."""

    kind: MetricKind
    help: str
    buckets: tuple[float, ...] = ()


CATALOGUE: dict[str, Metric] = {
    "kubelet_node_name": Metric("gauge", "The node's name. The count is always 1."),
    "kubelet_desired_pods": Metric("gauge", "The number of pods the sources want on this node."),
    "kubelet_running_pods": Metric("gauge", "Number of pods that have a running pod sandbox."),
    "kubelet_running_containers": Metric(
        "gauge", "Number of containers currently running, by state."
    ),
    "kubelet_started_pods_total": Metric("counter", "Cumulative number of pods started."),
    "kubelet_started_pods_errors_total": Metric(
        "counter", "Cumulative number of errors when starting pods."
    ),
    "kubelet_started_containers_total": Metric(
        "counter", "Cumulative number of containers started."
    ),
    "kubelet_started_containers_errors_total": Metric(
        "counter", "Cumulative number of errors when starting containers."
    ),
    "kubelet_restarted_pods_total": Metric(
        "counter", "Number of pods restarted with the same name and a new UID (replaced)."
    ),
    "kubelet_pod_start_duration_seconds": Metric(
        "histogram",
        "Duration in seconds from fastpod seeing a pod for the first time to the pod running.",
        _POD_START_BUCKETS,
    ),
    "kubelet_pod_worker_duration_seconds": Metric(
        "histogram",
        "Duration in seconds to sync a single pod, by operation type: create, update, sync.",
        _DEFAULT_BUCKETS,
    ),
    "kubelet_run_podsandbox_duration_seconds": Metric(
        "histogram", "Duration in seconds of the run_podsandbox operations.", _FAST_BUCKETS
    ),
    "prober_probe_total": Metric(
        "counter",
        "Cumulative number of a liveness, readiness or startup probe for a container by result.",
    ),
    "prober_probe_duration_seconds": Metric(
        "histogram",
        "Duration in seconds for a probe response.",
        _FAST_BUCKETS,
    ),
    "fastpod_manifest_events_total": Metric(
        "counter", "Manifest changes the watcher sent, by source and kind of change."
    ),
    "fastpod_manifests_rejected_total": Metric(
        "counter", "Manifests (or URL bodies) rejected as invalid."
    ),
    "fastpod_relist_duration_seconds": Metric(
        "histogram", "Duration in seconds of one re-list of the manifest path.", _FAST_BUCKETS
    ),
    "fastpod_url_poll_duration_seconds": Metric(
        "histogram", "Duration in seconds of one poll of the manifest URL.", _FAST_BUCKETS
    ),
    "fastpod_container_restarts_total": Metric(
        "counter", "Containers started again after they exited."
    ),
    "fastpod_container_restart_latency_seconds": Metric(
        "histogram",
        "Seconds from a container's exit to its replacement running, when no back-off applied.",
        _FAST_BUCKETS,
    ),
    "fastpod_containers_in_backoff": Metric(
        "gauge", "Containers waiting out a back-off, by reason."
    ),
    "fastpod_runtime_events_total": Metric("counter", "Container events read from the runtime."),
    "fastpod_runtime_call_errors_total": Metric("counter", "Runtime calls that failed."),
    "rest_client_requests_total": Metric(
        "counter",
        "Number of HTTP requests to the API server, partitioned by status code, method, and host.",
    ),
    "fastpod_events_written_total": Metric(
        "counter", "Pod events written to the API server, by verb (create or patch)."
    ),
    "fastpod_events_dropped_total": Metric(
        "counter",
        "Pod events not written to the API server, by reason (spam filter, rejected, "
        "queue full, cluster process away).",
    ),
    "fastpod_queue_depth": Metric(
        "gauge", "Message batches queued in a process for its peers and not yet written."
    ),
    "fastpod_process_restarts_total": Metric(
        "counter", "fastpod processes restarted by the supervisor after they died."
    ),
    "fastpod_process_resident_memory_bytes": Metric(
        "gauge", "Resident memory of each fastpod process."
    ),
    "fastpod_process_cpu_seconds_total": Metric(
        "counter", "CPU time (user and system) used by each fastpod process."
    ),
}


class Sample(msgspec.Struct, frozen=True, array_like=True):
    """A counter's or gauge's value for one set of labels."""

    name: str
    labels: Labels
    value: float


class HistogramSample(msgspec.Struct, frozen=True, array_like=True):
    """A histogram for one set of labels: a count per bucket (the last is +Inf), and the sum."""

    name: str
    labels: Labels
    counts: list[int]
    total: float


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """Everything one process has counted, as it stands now."""

    samples: list[Sample] = msgspec.field(default_factory=list)
    histograms: list[HistogramSample] = msgspec.field(default_factory=list)


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


class Recorder:
    """The counters and histograms of one process; gauges are given at snapshot time."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, Labels], float] = {}
        self._histograms: dict[tuple[str, Labels], tuple[list[int], list[float]]] = {}

    def count(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add ``amount`` to the counter ``name``."""
        key = (name, _labels(labels))
        self._counters[key] = self._counters.get(key, 0.0) + amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record one observation of the histogram ``name``."""
        key = (name, _labels(labels))
        entry = self._histograms.get(key)
        if entry is None:
            buckets = CATALOGUE[name].buckets
            entry = self._histograms[key] = ([0] * (len(buckets) + 1), [0.0])
        counts, total = entry
        counts[bisect.bisect_left(CATALOGUE[name].buckets, value)] += 1
        total[0] += value

    def snapshot(self, gauges: list[Sample] | None = None) -> MetricsSnapshot:
        """The counters and histograms now, with the gauges the caller measured."""
        samples = [Sample(name, labels, value) for (name, labels), value in self._counters.items()]
        samples.extend(gauges or ())
        return MetricsSnapshot(
            samples,
            [
                HistogramSample(name, labels, list(counts), total[0])
                for (name, labels), (counts, total) in self._histograms.items()
            ],
        )


recorder = Recorder()
"""This process's recorder: every process counts into its own copy."""


def gauge(name: str, value: float, **labels: str) -> Sample:
    """A gauge's value now, for :meth:`Recorder.snapshot`."""
    return Sample(name, _labels(labels), value)
