"""When a child's cycle collector runs: on a short tick, over the objects made since the last.

CPython counts a generation's size as allocations minus deallocations. A worker's pods
churn balanced: each probe and resync makes a new future, timer handle and context and
drops the old ones, so the count stays low while the young generation fills with whatever
is still alive. Measured during 1,000 edits over 10,000 pods (2 workers, ``gc.callbacks``
in every child, a young threshold of 20,000): young passes came every 2 to 20 s over 60,000
to 150,000 live objects (futures, timer handles, contexts, probe requests), 40 to 110 ms of
CPU each, and middle ones 120 to 150 ms; none found garbage. Each landed on an edit: the
edit tail. With this tick, in the same run: the longest pass 26 to 30 ms (CPU, on a loaded
machine) instead of 98 to 117, and less collection CPU in all (0.28 s against 0.39 s).

Here a tick collects the young and middle generations every :data:`TICK` seconds, then
freezes the survivors (``gc.freeze``: O(1), out of every later pass). A pass thus sees only
what was made since the last tick and still lives, and a long-lived object is looked at
once, not again at every middle and full pass while it lives. Acyclic objects are freed by
their reference counts whether frozen or not; a cycle that becomes garbage only after its
objects were frozen waits for a full pass over everything, made when the frozen objects grew
by a quarter since the last one (CPython's own rule for full passes) and at most every
:data:`FULL_INTERVAL` seconds, so that such garbage stays bounded and the pause is rare.

What that costs, and what it leaves: a full pass unfreezes everything, the imports frozen at
the child's start included, so it walks every object (1.5 million took 70 ms laid out in
order and over a second scattered, measured alone; not yet in a worker after hours) and
writes to pages a forked child shared with the supervisor. Cyclic garbage made of objects
older than a tick (a frozen future's exception and traceback) waits for it: at most a
quarter of the frozen objects, or what ten minutes make, and the finalizers of such cycles
(asyncio's "exception was never retrieved") run that much later.

A pass's cost grows with the objects that survived since the last tick, so a burst (a worker
starting thousands of pods) made the tick that followed it a pause of 10 to 35 ms of CPU,
landing on whatever manifest event came next. The tick is therefore adaptive: after a pass
longer than :data:`PASS_BUDGET` the next tick comes sooner, in proportion (down to
:data:`SHORTEST_TICK`), so a burst is collected in several short passes rather than one long
one; once the passes are short again the tick goes back to :data:`TICK`. The collector's CPU
is the same (each survivor is looked at once either way); only the pauses are shorter.
"""

from __future__ import annotations

import asyncio
import gc
import time

TICK = 0.1
"""The longest time between two young passes (seconds): a quiet child ticks this often."""

SHORTEST_TICK = 0.01
"""The shortest time between two young passes (seconds), in a burst of allocations."""

PASS_BUDGET = 0.002
"""The CPU seconds a tick's pass should take: a longer one brings the next tick sooner."""

FULL_INTERVAL = 600.0
"""The shortest time between two full passes over every object (frozen ones included)."""

REGROWTH = 1.25
"""How much the frozen objects must have grown since the last full pass for another."""


class CycleCollection:
    """The ticks of one child's cycle collection, on its event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._frozen_after_full = gc.get_freeze_count()
        self._last_look = loop.time()
        self._timer: asyncio.TimerHandle | None = None
        self.interval = TICK
        """Seconds until the next tick (:func:`next_interval`)."""

    def start(self) -> None:
        """Collect and freeze on a tick from now on, every :data:`TICK` seconds or sooner."""
        self._timer = self._loop.call_later(self.interval, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        began = time.thread_time()
        gc.collect(1)
        gc.freeze()
        self.interval = next_interval(self.interval, time.thread_time() - began)
        now = self._loop.time()
        # counting the frozen objects walks all of them (100 ms and more over a worker's
        # million): once an interval, whether a full pass follows or not
        if now - self._last_look >= FULL_INTERVAL:
            self._last_look = now
            if full_pass_due(gc.get_freeze_count(), self._frozen_after_full):
                gc.unfreeze()
                gc.collect()
                gc.freeze()
                self._frozen_after_full = gc.get_freeze_count()
        self._timer = self._loop.call_later(self.interval, self._tick)


def next_interval(interval: float, pass_time: float) -> float:
    """The time until the next tick, after a pass of ``pass_time`` CPU seconds that followed
    ``interval`` seconds of allocations: scaled so that the next pass takes about
    :data:`PASS_BUDGET`, between :data:`SHORTEST_TICK` and :data:`TICK`."""
    if pass_time <= PASS_BUDGET:
        # short passes: back towards the quiet tick, doubling, not in one step, so that a
        # burst that pauses for one tick does not make one long pass at its next
        return min(TICK, interval * 2)
    return max(SHORTEST_TICK, interval * PASS_BUDGET / pass_time)


def full_pass_due(frozen: int, frozen_after_full: int) -> bool:
    """Whether the frozen objects grew enough to hold cyclic garbage worth a pass over all."""
    return frozen > frozen_after_full * REGROWTH
