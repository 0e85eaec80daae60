"""The figures of a run, worked out from its samples alone (pure).

Every figure in a record is what :func:`figures` gives for that run's samples, so a reader
(or a test) can check a record by working them out again.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import structs

from fastpod.bench.record import Figure, Run, Sample, Step, Usage
from fastpod.bench.stats import rate, summarize

KIND_LABELS = {
    "start": "startup, first seen → running",
    "restart": "restart, exit → running",
    "crash-loop restart": "crash-loop restart, exit → running",
    "add": "churn add, write → running",
    "edit": "churn edit, write → running",
    "remove": "churn remove, write → stopped",
}
"""What each kind of sample measures, as the report names it."""

CHURN_KINDS = ("add", "edit", "remove")
_QUANTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def figures(run: Run, p99_bound: float | None = None) -> list[Figure]:
    """The figures of ``run``: latency percentiles by kind of sample, the startup's
    throughput, churn's rates (the highest with its p99 under ``p99_bound``), the
    resources used, and the density and probe windows."""
    result: list[Figure] = []
    for kind in _kinds(run.samples):
        samples = [sample for sample in run.samples if sample.kind == kind]
        result.extend(_latencies(KIND_LABELS.get(kind, kind), [s.latency for s in samples]))
        if kind == "start":
            result.extend(_startup(samples))
    result.extend(_churn([s for s in run.samples if s.kind in CHURN_KINDS], p99_bound))
    for group, points in sorted(run.usage.items()):
        result.extend(_usage(group, points))
    baseline = next((step for step in run.steps if step.pods == 0), None)
    for step in run.steps:
        result.extend(_step(step, baseline, own_pods=run.role != "floor"))
    return result


def with_figures(run: Run, p99_bound: float | None = None) -> Run:
    """``run`` with its figures worked out from its samples."""
    return structs.replace(run, figures=figures(run, p99_bound))


def _churn(samples: Sequence[Sample], p99_bound: float | None) -> list[Figure]:
    """Changes made per second; with several rates, each rate's p50 and p99 (every kind
    of change together); the highest rate whose p99 stayed under the bound (0 if none)."""
    rates = sorted({s.rate for s in samples if s.rate is not None})
    result = [] if len(rates) >= 2 else _changes_per_second("manifest changes", samples)
    p99s: dict[float, float] = {}
    for each in rates:
        at_rate = [s for s in samples if s.rate == each]
        summary = summarize([s.latency for s in at_rate])
        if summary is None:
            continue
        p99s[each] = summary.p99
        if len(rates) >= 2:
            at = f"churn at {each:g}/s"
            result += [
                Figure(name=f"{at}, write → done p50", value=summary.p50, unit="s"),
                Figure(name=f"{at}, write → done p99", value=summary.p99, unit="s"),
                *_changes_per_second(f"{at}: changes", at_rate),
            ]
    if p99_bound is not None and p99s:
        sustained = [each for each, p99 in p99s.items() if p99 <= p99_bound]
        result.append(
            Figure(
                name=f"highest rate with p99 ≤ {p99_bound:g} s",
                value=max(sustained, default=0.0),
                unit="/s",
                better="higher",
            )
        )
    return result


def _kinds(samples: Sequence[Sample]) -> list[str]:
    """The kinds present, in the order of :data:`KIND_LABELS`, then any other."""
    present = {sample.kind for sample in samples}
    known = [kind for kind in KIND_LABELS if kind in present]
    return known + sorted(present - set(KIND_LABELS))


def _changes_per_second(label: str, samples: Sequence[Sample]) -> list[Figure]:
    """How many changes a second were made: from the first write to the last."""
    writes = [s.begin for s in samples]
    per_second = rate(len(writes) - 1, max(writes) - min(writes)) if len(writes) >= 2 else None
    if per_second is None:
        return []
    return [Figure(name=f"{label} per second", value=per_second, unit="/s", better="higher")]


def _latencies(label: str, latencies: list[float]) -> list[Figure]:
    summary = summarize(latencies)
    if summary is None:
        return []
    by_quantile = {"p50": summary.p50, "p90": summary.p90, "p99": summary.p99}
    return [
        *(
            Figure(name=f"{label} {name}", value=by_quantile[name], unit="s")
            for name, _ in _QUANTILES
        ),
        Figure(name=f"{label} samples", value=summary.count, unit="", better="higher"),
    ]


def _startup(samples: Sequence[Sample]) -> list[Figure]:
    """From the first manifest written (or the first pod seen) to the last pod running."""
    began = min(s.written if s.written is not None else s.begin for s in samples)
    ended = max(s.end for s in samples)
    result = [Figure(name="all pods running", value=ended - began, unit="s")]
    per_second = rate(len(samples), ended - began)
    if per_second is not None:
        result.append(Figure(name="pods per second", value=per_second, unit="/s", better="higher"))
    written = [s.end - s.written for s in samples if s.written is not None]
    summary = summarize(written)
    if summary is not None:
        result += [
            Figure(name="write → running p50", value=summary.p50, unit="s"),
            Figure(name="write → running p99", value=summary.p99, unit="s"),
        ]
    return result


def _usage(group: str, points: Sequence[Usage]) -> list[Figure]:
    if not points:
        return []
    result = [Figure(name=f"{group} peak RSS", value=max(p.rss_bytes for p in points), unit="B")]
    if len(points) >= 2:
        cpu = points[-1].cpu_seconds - points[0].cpu_seconds
        result.append(Figure(name=f"{group} CPU", value=cpu, unit="s"))
    return result


def _step(step: Step, baseline: Step | None, own_pods: bool = True) -> list[Figure]:
    """A window's figures; the memory per pod is what the pods added to the ``baseline``
    (the window with no pod), when there is one, and when the run's own processes hold
    the pods (``own_pods``: not a floor's idle interpreters)."""
    at = f"at {step.pods} pods"
    if step.probes is not None:
        result = [
            Figure(
                name=f"probes per second {at}",
                value=step.probes / step.seconds,
                unit="/s",
                better="higher",
            ),
            Figure(name=f"CPU {at}", value=step.cpu_seconds / step.seconds, unit="s/s"),
        ]
        if step.probes:
            per_probe = step.cpu_seconds / step.probes
            result.append(Figure(name=f"CPU per probe {at}", value=per_probe, unit="s"))
        if step.runtime_cpu_seconds is not None:
            value = step.runtime_cpu_seconds / step.seconds
            result.append(Figure(name=f"runtime CPU {at}", value=value, unit="s/s"))
        return result
    result = [
        Figure(name=f"RSS {at}", value=step.rss_bytes, unit="B"),
        Figure(name=f"idle CPU {at}", value=step.cpu_seconds / step.seconds, unit="s/s"),
    ]
    if step.pods and own_pods:
        base = baseline.rss_bytes if baseline else 0
        value = (step.rss_bytes - base) / step.pods
        result.insert(1, Figure(name=f"RSS per pod {at}", value=value, unit="B"))
    if step.runtime_rss_bytes is not None:
        result.append(Figure(name=f"runtime RSS {at}", value=step.runtime_rss_bytes, unit="B"))
    if step.runtime_rss_bytes is not None and step.pods:
        base = baseline.runtime_rss_bytes or 0 if baseline else 0
        value = (step.runtime_rss_bytes - base) / step.pods
        result.append(Figure(name=f"runtime RSS per pod {at}", value=value, unit="B"))
    if step.runtime_cpu_seconds is not None:
        value = step.runtime_cpu_seconds / step.seconds
        result.append(Figure(name=f"runtime idle CPU {at}", value=value, unit="s/s"))
    return result
