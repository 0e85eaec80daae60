"""How long a worker's socket waits while the worker starts thousands of pods at once.

In one process, no other fastpod process beside it: a ``PodRunner`` on the fake runtime holds
5,000 plain pods (a worker's share of 10,000) until its first listing is in, then lets them all
start, as a cold start does; a thread writes a timestamp into a pipe every 2 ms, read by
the event loop as a worker reads its manifest events. The figure is the longest wait of a
readable pipe, beside its wait on an idle loop: what head-of-line blocking a manifest event
meets, free of the noise of the other processes of a busy machine.
"""

from __future__ import annotations

import asyncio
import os
import struct
import tempfile
import threading
import time
from dataclasses import replace

from fastpod import logs
from fastpod.config.settings import Config
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource
from fastpod.runtime.fake import FakeRuntime
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


async def waits_while_starting(pods: int) -> tuple[list[float], list[float], float]:
    """The pipe's waits on an idle loop, then while ``pods`` pods start; the CPU seconds
    of the start."""
    logs.configure("text", "bench", open(os.devnull, "w"))  # noqa: SIM115 (for the process)
    root = tempfile.mkdtemp(prefix="fastpod-turns-")
    config = Config(node_name="bench", resync_period=3600.0, root_dir=root, pod_logs_dir=root)
    settings = replace(worker_settings(config, "127.0.0.1"), prepare_host=False)
    runner = PodRunner(FakeRuntime(), settings, hold_until_listed=True)
    for index in range(pods):
        source = PodSource("file", f"/etc/kubernetes/manifests/scheduler-{index:05d}.yaml")
        pod = decode_pod(PLAIN.format(index=index).encode(), source, "bench").pod
        runner.submit(PodChange("added", pod, source))
    await asyncio.sleep(0.5)  # the loops' first steps: each waits for its turn
    idle = PipeWaits()
    idle.start()
    await asyncio.sleep(0.2)
    idle.stop()
    busy = PipeWaits()
    busy.start()
    began = time.process_time()
    runner.start_syncing()
    while not all(loop.synced for loop in runner.loops.values()):
        await asyncio.sleep(0.01)
    cpu = time.process_time() - began
    busy.stop()
    await runner.close()
    return idle.waits, busy.waits, cpu
