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
