"""The events of this node's static pods, written to the API server as the kubelet's
recorder writes them (client-go ``tools/record/event.go``, ``recordToSink``).

Workers report what happens to their pods (:meth:`EventSink.record` never waits, and
takes them before the client exists: a kubeconfig not written yet); one task here takes the
occurrences in order, runs them through the
:class:`~fastpod.cluster.events_correlator.EventCorrelator` and creates or patches the
Event, through the client's rate limit like every other call.

Failures never hold anything but this task. As ``recordEvent`` decides: an API server
that cannot be reached is tried again (after 100 ms, doubling to client-go's 10 s
``defaultSleepDuration``), the event waiting at the head; an API server that answers with
a refusal (403, 422, a namespace gone) rejects that event for good, and the next is
written. A patch of an Event gone (404) creates it again. Each streak of failures is
logged once when it starts and once when it ends. Occurrences waiting are bounded
(client-go's broadcaster holds 1,000): when the API server is gone long, the oldest are
dropped, counted, and the count logged when writing resumes.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable

from fastpod import logs
from fastpod.cluster.client import ApiClient, ApiFailure
from fastpod.cluster.events import Object, Occurrence, new_event
from fastpod.cluster.events_correlator import EventCorrelator, Send
from fastpod.cluster.retry import Streak
from fastpod.metrics import recorder

QUEUE_SIZE = 1000
"""Occurrences waiting to be written, at most: client-go's ``maxQueuedEvents``."""
RETRY_MAX = 10.0
"""Seconds between tries of an API server that cannot be reached, at most: client-go's
``defaultSleepDuration``."""
RETRIED = frozenset({"unreachable", "server"})
"""Failures tried again: no answer (``recordEvent`` holds everything then), and 429 or
5xx, which client-go's REST client retries itself before the recorder sees them."""


class EventSink:
    """Writes the events of this node's pods, one at a time, oldest first."""

    def __init__(
        self, node_name: str, *, size: int = QUEUE_SIZE, clock: Callable[[], float] = time.time
    ) -> None:
        self.node_name = node_name
        self.client: ApiClient | None = None
        """Set once the kubeconfig could be read: occurrences wait until then."""
        self.correlator = EventCorrelator()
        self._size = size
        self._clock = clock
        self._queue: collections.deque[Occurrence] = collections.deque()
        self._waiting = asyncio.Event()
        self._streak = Streak(maximum=RETRY_MAX)
        self._dropped = 0
        self._rejected = 0
        self._last_name_ns = 0

    def record(self, occurrence: Occurrence) -> None:
        """Queue ``occurrence`` to be written; the oldest waiting is dropped when full."""
        if len(self._queue) >= self._size:
            self._queue.popleft()
            self._dropped += 1
            recorder.count("fastpod_events_dropped_total", reason="queue full")
            if self._dropped == 1:
                logs.emit(
                    "events dropped",
                    level="warning",
                    waiting=self._size,
                    note="the API server takes no events; the oldest waiting are dropped, "
                    "counted until it does",
                )
        self._queue.append(occurrence)
        self._waiting.set()

    @property
    def waiting(self) -> int:
        """Occurrences not yet written."""
        return len(self._queue)

    async def run(self, client: ApiClient) -> None:
        """Write the occurrences through ``client`` as they come, until cancelled."""
        self.client = client
        while True:
            while not self._queue:
                self._waiting.clear()
                await self._waiting.wait()
            await self.write(self._queue.popleft())

    async def write(self, occurrence: Occurrence) -> None:
        """Correlate ``occurrence`` and write what it comes to, trying again while the
        API server cannot be reached."""
        name_ns = max(int(occurrence.time * 1e9), self._last_name_ns + 1)
        self._last_name_ns = name_ns
        send = self.correlator.correlate(
            new_event(occurrence, self.node_name, name_ns), self._clock()
        )
        if send is None:
            recorder.count("fastpod_events_dropped_total", reason="spam filter")
            return
        while True:
            try:
                written = await self._send(send)
            except ApiFailure as failure:
                delay = self._failed(failure)
                if failure.kind not in RETRIED:
                    self._rejected += 1
                    recorder.count("fastpod_events_dropped_total", reason="rejected")
                    return
                await asyncio.sleep(delay)
                continue
            self.correlator.written(written)
            recorder.count("fastpod_events_written_total", verb="patch" if send.patch else "create")
            self._succeeded()
            return

    async def _send(self, send: Send) -> Object:
        """``recordEvent``: a patch of the Event written before, or a create (also when
        the Event patched is gone: the API server's event TTL, or someone deleted it)."""
        client = self.client
        assert client is not None, "written only once the client exists"
        event = send.event
        meta = event["metadata"]
        if send.patch is not None:
            try:
                return await client.patch_event(meta["name"], meta["namespace"], send.patch)
            except ApiFailure as failure:
                if failure.kind != "not-found":
                    raise
        created = {**event, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
        return await client.create_event(created)

    def _failed(self, failure: ApiFailure) -> float:
        delay = self._streak.failed()
        if self._streak.first:
            logs.emit(
                "API server call failed",
                level="warning",
                call="event",
                error=str(failure),
                retry_in=f"{delay:g}s" if failure.kind in RETRIED else None,
                note="the pods are not affected; logged once until it succeeds",
            )
        return delay

    def _succeeded(self) -> None:
        ended = self._streak.succeeded()
        if ended or self._dropped:
            logs.emit(
                "API server call succeeded again",
                call="event",
                failures=ended,
                events_rejected=self._rejected,
                events_dropped=self._dropped,
            )
        self._rejected = self._dropped = 0
