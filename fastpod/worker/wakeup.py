"""The alarm a pod loop sleeps on: set by runtime events, timers and spec changes."""

from __future__ import annotations

import asyncio


class Wakeup:
    """An alarm for one pod loop: set by events, timers and changes, waited on by the loop.

    An :class:`asyncio.Event` carries a deque of waiters; with one per pod on a node of
    10,000 pods that alone is megabytes, for a loop that only ever has one waiter.
    """

    __slots__ = ("_is_set", "_waiter")

    def __init__(self) -> None:
        self._is_set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the loop now, or as soon as it next waits."""
        self._is_set = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear(self) -> None:
        """Forget earlier alarms: the loop is about to look at everything anyway."""
        self._is_set = False

    async def wait(self) -> None:
        """Return once set."""
        if self._is_set:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None
