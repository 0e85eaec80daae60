"""The report's pictures, drawn with matplotlib when it is installed (``fastpod[bench]``).

- ``latency-cdf.png``: each run's latencies as a CDF, a line per run and kind of sample;
- ``timeline.png``: pods running over time (startup) or each change's latency at the
  time it was made (churn), a line per run, each from its own first write;
- ``usage.png``: CPU (share of a core) and resident memory over the run, per run and group;
- ``density.png``: memory and idle CPU against the number of pods (density).

Each is drawn only when the record has what it shows. The curves' points come from
:mod:`fastpod.bench.stats`; only the drawing is here.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import Any

from fastpod.bench.figures import CHURN_KINDS, KIND_LABELS
from fastpod.bench.record import Record, Run
from fastpod.bench.stats import cdf, cumulative

Plot = tuple[str, str]
"""A plot's caption and its file name."""

_MIB = 1024 * 1024
MISSING = "matplotlib is not installed (pip install 'fastpod[bench]')"


def available() -> bool:
    """Whether matplotlib can be imported here."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def draw(record: Record, directory: str) -> list[Plot]:
    """Draw every plot the record has data for into ``directory``; their captions and
    file names."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    measured = [run for run in record.runs if run.status == "measured"]
    plots: list[Plot] = []
    drawers: list[tuple[str, str, Callable[[Any, list[Run]], bool]]] = [
        ("latency CDF", "latency-cdf.png", _latency_cdf),
        (_timeline_caption(record), "timeline.png", _timeline),
        ("CPU and memory over the run", "usage.png", _usage),
        ("memory and idle CPU by number of pods", "density.png", _density),
    ]
    for caption, name, drawer in drawers:
        figure = pyplot.figure(figsize=(8, 4.5), dpi=100)
        try:
            if drawer(figure, measured):
                figure.suptitle(
                    f"{caption}: {record.settings.scenario} on {record.settings.runtime}"
                )
                figure.tight_layout()
                figure.savefig(os.path.join(directory, name))
                plots.append((caption, name))
        finally:
            pyplot.close(figure)
    return plots


def _timeline_caption(record: Record) -> str:
    return "latency over time" if record.settings.scenario == "churn" else "pods running over time"


def _latency_cdf(figure: Any, runs: list[Run]) -> bool:
    axes = figure.add_subplot()
    drawn = False
    for run in runs:
        for kind in sorted({sample.kind for sample in run.samples}):
            points = cdf([s.latency for s in run.samples if s.kind == kind])
            label = run.name if len({s.kind for s in run.samples}) == 1 else f"{run.name}, {kind}"
            axes.step([p[0] for p in points], [p[1] for p in points], where="post", label=label)
            drawn = True
    if drawn:
        axes.set_xlabel("latency (s)")
        axes.set_ylabel("fraction of samples")
        axes.set_ylim(0, 1.02)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return drawn


def _timeline(figure: Any, runs: list[Run]) -> bool:
    axes = figure.add_subplot()
    drawn = False
    for run in runs:
        churn = [s for s in run.samples if s.kind in CHURN_KINDS]
        starts = [s for s in run.samples if s.kind == "start"]
        if churn:
            for kind in CHURN_KINDS:
                chosen = [s for s in churn if s.kind == kind]
                if chosen:
                    axes.plot(
                        [s.begin for s in chosen],
                        [s.latency * 1000 for s in chosen],
                        ".",
                        label=f"{run.name}: {KIND_LABELS[kind]}",
                    )
                    drawn = True
            axes.set_ylabel("write → done (ms)")
            axes.set_xlabel("seconds since the run began")
        elif starts:
            origin = min(s.written if s.written is not None else s.begin for s in starts)
            steps = cumulative([s.end - origin for s in starts])
            axes.step(
                [0.0] + [p[0] for p in steps],
                [0] + [p[1] for p in steps],
                where="post",
                label=run.name,
            )
            axes.set_ylabel("pods running")
            axes.set_xlabel("seconds since the first write")
            drawn = True
    if drawn:
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return drawn


def _usage(figure: Any, runs: list[Run]) -> bool:
    cpu_axes = figure.add_subplot(1, 2, 1)
    rss_axes = figure.add_subplot(1, 2, 2)
    drawn = False
    for run in runs:
        for group, points in sorted(run.usage.items()):
            if len(points) < 2:
                continue
            label = f"{run.name}: {group}"
            times = [p.at for p in points]
            shares = [
                100 * (b.cpu_seconds - a.cpu_seconds) / (b.at - a.at) if b.at > a.at else 0.0
                for a, b in itertools.pairwise(points)
            ]
            cpu_axes.plot(times[1:], shares, label=label)
            rss_axes.plot(times, [p.rss_bytes / _MIB for p in points], label=label)
            drawn = True
    if drawn:
        cpu_axes.set_xlabel("seconds since the run began")
        cpu_axes.set_ylabel("CPU (% of a core)")
        rss_axes.set_xlabel("seconds since the run began")
        rss_axes.set_ylabel("resident memory (MiB)")
        for axes in (cpu_axes, rss_axes):
            axes.grid(alpha=0.3)
        rss_axes.legend(fontsize="x-small")
    return drawn


def _density(figure: Any, runs: list[Run]) -> bool:
    memory = figure.add_subplot(1, 2, 1)
    cpu = figure.add_subplot(1, 2, 2)
    drawn = False
    for run in runs:
        steps = [step for step in run.steps if step.probes is None]
        if len(steps) < 2:
            continue
        pods = [step.pods for step in steps]
        memory.plot(pods, [s.rss_bytes / _MIB for s in steps], "o-", label=f"{run.name}")
        cpu.plot(pods, [100 * s.cpu_seconds / s.seconds for s in steps], "o-", label=f"{run.name}")
        if all(s.runtime_rss_bytes is not None for s in steps):
            memory.plot(
                pods,
                [(s.runtime_rss_bytes or 0) / _MIB for s in steps],
                "s--",
                label=f"{run.name}: runtime",
            )
            cpu.plot(
                pods,
                [100 * (s.runtime_cpu_seconds or 0) / s.seconds for s in steps],
                "s--",
                label=f"{run.name}: runtime",
            )
        drawn = True
    if drawn:
        memory.set_xlabel("pods")
        memory.set_ylabel("resident memory (MiB)")
        cpu.set_xlabel("pods")
        cpu.set_ylabel("idle CPU (% of a core)")
        for axes in (memory, cpu):
            axes.grid(alpha=0.3)
            axes.legend(fontsize="small")
    return drawn
