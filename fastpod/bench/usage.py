"""CPU and memory of groups of processes over a run, sampled by a thread."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable

import psutil

from fastpod.bench.record import Usage

SAMPLE_PERIOD = 0.25
"""Seconds between two samples: fine enough for a run of seconds, cheap for one of minutes."""

Group = Callable[[], list[psutil.Process]]
"""The processes of a group as they are now (children come and go)."""


def measure(processes: list[psutil.Process]) -> tuple[float, int]:
    """The CPU seconds and resident bytes of ``processes`` together, those that have
    exited left out."""
    cpu, rss = 0.0, 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            cpu += cpu_seconds(process)
            rss += process.memory_info().rss
    return cpu, rss


def cpu_seconds(process: psutil.Process) -> float:
    """The CPU time of every thread of ``process``: the scheduler's nanosecond counters
    where /proc has them (psutil's are in 10 ms ticks, too coarse for an idle window of a
    few seconds), else psutil's user and system time."""
    tasks = f"/proc/{process.pid}/task"
    try:
        total = 0
        for task in os.listdir(tasks):
            with contextlib.suppress(FileNotFoundError), open(f"{tasks}/{task}/schedstat") as file:
                total += int(file.read().split()[0])
        return total / 1e9
    except (OSError, ValueError, IndexError):
        times = process.cpu_times()
        return float(times.user + times.system)


class Sampler:
    """Samples each group every :data:`SAMPLE_PERIOD` seconds until stopped."""

    def __init__(self, groups: dict[str, Group], origin: float) -> None:
        self.groups = groups
        self.origin = origin
        """The run's start (seconds since the epoch): samples are timed from it."""
        self.usage: dict[str, list[Usage]] = {name: [] for name in groups}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.sample_now()
            self._stop.wait(SAMPLE_PERIOD)

    def sample_now(self) -> None:
        """Take one sample of every group."""
        at = time.time() - self.origin
        for name, group in self.groups.items():
            processes = group()
            if processes:
                cpu, rss = measure(processes)
                self.usage[name].append(Usage(at=at, cpu_seconds=cpu, rss_bytes=rss))

    def stop(self) -> dict[str, list[Usage]]:
        """Stop sampling; what was sampled, by group."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return {name: points for name, points in self.usage.items() if points}
