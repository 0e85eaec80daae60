"""How long a worker's socket waits while the worker starts thousands of pods at once.

In one process, no other fastpod process beside it: a ``PodRunner`` on the fake runtime holds
5,000 plain pods (a worker's share of 10,000) until its first listing is in, then lets them all
start, as a cold start does; a thread writes a timestamp into a pipe every 2 ms, read by
the event loop as a worker reads its manifest events. The figure is the longest wait of a
readable pipe, beside its wait on an idle loop: what head-of-line blocking a manifest event
meets, free of the noise of the other processes of a busy machine.

The process collects its cycles as a worker does (imports frozen, the young generation's
threshold, :class:`~fastpod.supervisor.collection.CycleCollection`'s tick), and the CPU of
each turn of its event loop is noted too (:class:`LoopTurns`): a message read from a socket is
handled within a turn or two, so the longest turn is the blocking itself, in CPU, which the
machine's load does not lengthen (the pipe's wall-clock wait adds the time the thread was not
on a CPU, and the stamping thread's own wait for the GIL).
"""

from __future__ import annotations

import asyncio
import gc
import os
import struct
import tempfile
import threading
import time
from dataclasses import replace
from typing import NamedTuple

from fastpod import logs
from fastpod.config.settings import Config
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource
from fastpod.runtime.fake import FakeRuntime
from fastpod.supervisor.child import GC_THRESHOLD
from fastpod.supervisor.collection import CycleCollection
from fastpod.worker.desired import PodChange
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import worker_settings

PODS = 5_000
PLAIN = """\
apiVersion: v1
kind: Pod
metadata:
  name: plain-{index}
spec:
  containers:
  - name: app
    image: fastpod.local/busybox:1.36
    command: [sleep, infinity]
"""
"""A pod with one container and nothing else: its start is all CPU on the fake runtime
(the scheduler manifests' probes and host network make it suspend sooner)."""
_STAMP = struct.Struct("d")


class PipeWaits:
    """Timestamps written into a pipe every 2 ms by a thread; how long each waited."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._read, self._write = os.pipe()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._stamp, daemon=True)

    def start(self) -> None:
        asyncio.get_running_loop().add_reader(self._read, self._on_readable)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        asyncio.get_running_loop().remove_reader(self._read)
        os.close(self._read)
        os.close(self._write)

    def _stamp(self) -> None:
        while not self._stop.is_set():
            os.write(self._write, _STAMP.pack(time.perf_counter()))
            time.sleep(0.002)

    def _on_readable(self) -> None:
        data = os.read(self._read, 1 << 16)
        now = time.perf_counter()
        usable = len(data) - len(data) % _STAMP.size
        self.waits.extend(now - stamp for (stamp,) in _STAMP.iter_unpack(data[:usable]))


class LoopTurns:
    """The CPU seconds of each turn of the event loop, GC passes in them included.

    A callback that schedules itself again with ``call_soon`` runs once a turn (the loop
    runs only the callbacks ready when its turn began), so the CPU of its thread from one
    run to the next is one turn: the ready callbacks and the read of the sockets.
    """

    def __init__(self) -> None:
        self.turns: list[float] = []
        self._last = 0.0
        self._running = False

    def start(self) -> None:
        self._running = True
        self._last = time.thread_time()
        asyncio.get_running_loop().call_soon(self._turn)

    def stop(self) -> None:
        self._running = False

    def _turn(self) -> None:
        if self._running:
            now = time.thread_time()
            self.turns.append(now - self._last)
            self._last = now
            asyncio.get_running_loop().call_soon(self._turn)


class Measures(NamedTuple):
    """What :func:`waits_while_starting` measures, idle or starting."""

    waits: list[float]
    """Seconds a readable pipe waited to be read."""
    turns: list[float]
    """CPU seconds of each turn of the event loop."""


async def waits_while_starting(pods: int) -> tuple[Measures, Measures, float]:
    """The pipe's waits on an idle loop, then while ``pods`` pods start; the CPU seconds
    of the start."""
    logs.configure("text", "bench", open(os.devnull, "w"))  # noqa: SIM115 (for the process)
    # collected as a worker is (fastpod/supervisor/child.py)
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD)
    collection = CycleCollection(asyncio.get_running_loop())
    collection.start()
    root = tempfile.mkdtemp(prefix="fastpod-turns-")
    config = Config(node_name="bench", resync_period=3600.0, root_dir=root, pod_logs_dir=root)
    settings = replace(worker_settings(config, "127.0.0.1"), prepare_host=False)
    runner = PodRunner(FakeRuntime(), settings, hold_until_listed=True)
    for index in range(pods):
        source = PodSource("file", f"/etc/kubernetes/manifests/scheduler-{index:05d}.yaml")
        pod = decode_pod(PLAIN.format(index=index).encode(), source, "bench").pod
        runner.submit(PodChange("added", pod, source))
    await asyncio.sleep(0.5)  # the loops' first steps: each waits for its turn
    idle, idle_turns = PipeWaits(), LoopTurns()
    idle.start()
    idle_turns.start()
    await asyncio.sleep(0.2)
    idle.stop()
    idle_turns.stop()
    busy, busy_turns = PipeWaits(), LoopTurns()
    busy.start()
    busy_turns.start()
    began = time.process_time()
    runner.start_syncing()
    while not all(loop.synced for loop in runner.loops.values()):
        await asyncio.sleep(0.01)
    cpu = time.process_time() - began
    busy.stop()
    busy_turns.stop()
    await runner.close()
    collection.stop()
    return (
        Measures(idle.waits, idle_turns.turns),
        Measures(busy.waits, busy_turns.turns),
        cpu,
    )
