"""The alarm a pod loop sleeps on, and the one clock that rings the sleeping loops' alarms.

An alarm is set by runtime events, spec changes and its loop's due time (the resync or a
back-off). The due times of all the loops of a worker are kept by one :class:`AlarmClock`
on one timer of the event loop: a ``call_later`` per sleeping loop is a timer handle, a
libuv timer, a context and the callback that cancels it when the loop wakes sooner (4.5 MB
in a worker of 5,000 pods by tracemalloc; 3.5 to 4.5 MB of RSS a worker in paired runs of
``bench/macro/pipeline.py memory-quiet``), where a due time in the clock's heap is one small
tuple.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math

_NOT_DUE = -1.0
"""The due time of an alarm the clock does not ring (it rang, was set, or never slept)."""

SLACK = 0.001
"""How early the clock rings a due alarm: the event loop's timers run on a millisecond
clock, and a timer may fire up to a millisecond before its time by ``loop.time()``; an
alarm due within it rings at once rather than spinning the loop until it is."""

COMPACT_FROM = 1024
"""Heap entries below which stale ones (of alarms set sooner, or due again later) are
simply left to their time; above, they are dropped when they outnumber the live ones."""


class Wakeup:
    """An alarm for one pod loop: set by events, the clock and changes, waited on by the loop.

    An :class:`asyncio.Event` carries a deque of waiters; with one per pod on a node of
    10,000 pods that alone is megabytes, for a loop that only ever has one waiter.
    """

    __slots__ = ("_due", "_is_set", "_waiter")

    def __init__(self) -> None:
        self._is_set = False
        self._waiter: asyncio.Future[None] | None = None
        self._due = _NOT_DUE

    def set(self) -> None:
        """Wake the loop now, or as soon as it next waits."""
        self._is_set = True
        self._due = _NOT_DUE
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        """Forget earlier alarms: the loop is about to look at everything anyway."""
        self._is_set = False

    def waiter(self) -> asyncio.Future[None]:
        """A future done at the next :meth:`set`, or already done if set since the last clear.

        A plain future rather than a coroutine: a sleeping pod loop then holds no frame of
        its own for the wait, which with 10,000 loops is megabytes.
        """
        future = asyncio.get_running_loop().create_future()
        if self._is_set:
            future.set_result(None)
        else:
            self._waiter = future
        return future


class AlarmClock:
    """Rings each sleeping pod loop's alarm at its due time, on one timer for the worker.

    A due time is an entry of a heap, left there when its alarm is set sooner or given
    another due time (the entry no longer matches the alarm's, and is skipped when it comes
    up): waking a loop costs nothing here, and the stale entries are bounded by the wakes
    of one resync period, compacted away when they outnumber the live ones.
    """

    __slots__ = ("_compact_at", "_heap", "_sequence", "_timer", "_timer_due")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Wakeup]] = []
        self._sequence = itertools.count()
        """Orders entries due at the same time, which an alarm cannot."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_due = math.inf
        self._compact_at = COMPACT_FROM

    def ring_after(self, wakeup: Wakeup, delay: float) -> None:
        """Set ``wakeup`` in ``delay`` seconds, unless it is set sooner (or given another
        due time first)."""
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        wakeup._due = due
        heapq.heappush(self._heap, (due, next(self._sequence), wakeup))
        if due < self._timer_due:
            self._arm(loop, due)
        if len(self._heap) >= self._compact_at:
            self._compact()

    def stop(self) -> None:
        """Ring nothing any more."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_due = math.inf
        self._heap.clear()

    def _arm(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(due, self._ring)
        self._timer_due = due

    def _ring(self) -> None:
        self._timer = None
        self._timer_due = math.inf
        loop = asyncio.get_running_loop()
        ready = loop.time() + SLACK
        heap = self._heap
        while heap and heap[0][0] <= ready:
            due, _, wakeup = heapq.heappop(heap)
            if wakeup._due == due:
                wakeup.set()
        if heap:
            self._arm(loop, heap[0][0])

    def _compact(self) -> None:
        live = [entry for entry in self._heap if entry[2]._due == entry[0]]
        if 2 * len(live) <= len(self._heap):
            heapq.heapify(live)
            self._heap = live
        self._compact_at = max(COMPACT_FROM, 2 * len(self._heap))
