"""``/metrics`` text: the processes' snapshots added up, readable by Prometheus's parser."""

from __future__ import annotations

import os

from fastpod.api.prometheus import exposition, process_samples
from fastpod.metrics import Recorder, gauge
from tests.support.prometheus_text import samples


def test_counters_and_gauges_of_every_process_are_summed() -> None:
    one, two = Recorder(), Recorder()
    one.count("kubelet_started_containers_total", container_type="container")
    two.count("kubelet_started_containers_total", 2, container_type="container")
    found = samples(
        exposition(
            [
                one.snapshot([gauge("kubelet_running_pods", 4)]),
                two.snapshot([gauge("kubelet_running_pods", 6)]),
            ]
        )
    )
    assert found[("kubelet_started_containers_total", (("container_type", "container"),))] == 3
    assert found[("kubelet_running_pods", ())] == 10


def test_gauges_labelled_by_process_stay_apart() -> None:
    found = samples(
        exposition(
            [
                Recorder().snapshot([gauge("fastpod_queue_depth", 1, process="watcher")]),
                Recorder().snapshot([gauge("fastpod_queue_depth", 5, process="worker-0")]),
            ]
        )
    )
    assert found[("fastpod_queue_depth", (("process", "watcher"),))] == 1
    assert found[("fastpod_queue_depth", (("process", "worker-0"),))] == 5


def test_histograms_are_merged_bucket_by_bucket_and_cumulated() -> None:
    one, two = Recorder(), Recorder()
    one.observe("fastpod_container_restart_latency_seconds", 0.004)
    two.observe("fastpod_container_restart_latency_seconds", 0.2)
    two.observe("fastpod_container_restart_latency_seconds", 60.0)
    found = samples(exposition([one.snapshot(), two.snapshot()]))
    name = "fastpod_container_restart_latency_seconds"
    assert found[(f"{name}_bucket", (("le", "0.005"),))] == 1
    assert found[(f"{name}_bucket", (("le", "0.25"),))] == 2
    assert found[(f"{name}_bucket", (("le", "+Inf"),))] == 3
    assert found[(f"{name}_count", ())] == 3
    assert abs(found[(f"{name}_sum", ())] - 60.204) < 1e-9


def test_a_metric_nobody_counted_yet_is_still_described() -> None:
    text = exposition([]).decode()
    assert "# TYPE kubelet_restarted_pods_total counter" in text
    assert "# HELP fastpod_container_restart_latency_seconds" in text


def test_process_memory_and_cpu_are_read_for_live_processes_only() -> None:
    found = {
        (sample.name, sample.labels)
        for sample in process_samples({"supervisor": os.getpid(), "gone": 2**22 + 12345})
    }
    assert ("fastpod_process_resident_memory_bytes", (("process", "supervisor"),)) in found
    assert ("fastpod_process_cpu_seconds_total", (("process", "supervisor"),)) in found
    assert not any(dict(labels).get("process") == "gone" for _, labels in found)
