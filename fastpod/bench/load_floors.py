"""The floors of ``churn``, ``density`` and ``probes``: the runtime called directly.

- ``churn``: the same pods made, then the same changes at the same rates, each as the
  runtime's own calls: an add makes and starts a pod, a removal stops and removes it
  (within the pods' grace period, as fastpod does), an edit does both. A sample runs from
  the first call to the last; each carries its rate.
- ``density``: at each step, that many pods made by the runtime alone (its daemon's,
  children's and shims' memory and idle CPU beside the same with fastpod's pods), and as
  many idle Python interpreters as fastpod had processes (what an interpreter costs before
  fastpod does anything).
- ``probes``: the same pods, and each container's probe command run through the runtime
  once a second (the bare exec call, at the rate fastpod is asked for): the calls done in
  the window, and the CPU of the bench's thread making them (the Python side of the
  client; gRPC's own threads, on containerd, are not in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from typing import Any

import psutil

from fastpod.bench import event_loop
from fastpod.bench.churn import CYCLE
from fastpod.bench.density import SETTLE
from fastpod.bench.floors import RuntimeFloor, floor_name, runtime_floor
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run, Sample, Step
from fastpod.bench.session import Bench
from fastpod.bench.usage import Sampler, measure

PROBE_PERIOD = 1.0
"""Seconds between two probes of a container: the bench's probes' ``periodSeconds``."""


def churn_floor(bench: Bench) -> Run:
    """The churn's changes as the runtime's own calls, rate after rate."""
    return _floor_run(bench, _churn)


def density_floor(bench: Bench) -> Run:
    """The runtime and idle interpreters at each step of the number of pods."""
    return _floor_run(bench, _density)


def probes_floor(bench: Bench) -> Run:
    """The bare exec calls of every container's probe, once a second, over a window."""
    return _floor_run(bench, _probes)


class _Result:
    """What a floor measured: samples or windows, and the runtime's version."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.steps: list[Step] = []
        self.version = ""


def _floor_run(bench: Bench, work: Any) -> Run:
    sampler = Sampler({"runtime": bench.target.processes}, bench.origin)
    result = _Result()

    async def run_all() -> None:
        floor = runtime_floor(bench)
        try:
            result.version = await floor.version()
            await work(floor, bench, result)
        finally:
            await floor.close()

    sampler.start()
    try:
        event_loop.run(run_all())
    finally:
        usage = sampler.stop()
        bench.target.remove_namespace(bench.namespace)
    return Run(
        name=floor_name(bench.options.target.runtime),
        role="floor",
        status="measured",
        version=result.version,
        samples=sorted(result.samples, key=lambda sample: sample.end),
        usage=usage,
        steps=result.steps,
    )


async def _make(floor: RuntimeFloor, bench: Bench, name: str) -> tuple[Any, list[str]]:
    sandbox = await floor.sandbox(name)
    return sandbox, [await floor.container(name, sandbox) for _ in bench.containers]


async def _make_all(
    floor: RuntimeFloor, bench: Bench, names: list[str]
) -> dict[str, tuple[Any, list[str]]]:
    """The pods of ``names`` made and started, all at once, with progress."""
    progress = Progress(
        bench.stream, f"{floor_name(bench.options.target.runtime)}: pods", len(names)
    )
    made: dict[str, tuple[Any, list[str]]] = {}

    async def one(name: str) -> None:
        if not bench.interrupted():
            made[name] = await _make(floor, bench, name)
            progress.update(len(made))

    await asyncio.gather(*(one(name) for name in names))
    progress.finish(len(made))
    return made


async def _churn(floor: RuntimeFloor, bench: Bench, result: _Result) -> None:
    options = bench.options
    pods = await _make_all(floor, bench, bench.pod_names(options.pods, "churn-floor"))
    live = list(pods)
    pending: set[str] = set()
    added = 0

    async def change(kind: str, name: str, rate: float) -> None:
        began = time.time()
        if kind in ("edit", "remove"):
            await floor.remove(pods.pop(name)[0])
        if kind in ("add", "edit"):
            pods[name] = await _make(floor, bench, name)
        ended = time.time()
        pending.discard(name)
        result.samples.append(
            Sample(
                pod=f"{bench.namespace}/{name}",
                kind=kind,
                begin=began - bench.origin,
                end=ended - bench.origin,
                written=began - bench.origin,
                rate=rate,
            )
        )

    for rate in options.rates:
        count = max(1, round(rate * options.duration))
        label = f"{floor_name(options.target.runtime)}: changes at {rate:g}/s done"
        progress = Progress(bench.stream, label, count)
        began, before = time.monotonic(), len(result.samples)
        changes = []
        for index in range(count):
            if bench.interrupted():
                break
            await asyncio.sleep(max(0.0, began + index / rate - time.monotonic()))
            progress.update(len(result.samples) - before)
            # the same choice as fastpod's churn: in turn, of a pod with no change pending
            idle = [name for name in live if name not in pending]
            kind = CYCLE[index % len(CYCLE)] if idle else "add"
            if kind == "add":
                name = f"churn-floor-add-{added:05d}"
                added += 1
                live.append(name)
            else:
                name = idle[index % len(idle)] if kind == "edit" else idle[0]
                if kind == "remove":
                    live.remove(name)
            pending.add(name)
            changes.append(asyncio.create_task(change(kind, name, rate)))
        await asyncio.gather(*changes)
        progress.finish(len(result.samples) - before)
        if bench.interrupted():
            return


async def _density(floor: RuntimeFloor, bench: Bench, result: _Result) -> None:
    made = 0
    interpreters = _interpreters(bench.subject_processes or 1)
    try:
        for pods in (0, *bench.options.steps):
            if bench.interrupted():
                return
            await _make_all(floor, bench, bench.pod_names(pods, "density-floor")[made:])
            made = pods
            await asyncio.sleep(SETTLE)
            result.steps.append(await _window(bench, interpreters, pods))
    finally:
        for interpreter in interpreters:
            interpreter.kill()
            interpreter.wait()


def _interpreters(count: int) -> list[subprocess.Popen[bytes]]:
    """``count`` Python interpreters that import nothing and wait for their input."""
    return [
        subprocess.Popen(
            [sys.executable, "-S", "-c", "import sys; sys.stdin.read()"],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        for _ in range(count)
    ]


async def _window(bench: Bench, interpreters: list[subprocess.Popen[bytes]], pods: int) -> Step:
    ours = [psutil.Process(interpreter.pid) for interpreter in interpreters]
    theirs = bench.target.processes()
    cpu_before, _ = measure(ours)
    runtime_before, _ = measure(theirs)
    began = time.monotonic()
    await _pause(bench, bench.options.window)
    seconds = time.monotonic() - began
    cpu_after, rss = measure(ours)
    runtime_after, runtime_rss = measure(theirs)
    return Step(
        pods=pods,
        seconds=seconds,
        rss_bytes=rss,
        cpu_seconds=cpu_after - cpu_before,
        runtime_rss_bytes=runtime_rss,
        runtime_cpu_seconds=runtime_after - runtime_before,
    )


async def _probes(floor: RuntimeFloor, bench: Bench, result: _Result) -> None:
    options = bench.options
    pods = await _make_all(floor, bench, bench.pod_names(options.pods, "probes-floor"))
    containers = [container for _, ids in pods.values() for container in ids]
    command = list(options.probe)
    counting = False
    count = 0

    async def prober(container_id: str, offset: float) -> None:
        nonlocal count
        # spread over the period, as fastpod's probes start when their containers do
        await asyncio.sleep(offset)
        while True:
            began = time.monotonic()
            with contextlib.suppress(Exception):  # a failed call is a call made all the same
                await floor.exec(container_id, command)
            if counting:
                count += 1
            await asyncio.sleep(max(0.0, began + PROBE_PERIOD - time.monotonic()))

    spread = PROBE_PERIOD / max(1, len(containers))
    probers = [
        asyncio.create_task(prober(container, index * spread))
        for index, container in enumerate(containers)
    ]
    try:
        await _pause(bench, SETTLE)
        if bench.interrupted():
            return
        theirs = bench.target.processes()
        # the thread making the calls: the bench's samplers run beside it
        cpu_before = time.thread_time()
        runtime_before, _ = measure(theirs)
        counting, began = True, time.monotonic()
        await _pause(bench, options.window)
        counting, seconds = False, time.monotonic() - began
        cpu_after = time.thread_time()
        _, rss = measure([psutil.Process(os.getpid())])
        runtime_after, runtime_rss = measure(theirs)
        result.steps.append(
            Step(
                pods=options.pods,
                seconds=seconds,
                rss_bytes=rss,
                cpu_seconds=cpu_after - cpu_before,
                runtime_rss_bytes=runtime_rss,
                runtime_cpu_seconds=runtime_after - runtime_before,
                probes=count,
            )
        )
    finally:
        for task in probers:
            task.cancel()
        await asyncio.gather(*probers, return_exceptions=True)


async def _pause(bench: Bench, seconds: float) -> None:
    """Sleep ``seconds``, or less when the run is interrupted."""
    deadline = time.monotonic() + seconds
    while not bench.interrupted() and (left := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(left, 0.1))
