"""The statistics of a set of latencies: percentiles, a summary, a CDF, a rate.

Percentiles are nearest-rank (the smallest sample with at least ``q`` of the samples at or
below it), so every figure is a latency that was observed, and a reader can find it in the
record's samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec


class Summary(msgspec.Struct, frozen=True):
    """Count, extremes, mean and the usual percentiles of a set of values."""

    count: int
    min: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-quantile (0 < q <= 1) of ``values``; ValueError if empty."""
    if not values:
        raise ValueError("no values")
    if not 0 < q <= 1:
        raise ValueError(f"quantile {q} is not in (0, 1]")
    ordered = sorted(values)
    rank = math.ceil(q * len(ordered))
    return ordered[max(rank, 1) - 1]


def summarize(values: Sequence[float]) -> Summary | None:
    """The summary of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return Summary(
        count=len(ordered),
        min=ordered[0],
        p50=percentile(ordered, 0.5),
        p90=percentile(ordered, 0.9),
        p99=percentile(ordered, 0.99),
        max=ordered[-1],
        mean=math.fsum(ordered) / len(ordered),
    )


def cdf(values: Sequence[float]) -> list[tuple[float, float]]:
    """The empirical CDF: each value, sorted, with the fraction of values at or below it."""
    ordered = sorted(values)
    count = len(ordered)
    return [(value, (index + 1) / count) for index, value in enumerate(ordered)]


def rate(count: int, seconds: float) -> float | None:
    """``count`` per second over ``seconds``; None when no time passed."""
    if seconds <= 0:
        return None
    return count / seconds


def cumulative(times: Sequence[float]) -> list[tuple[float, int]]:
    """How many events had happened by each event's time: a timeline's steps, in order."""
    return [(moment, index + 1) for index, moment in enumerate(sorted(times))]


def windows(points: Sequence[tuple[float, float]], width: float) -> list[tuple[float, list[float]]]:
    """``(time, value)`` points grouped into consecutive windows of ``width`` seconds from 0:
    each non-empty window's start and its values, in order of time."""
    if width <= 0:
        raise ValueError(f"window width {width} is not positive")
    grouped: dict[int, list[float]] = {}
    for moment, value in points:
        grouped.setdefault(int(moment // width), []).append(value)
    return [(index * width, grouped[index]) for index in sorted(grouped)]
