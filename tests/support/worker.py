"""Claims, pod changes and a pod runner for the worker tests."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from typing import Any

from fastpod.ipc.messages import PodClaim, shard_of
from fastpod.model import Pod, PodSource
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.desired import PodChange
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.pods import decoded, pod_key, pod_manifest

NOW = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
LATER = NOW + datetime.timedelta(minutes=5)


def claim(source: PodSource, name: str, **options: Any) -> PodClaim:
    """A claim by ``source`` on the pod its manifest ``name`` decodes to."""
    pod = decoded(pod_manifest(name, **options), source)
    return PodClaim(pod_key(name), source, pod)


def release(source: PodSource, name: str) -> PodClaim:
    """``source`` no longer claims pod ``name``."""
    return PodClaim(pod_key(name), source, None)


def names_in_shard(shard: int, shards: int, prefix: str = "pod") -> Iterable[str]:
    """Manifest names (``prefix0``, ``prefix1``, ...) whose pods are owned by ``shard``."""
    for index in itertools.count():
        name = f"{prefix}{index}"
        if shard_of(pod_key(name), shards) == shard:
            yield name


def name_in_shard(shard: int, shards: int, prefix: str = "pod") -> str:
    """The first manifest name whose pod is owned by ``shard``."""
    return next(iter(names_in_shard(shard, shards, prefix)))


async def eventually(
    condition: Callable[[], object], what: str = "the condition", timeout: float = 5.0
) -> None:
    """Wait until ``condition()`` is true, polling; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)


def pod(name: str, **options: Any) -> Pod:
    return decoded(pod_manifest(name, **options), FILE)


def added(the_pod: Pod) -> PodChange:
    return PodChange("added", the_pod, FILE)


def removed(the_pod: Pod) -> PodChange:
    return PodChange("removed", the_pod, FILE)


def updated(new: Pod, old: Pod) -> PodChange:
    return PodChange("updated", new, FILE, old)


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


@contextlib.asynccontextmanager
async def runner_on(runtime: FakeRuntime, settings: WorkerSettings) -> AsyncIterator[PodRunner]:
    """A PodRunner following the runtime's events, its loops stopped on the way out."""
    runner = PodRunner(runtime, settings)
    follower = asyncio.create_task(runner.follow_events())
    try:
        yield runner
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        await shut_down(runner)


async def shut_down(runner: PodRunner) -> None:
    """Cancel every loop until it ends.

    Not :meth:`PodRunner.close`, which can hang on Python 3.11 (see
    :func:`test_close_ends_the_loops_even_when_a_pod_was_just_woken`).
    """
    tasks = [loop.task for loop in runner.loops.values() if loop.task is not None]
    while tasks:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=0.1)
        tasks = [task for task in tasks if not task.done()]
