"""``fastpod bench density``: what each pod costs, at steps of more and more pods.

First with no pod, then at each step (``--steps``, e.g. 100,500,1000) once that many pods
run and have settled, a window of ``--window`` seconds measures fastpod's resident memory
and its CPU with every pod idle, and the runtime's (its daemon, its children and its
containers' shims). A pod's memory is what the pods added to the window with none.
"""

from __future__ import annotations

import time

from fastpod import __version__
from fastpod.bench.manifests import pod_name
from fastpod.bench.record import Run, Step
from fastpod.bench.session import Bench
from fastpod.bench.subject import MeasuredFastpod
from fastpod.bench.usage import measure

SETTLE = 3.0
"""Seconds after the last pod of a step runs before its window: the syncs it caused done."""


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's cost at each step of the number of pods."""
    steps: list[Step] = []
    with bench.fastpod("fastpod") as (subject, workspace, sampler):
        running = 0
        for pods in (0, *bench.options.steps):
            if bench.interrupted():
                break
            names = [pod_name("density", index) for index in range(running, pods)]
            bench.start_pods(subject, workspace, names)
            running = pods
            bench.pause(SETTLE)
            if bench.interrupted():
                break
            steps.append(idle_window(bench, subject, pods))
            bench.say(f"{pods} pods: measured")
        usage = dict(sampler.usage)
    return Run(
        name="fastpod",
        role="subject",
        status="measured",
        version=__version__,
        steps=steps,
        usage={group: points for group, points in usage.items() if points},
    )


def idle_window(
    bench: Bench, subject: MeasuredFastpod, pods: int, probes: int | None = None
) -> Step:
    """What fastpod and the runtime use over one window of ``--window`` seconds."""
    ours, theirs = subject.processes(), bench.target.processes()
    bench.subject_processes = max(bench.subject_processes, len(ours))
    cpu_before, _ = measure(ours)
    runtime_before, _ = measure(theirs)
    began = time.monotonic()
    bench.pause(bench.options.window)
    seconds = time.monotonic() - began
    cpu_after, rss = measure(ours)
    runtime_after, runtime_rss = measure(theirs)
    return Step(
        pods=pods,
        seconds=seconds,
        rss_bytes=rss,
        cpu_seconds=cpu_after - cpu_before,
        runtime_rss_bytes=runtime_rss if theirs else None,
        runtime_cpu_seconds=runtime_after - runtime_before if theirs else None,
        probes=probes,
    )
