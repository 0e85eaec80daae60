"""What a worker knows of its own health: whether its runtime answers now, and which of its
pods' sync loops ended on an error.

Both are asked only by ``/healthz``. The runtime is pinged (Docker's ``/_ping``, the CRI's
``Status``) at most once a second, however often ``/healthz`` is asked, and within a second,
so a runtime that hangs is reported before the supervisor's 2 s deadline; a sync of the pods
would only tell when one happens to run. A pod loop that raised is gone, and nothing syncs
its pod any more: that is a bug, reported until the pod's manifest changes (a new loop) or
the pod is no longer wanted.
"""

from __future__ import annotations

import asyncio
import math
import time
import traceback
from collections.abc import Callable

from fastpod import logs
from fastpod.runtime.base import Runtime

RUNTIME_CHECK_EVERY = 1.0
"""Seconds a runtime check's answer is kept: ``/healthz`` asked often pings once a second."""

PING_TIMEOUT = 1.0
"""Seconds the runtime has to answer a ping: less than the supervisor waits for the worker."""


class RuntimeCheck:
    """Whether the runtime answers, asked at most once every :data:`RUNTIME_CHECK_EVERY`."""

    def __init__(self, runtime: Runtime, clock: Callable[[], float] = time.monotonic) -> None:
        self.runtime = runtime
        self.clock = clock
        self._checked_at = -math.inf
        self._problem: str | None = None
        self._pending: asyncio.Task[str | None] | None = None

    async def problem(self) -> str | None:
        """Why the runtime cannot run pods now, or None when it answered its ping."""
        if self.clock() - self._checked_at < RUNTIME_CHECK_EVERY:
            return self._problem
        if self._pending is None:
            # concurrent questions share one ping
            self._pending = asyncio.get_running_loop().create_task(self._ping())
        return await asyncio.shield(self._pending)

    async def _ping(self) -> str | None:
        try:
            await self.runtime.ping(PING_TIMEOUT)
            problem = None
        except Exception as error:  # a health check reports whatever went wrong, never raises
            problem = str(error) or type(error).__name__
        self._problem, self._checked_at, self._pending = problem, self.clock(), None
        return problem


class LoopFailures:
    """The pods whose sync loop ended on an error, and the error."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self._on_end = self._ended
        """One bound method for every loop's task: a callback made per task (a partial
        holding the key) is a few hundred bytes a pod on a node of thousands."""

    def watch(self, task: asyncio.Task[None]) -> None:
        """Follow the new loop of the pod its task is named after (which replaces any loop
        of that pod that failed before)."""
        self.errors.pop(task.get_name(), None)
        task.add_done_callback(self._on_end)

    def problems(self, wanted: Callable[[str], bool]) -> list[str]:
        """One line per failed loop whose pod is still ``wanted``."""
        return [
            f"{key}: pod loop ended: {error}" for key, error in self.errors.items() if wanted(key)
        ]

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or (error := task.exception()) is None:
            return
        key = task.get_name()
        self.errors[key] = f"{type(error).__name__}: {error}"
        logs.emit(
            "pod loop died",
            level="error",
            pod=key,
            error=self.errors[key],
            traceback="".join(traceback.format_exception(error)),
        )
