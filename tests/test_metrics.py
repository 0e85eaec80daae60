"""The recorder each process counts into: counters, histograms by bucket, gauges at snapshot."""

from __future__ import annotations

import pytest

from fastpod.metrics import CATALOGUE, Recorder, Sample, gauge


def test_counters_add_up_per_set_of_labels() -> None:
    recorder = Recorder()
    recorder.count("fastpod_manifest_events_total", source="file", kind="changed")
    recorder.count("fastpod_manifest_events_total", 2, kind="changed", source="file")
    recorder.count("fastpod_manifest_events_total", source="http", kind="changed")
    found = {(s.name, s.labels): s.value for s in recorder.snapshot().samples}
    assert found == {
        ("fastpod_manifest_events_total", (("kind", "changed"), ("source", "file"))): 3.0,
        ("fastpod_manifest_events_total", (("kind", "changed"), ("source", "http"))): 1.0,
    }


@pytest.mark.parametrize(
    ("value", "bucket"),
    [(0.0005, 0), (0.001, 0), (0.0011, 1), (5.0, 11), (9.0, 12)],
)
def test_an_observation_lands_in_the_first_bucket_whose_bound_holds_it(
    value: float, bucket: int
) -> None:
    recorder = Recorder()
    recorder.observe("fastpod_container_restart_latency_seconds", value)
    (histogram,) = recorder.snapshot().histograms
    buckets = CATALOGUE["fastpod_container_restart_latency_seconds"].buckets
    assert len(histogram.counts) == len(buckets) + 1, "one more for +Inf"
    assert histogram.counts[bucket] == 1
    assert sum(histogram.counts) == 1
    assert histogram.total == value


def test_a_snapshot_carries_the_gauges_measured_for_it_and_does_not_keep_them() -> None:
    recorder = Recorder()
    first = recorder.snapshot([gauge("kubelet_running_pods", 3)])
    assert first.samples == [Sample("kubelet_running_pods", (), 3)]
    assert recorder.snapshot().samples == []


def test_a_snapshot_is_a_copy_that_later_counting_does_not_change() -> None:
    recorder = Recorder()
    recorder.observe("fastpod_relist_duration_seconds", 0.01)
    before = recorder.snapshot()
    recorder.observe("fastpod_relist_duration_seconds", 0.01)
    assert sum(before.histograms[0].counts) == 1


def test_every_metric_is_named_as_prometheus_and_the_kubelet_expect() -> None:
    for name, metric in CATALOGUE.items():
        # the kubelet's prober metrics carry their subsystem's prefix, not kubelet_, and
        # its API client's are client-go's (rest_client_)
        assert name.startswith(("kubelet_", "prober_", "rest_client_", "fastpod_")), name
        assert (metric.kind == "counter") == name.endswith("_total"), name
        assert (metric.kind == "histogram") == bool(metric.buckets), name
        assert list(metric.buckets) == sorted(metric.buckets), name
