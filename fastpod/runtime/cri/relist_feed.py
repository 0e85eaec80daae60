"""Where a worker's relist of a CRI runtime's node comes from: once per node, not per worker.

containerd answers a listing by converting every sandbox or container it has, whatever the
filter, so N workers each listing the node cost it N times one relist (at the ``fast``
profile's 100 ms, about 0.12 CPU-s/s per worker with 1,000 containers). So one worker, the
leader (worker 0), lists the whole node for all, and sends every other worker the part whose
pods it owns (``NodeRelisted``, split by the pod key of the kubelet's labels, with the
worker count of this run: a restart with another count splits anew). A follower lists the
node itself only when no listing came for :data:`FOLLOW_PATIENCE` relist periods (its
leader is restarting), and again every period until one comes. A lone worker lists alone.

The leader lists without a label selector: which pods the other workers adopted it does not
know, and containerd converts every object before it filters anyway. Each worker keeps what
is fastpod's or adopted (:meth:`~fastpod.runtime.cri.listing.Listing.keep`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Literal

from fastpod.runtime.base import ListedObject

FOLLOW_PATIENCE = 3.0
"""Relist periods a follower waits for its leader's listing before it lists the node itself."""

Source = Literal["own", "leader"]
"""Who listed: this process, or the leading worker (each source's listings come in order)."""

Publish = Callable[[list[ListedObject]], list[ListedObject]]
"""Sends a whole listing to the other workers; returns this worker's part."""


class RelistFeed:
    """The node's sandboxes and containers at each relist, for one worker."""

    def __init__(self, list_node: Callable[[], Awaitable[list[ListedObject]]]) -> None:
        self._list_node = list_node
        """The whole node, listed by this process."""
        self._publish: Publish | None = None
        self._mine: Callable[[ListedObject], bool] | None = None
        """A follower's part of the node: its own listings keep only that, as the leader's
        do, so that switching between the two reports no other worker's pods."""
        self._latest: list[ListedObject] | None = None
        """The leader's listing not taken yet (only the latest counts)."""
        self._arrived = asyncio.Event()
        self._alone_since_timeout = False

    def lead(self, publish: Publish) -> None:
        self._publish = publish

    def follow(self, mine: Callable[[ListedObject], bool]) -> None:
        self._mine = mine

    def received(self, objects: list[ListedObject]) -> None:
        self._latest = objects
        self._arrived.set()

    async def next(self, period: float, *, first: bool) -> tuple[list[ListedObject], Source]:
        """The next relist: listed here after ``period`` (at once if ``first``), or the
        leader's next one, as soon as it comes."""
        if self._mine is None:
            if not first:
                await asyncio.sleep(period)
            return await self._own(), "own"
        patience = period if self._alone_since_timeout else period * FOLLOW_PATIENCE
        try:
            await asyncio.wait_for(self._arrived.wait(), patience)
        except TimeoutError:
            self._alone_since_timeout = True
            return await self._own(), "own"
        self._alone_since_timeout = False
        self._arrived.clear()
        objects, self._latest = self._latest or [], None
        return objects, "leader"

    async def _own(self) -> list[ListedObject]:
        objects = await self._list_node()
        if self._mine is not None:
            return [item for item in objects if self._mine(item)]
        return objects if self._publish is None else self._publish(objects)
