"""What every child process does first: die with its parent, leave Ctrl-C to the supervisor,
log under its own name, and run its event loop until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import resource
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from fastpod import logs
from fastpod.config.settings import Config
from fastpod.supervisor.collection import CycleCollection

_PR_SET_PDEATHSIG = 1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 << 10
"""glibc's initial threshold: allocations from 128 KiB up get pages of their own."""
GC_THRESHOLD = 20_000

Body = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when the supervisor dies, however it dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def release_large_buffers() -> None:
    """Make glibc give large freed buffers back to the kernel.

    By default glibc raises its mmap threshold to the size of the largest buffer freed
    (up to 32 MiB), after which buffers of that size come from the heap and stay in the
    process when freed: answering ``/pods`` for 10,000 pods (a 13 MB document per worker)
    would leave every process tens of megabytes larger. A fixed threshold keeps them apart.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


def raise_open_files_limit() -> None:
    """Allow as many open files as the hard limit allows (as Go programs do by themselves):
    a pidfd per running container on a node of thousands of pods needs more than 1,024."""
    with contextlib.suppress(ValueError, OSError):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_child(config: Config, name: str, body: Body) -> None:
    """Run ``body`` (given a stop event set on SIGTERM) in a fresh uvloop event loop."""
    parent = os.getppid()
    die_with_parent()
    # the supervisor already died between fork and prctl: do not linger
    if os.getppid() != parent:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    release_large_buffers()
    raise_open_files_limit()
    logs.configure(config.log_format, name)
    # Imports are forever: keep them out of every collection. A cold start allocates
    # millions of short-lived YAML nodes; collecting every 700 allocations costs ~10% of it.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD)
    try:
        uvloop.run(_main(body))
    finally:
        logs.flush()


async def _main(body: Body) -> None:
    logs.emit("process started", pid=os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    collection = CycleCollection(loop)
    collection.start()
    try:
        await body(stop)
    finally:
        collection.stop()
