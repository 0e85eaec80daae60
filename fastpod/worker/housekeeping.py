"""The kubelet's housekeeping for one worker: stop what runs for pods of its shard that no
source wants and no pod loop runs, every 2 s once every source has been seen.

The kubelet's ``HandlePodCleanups`` runs every ``housekeepingPeriod`` (2 s) and compares its
pod workers with its runtime cache, which the PLEG keeps current: it calls no runtime then.
A worker keeps no node-wide cache; it lists the runtime's sandboxes only when an orphan may
have appeared since its last look: the runtime reported a change to a pod no loop runs (or
its event stream was lost), a removal found no loop to carry it out, or the last sweep did
not finish; and at least every resync period, as the pod loops resync. An idle tick
compares two counters.

A node lists thousands of sandboxes; they are looked through :data:`SWEEP_SLICE` at a time,
the event loop running between two slices, so a manifest event does not wait for the whole
walk (tens of milliseconds for 10,000 sandboxes while their pods start).

An orphan is killed as the kubelet's ``SyncTerminatingRuntimePod`` kills a running pod it
does not know: a grace of 1 s (raised to the 2 s minimum) and no preStop hook, every
container at once (the pod it kills is ``runningPod.ToAPIPod()``: names and images only).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence

from fastpod import logs
from fastpod.metrics import recorder
from fastpod.runtime.base import RuntimeCallError, SandboxInfo
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.streaks import Streaks, runtime_cause

HOUSEKEEPING_PERIOD = 2.0
"""Seconds between looks (the kubelet's ``housekeepingPeriod``)."""

SWEEP_SLICE = 200
"""Sandboxes looked through in one turn of the event loop (1 to 2 ms of CPU on a loaded box)."""

ORPHAN_GRACE_PERIOD = 1.0
"""The kubelet's grace override for a running pod it does not know
(``HandlePodCleanups``, ``SyncTerminatingRuntimePod``), raised to the 2 s minimum."""


class Housekeeping:
    """Finds and stops the orphans of one worker's shard."""

    def __init__(
        self,
        runner: PodRunner,
        is_desired: Callable[[str, str], bool],
        owns: Callable[[str], bool],
        *,
        period: float = HOUSEKEEPING_PERIOD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runner = runner
        self.is_desired = is_desired
        self.owns = owns
        self.period = period
        self.clock = clock
        self.sweeps = 0
        """How many times the runtime was listed (for tests and the benchmark)."""
        self._changes_seen = -1
        self._swept_at = -math.inf
        self._unfinished = False
        self._listing = Streaks()
        """The failed listings in a row: a runtime that is down fails every tick (2 s)."""

    async def run(self) -> None:
        """Look every period until cancelled; the first look lists the runtime."""
        while True:
            if self.due():
                await self.sweep()
            await asyncio.sleep(self.period)

    def due(self) -> bool:
        """Whether an orphan may have appeared since the last sweep."""
        return (
            self._unfinished
            or self.runner.unknown_changes != self._changes_seen
            or self.clock() - self._swept_at >= self.runner.settings.resync_period
        )

    async def sweep(self) -> bool:
        """List the runtime's sandboxes and stop the orphans among them; whether every one
        is gone (if not, the next tick tries again)."""
        changes = self.runner.unknown_changes
        self.sweeps += 1
        try:
            sandboxes = await self.runner.runtime.list_pod_sandboxes()
        except RuntimeCallError as error:
            recorder.count("fastpod_runtime_call_errors_total")
            if self._listing.failed("", runtime_cause(error)):
                logs.emit(
                    "orphans not listed",
                    level="error",
                    error=str(error),
                    note="tried at every tick; not logged again for the same reason until it works",
                )
            self._unfinished = True
            return False
        if failures := self._listing.succeeded(""):
            logs.emit("orphans listed again", failures=failures)
        removed = True
        async for uid, key in self._candidates(sandboxes):
            try:
                # a loop may have removed it since the listing: only what is still there
                if not await self.runner.runtime.list_pod_sandboxes(uid):
                    continue
            except RuntimeCallError:
                removed = False
                continue
            if not self._orphan(key, uid):
                continue
            logs.emit("orphan pod removed", pod=key, uid=uid)
            stopped = await self.runner.teardown.remove_pod(
                key, uid, None, ORPHAN_GRACE_PERIOD, runtime_only=True
            )
            if stopped and key not in self.runner.loops:
                # no loop syncs the key to end the streak of the teardown's failures: this
                # removal does, or the next failure of the name would go unsaid
                self.runner.state.events.failures.succeeded(key)
            removed = stopped and removed
        self._changes_seen, self._swept_at, self._unfinished = changes, self.clock(), not removed
        return removed

    async def _candidates(self, sandboxes: Sequence[SandboxInfo]) -> AsyncIterator[tuple[str, str]]:
        """The UID and pod key of each pod among ``sandboxes`` that looks orphaned, once
        each, looked through a slice at a time, the event loop running between slices."""
        seen: set[str] = set()
        for start in range(0, len(sandboxes), SWEEP_SLICE):
            if start:
                await asyncio.sleep(0)
            for uid, key in self._orphans(sandboxes[start : start + SWEEP_SLICE], seen):
                yield uid, key

    def _orphans(self, sandboxes: Sequence[SandboxInfo], seen: set[str]) -> list[tuple[str, str]]:
        """The pods of ``sandboxes`` not in ``seen`` (added to it) that look orphaned."""
        running: set[str] | None = None  # the loops' UIDs, walked once a slice at most
        found = []
        for sandbox in sandboxes:
            uid = sandbox.pod_uid
            if uid in seen:
                continue
            seen.add(uid)
            key = sandbox.pod_key
            if not self.owns(key) or self.is_desired(key, uid):
                continue
            if running is None:
                running = self.runner.loop_uids()
            if uid not in running:
                found.append((uid, key))
        return found

    def _orphan(self, key: str, uid: str) -> bool:
        """Of this shard, not wanted, and no loop runs or is about to run that UID."""
        return (
            self.owns(key) and not self.is_desired(key, uid) and uid not in self.runner.loop_uids()
        )
