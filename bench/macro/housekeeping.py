"""What periodic housekeeping costs a worker whose 1,000 pods are idle, on the fake runtime.

    python -m bench.macro.housekeeping [--pods N] [--window S]

One worker's ``PodRunner`` runs N single-container pods (fake runtime, no latencies, the
default 10 s resync) and nothing happens; its process's CPU (``time.process_time``) is
measured over a window three ways, taking turns:

- ``floor``: no housekeeping at all (what the worker costs idle anyway: the pods' resyncs);
- ``housekeeping``: fastpod's, a tick every 2 s that lists the runtime only when an orphan
  may have appeared, and at least every resync period;
- ``list every tick``: the same sweep, the runtime listed at every 2 s tick (what a literal
  copy of the kubelet's loop costs without the kubelet's runtime cache).

Each figure is CPU seconds per second of wall time (a fraction of one core), with the
runtime listings made, and beside it the CPU housekeeping's own ticks took (measured around
``due`` and ``sweep``): the whole process's figure moves with the pods' resyncs, far more
than housekeeping moves it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import replace

from fastpod import logs
from fastpod.config.settings import Config, FakeLatencies
from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod, PodSource
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.desired import PodChange
from fastpod.worker.housekeeping import Housekeeping
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import worker_settings
from tests.support.pods import pod_manifest

NODE = "node1"
SETTLE = 3.0
"""Seconds after every pod runs before the first window: first syncs done."""


class Timed(Housekeeping):
    """Housekeeping that adds up the CPU its own ticks take (the check and any sweep)."""

    cpu = 0.0

    def due(self) -> bool:
        began = time.process_time()
        due = super().due()
        self.cpu += time.process_time() - began
        return due

    async def sweep(self) -> bool:
        began = time.process_time()
        removed = await super().sweep()
        self.cpu += time.process_time() - began
        return removed


class EveryTick(Timed):
    """Housekeeping that lists the runtime at every tick."""

    def due(self) -> bool:
        super().due()
        return True


def _pods(count: int) -> list[Pod]:
    pods = []
    for index in range(count):
        source = PodSource("file", f"/etc/kubernetes/manifests/pod-{index}.yaml")
        pods.append(decode_pod(pod_manifest(f"pod-{index}"), source, NODE).pod)
    return pods


async def _window(runner: PodRunner, kind: str, seconds: float) -> tuple[float, int, float]:
    """Over ``seconds`` with housekeeping ``kind``: the process's CPU seconds per second,
    the runtime listings, and the CPU seconds housekeeping itself took."""
    housekeeping: Timed | None = None
    if kind == "housekeeping":
        housekeeping = Timed(runner, lambda key, uid: True, lambda key: True)
    elif kind == "list every tick":
        housekeeping = EveryTick(runner, lambda key, uid: True, lambda key: True)
    task = asyncio.create_task(housekeeping.run()) if housekeeping is not None else None
    await asyncio.sleep(0.5)  # the first sweep, which lists whatever the kind, is not counted
    sweeps_before = housekeeping.sweeps if housekeeping is not None else 0
    own_before = housekeeping.cpu if housekeeping is not None else 0.0
    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    sweeps = (housekeeping.sweeps if housekeeping is not None else 0) - sweeps_before
    own = (housekeeping.cpu if housekeeping is not None else 0.0) - own_before
    if task is not None:
        task.cancel()
    return cpu / wall, sweeps, own / wall


async def _main(count: int, window: float, rounds: int) -> None:
    logs.configure("json", "bench", open("/dev/null", "w"))  # noqa: SIM115 - kept open
    config = Config(node_name=NODE, runtime="fake", fake_latencies=FakeLatencies())
    settings = replace(worker_settings(config, "127.0.0.1"), prepare_host=False)
    runtime = FakeRuntime(record_specs=False)
    runner = PodRunner(runtime, settings)
    events = asyncio.create_task(runner.follow_events())
    for each in _pods(count):
        runner.submit(PodChange("added", each, PodSource("file", "bench")))
    while sum(info.state == "running" for info in runtime.containers.values()) < count:
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE)
    kinds = ("floor", "housekeeping", "list every tick")
    results: dict[str, list[tuple[float, int, float]]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            results[kind].append(await _window(runner, kind, window))
    events.cancel()
    await runner.close()
    floor = min(share for share, _, _ in results["floor"])
    print(f"{count} idle pods, one worker, fake runtime; CPU of the process, best of {rounds}")
    for kind in kinds:
        share, sweeps, own = min(results[kind])
        print(
            f"  {kind:<16} {share * 100:6.2f} % of a core, {share * 100 - floor * 100:+.2f} "
            f"beside the floor; housekeeping's own ticks {own * 1e6:7.1f} µs/s "
            f"({sweeps} runtime listings in {window:g} s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(_main(arguments.pods, arguments.window, arguments.rounds))


if __name__ == "__main__":
    main()
