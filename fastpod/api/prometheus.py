"""``/metrics``: every process's numbers added up, in the Prometheus text format.

Counters and histograms are summed over the processes (a restarted process starts from
zero, as a restarted kubelet does); gauges are summed too, except those labelled by
process, which stay apart. prometheus-client renders the text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import psutil
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from fastpod.metrics import CATALOGUE, Labels, MetricsSnapshot, Sample, gauge

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def process_samples(pids: dict[str, int]) -> list[Sample]:
    """Resident memory and CPU time of each named process that still exists."""
    samples = []
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                rss = process.memory_info().rss
                cpu = process.cpu_times()
        except psutil.Error:
            continue
        samples.append(gauge("fastpod_process_resident_memory_bytes", rss, process=name))
        samples.append(
            gauge("fastpod_process_cpu_seconds_total", cpu.user + cpu.system, process=name)
        )
    return samples


class _Merged(Collector):
    """The metric families of one scrape, built from the processes' snapshots."""

    def __init__(self, snapshots: Iterable[MetricsSnapshot]) -> None:
        self.values: dict[str, dict[Labels, float]] = {}
        self.histograms: dict[str, dict[Labels, tuple[list[int], float]]] = {}
        for snapshot in snapshots:
            for sample in snapshot.samples:
                series = self.values.setdefault(sample.name, {})
                series[sample.labels] = series.get(sample.labels, 0.0) + sample.value
            for histogram in snapshot.histograms:
                merged = self.histograms.setdefault(histogram.name, {})
                counts, total = merged.get(histogram.labels, ([0] * len(histogram.counts), 0.0))
                counts = [a + b for a, b in zip(counts, histogram.counts, strict=False)]
                merged[histogram.labels] = (counts, total + histogram.total)

    def collect(self) -> Iterator[Metric]:
        for name, metric in CATALOGUE.items():
            if metric.kind == "histogram":
                yield self._histogram(name)
                continue
            series = self.values.get(name, {})
            label_names = sorted({key for labels in series for key, _ in labels})
            family: CounterMetricFamily | GaugeMetricFamily
            if metric.kind == "counter":
                family = CounterMetricFamily(name, metric.help, labels=label_names)
            else:
                family = GaugeMetricFamily(name, metric.help, labels=label_names)
            for labels, value in sorted(series.items()):
                values = dict(labels)
                family.add_metric([values.get(key, "") for key in label_names], value)
            yield family

    def _histogram(self, name: str) -> HistogramMetricFamily:
        metric = CATALOGUE[name]
        series = self.histograms.get(name, {})
        label_names = sorted({key for labels in series for key, _ in labels})
        family = HistogramMetricFamily(name, metric.help, labels=label_names)
        for labels, (counts, total) in sorted(series.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*metric.buckets, float("inf")), counts, strict=True):
                cumulative += count
                buckets.append((_bound(bound), float(cumulative)))
            values = dict(labels)
            family.add_metric([values.get(key, "") for key in label_names], buckets, total)
        return family


def _bound(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(float(bound))


def exposition(snapshots: Iterable[MetricsSnapshot]) -> bytes:
    """The Prometheus text of all ``snapshots`` together."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Merged(snapshots))
    return generate_latest(registry)
