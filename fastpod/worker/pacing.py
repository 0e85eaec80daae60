"""Turns for the pod loops, a few per turn of the event loop, so manifests are never stuck.

A worker is one thread: the pod loops, the probes and the handling of manifest events share
its event loop, which runs, at each turn, every callback that was ready when the turn
began, and only then reads its sockets. Thousands of pod loops made ready at once (the
first listing let through, a resync of every pod, a runtime event waking them all) would
make one turn of hundreds of milliseconds to seconds, and a manifest edit arriving then
waits for all of it: the head-of-line blocking measured by ``bench/macro/pipeline.py``.

:class:`Pacer` gives the loops their turns in order of asking, at most ``per_turn`` each
turn of the event loop; the rest wait for the next turns, between which the sockets are
read. The pods still sync concurrently (nothing waits for a sync to end): only when they
begin is spread out, so the CPU used is the same and a manifest waits at most a few syncs.
"""

from __future__ import annotations

import asyncio
import collections

PER_TURN = 8
"""Pod syncs begun per turn of the event loop: a sync is 50-500 µs of CPU, so a manifest
event waits a few milliseconds at most behind them."""


class Pacer:
    """Turns handed out in order, ``per_turn`` per turn of the event loop; none until
    :meth:`open` when ``held``."""

    __slots__ = ("_granted", "_held", "_per_turn", "_scheduled", "_waiting")

    def __init__(self, per_turn: int = PER_TURN, *, held: bool = False) -> None:
        self._per_turn = per_turn
        self._held = held
        self._granted = 0
        self._scheduled = False
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    @property
    def held(self) -> bool:
        """No turn is given yet."""
        return self._held

    @property
    def waiting(self) -> int:
        """Loops waiting for their turn."""
        return len(self._waiting)

    def open(self) -> None:
        """Start giving turns."""
        self._held = False
        if self._waiting:
            self._schedule()

    def turn(self) -> asyncio.Future[None] | None:
        """None when the caller may go on at once, else a future done at its turn.

        Returning None rather than a done future keeps the usual case (a few loops woken
        at a time) free of a future and a suspension.
        """
        if not self._held and not self._waiting and self._granted < self._per_turn:
            self._granted += 1
            self._schedule()
            return None
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        if not self._held:
            self._schedule()
        return future

    def _schedule(self) -> None:
        # the release runs after the callbacks already ready, and the sockets are read
        # before the turn after it
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._release)

    def _release(self) -> None:
        self._scheduled = False
        self._granted = 0
        waiting = self._waiting
        while waiting and self._granted < self._per_turn:
            future = waiting.popleft()
            if not future.done():  # a loop cancelled while it waited
                future.set_result(None)
                self._granted += 1
        if waiting:
            self._schedule()
