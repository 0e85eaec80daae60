"""The statistics of latencies: nearest-rank percentiles, summaries, CDFs, rates, windows."""

from __future__ import annotations

import pytest

from fastpod.bench.probes import probe_count
from fastpod.bench.stats import cdf, cumulative, percentile, rate, summarize, windows


def test_a_percentile_is_a_sample_at_its_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.9) == 90.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0


def test_a_percentile_of_few_values_is_one_of_them() -> None:
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0
    assert percentile([7.0], 0.01) == 7.0


def test_a_percentile_of_nothing_or_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="not in"):
        percentile([1.0], 0.0)


def test_a_summary_gives_count_extremes_mean_and_percentiles() -> None:
    summary = summarize([4.0, 1.0, 3.0, 2.0])
    assert summary is not None
    assert (summary.count, summary.min, summary.max, summary.mean) == (4, 1.0, 4.0, 2.5)
    assert (summary.p50, summary.p90, summary.p99) == (2.0, 4.0, 4.0)
    assert summarize([]) is None


def test_a_cdf_rises_to_one_over_the_sorted_values() -> None:
    assert cdf([0.3, 0.1, 0.2, 0.4]) == [(0.1, 0.25), (0.2, 0.5), (0.3, 0.75), (0.4, 1.0)]
    assert cdf([]) == []


def test_a_rate_needs_time_to_pass() -> None:
    assert rate(10, 2.0) == 5.0
    assert rate(10, 0.0) is None


def test_cumulative_counts_events_in_time_order() -> None:
    assert cumulative([2.0, 1.0, 3.0]) == [(1.0, 1), (2.0, 2), (3.0, 3)]


def test_windows_group_points_by_their_time() -> None:
    points = [(0.1, 1.0), (0.9, 2.0), (2.5, 3.0), (1.0, 4.0)]
    assert windows(points, 1.0) == [(0.0, [1.0, 2.0]), (1.0, [4.0]), (2.0, [3.0])]
    with pytest.raises(ValueError, match="not positive"):
        windows(points, 0)


def test_the_probe_count_adds_up_every_series_of_the_counter() -> None:
    metrics = (
        "# TYPE prober_probe_total counter\n"
        'prober_probe_total{probe_type="Readiness",result="successful"} 12.0\n'
        'prober_probe_total{probe_type="Readiness",result="failed"} 3.0\n'
        'prober_probe_duration_seconds_count{probe_type="Readiness"} 99.0\n'
    )
    assert probe_count(metrics) == 15
