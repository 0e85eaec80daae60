"""How a CRI runtime's container starts and deaths reach fastpod, as runtime events.

``GetContainerEvents`` where the runtime has it (containerd 1.7 and later), with a relist of
the node every :data:`EVENTED_RELIST_PERIOD` beside it, as the kubelet's evented PLEG.
Without it (containerd 1.6) each running container's process is watched through a pidfd
(:mod:`fastpod.runtime.cri.exits`), which tells a death at once, and the node's sandboxes and
containers are listed every relist period for what a pidfd cannot see: a sandbox that died,
a container made or removed by someone else (once per node, by one worker for all:
:mod:`fastpod.runtime.cri.relist_feed`). The pod loops' resync heals anything missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc

from fastpod.runtime.base import ListedObject, RuntimeCallError, RuntimeEvent
from fastpod.runtime.cri.calls import CALL_TIMEOUT, call_error
from fastpod.runtime.cri.exits import ExitWatch
from fastpod.runtime.cri.pod_index import PodIndex
from fastpod.runtime.cri.relist_feed import RelistFeed, Source
from fastpod.runtime.labels import POD_UID

EVENTS_RETRY = 0.5
"""Seconds between a lost stream or relist and the next try."""
EVENTED_RELIST_PERIOD = 300.0
"""How often the node is relisted beside an event stream, to heal what a lost event would
leave wrong (the kubelet's evented PLEG relists as often)."""
EXIT_CONFIRM_POLL = 0.002
EXIT_CONFIRM_TRIES = 1000
"""How often, and how many times at most (2 s), a death seen through a pidfd is looked up
until the runtime shows it."""

Keep = Callable[[list[ListedObject]], list[ListedObject]]
"""Of a relist, what is this worker's to watch (each added to its index)."""


class CriEvents:
    """The runtime events of one CRI runtime client: its stream, else pidfds and a relist."""

    def __init__(
        self,
        runtime: Callable[[], api_pb2_grpc.RuntimeServiceStub],
        feed: RelistFeed,
        keep: Keep,
        relist_period: float,
        index: PodIndex,
    ) -> None:
        self._runtime = runtime
        self._feed = feed
        self._keep = keep
        self._index = index
        """Told first of every event (what it knew of the pod may be stale) and of every
        object a relist no longer shows."""
        self.relist_period = relist_period
        self._events: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        self._watching: set[str] = set()
        """The containers watched, or about to be."""
        self._event_stream = False
        """The runtime streams container events (``GetContainerEvents``)."""
        self._exits = ExitWatch(self._exited)

    def watch_soon(self, container_id: str) -> None:
        """Hear at once when this running container dies (unless the stream tells)."""
        if not self._event_stream and container_id not in self._watching:
            self._watching.add(container_id)
            asyncio.get_running_loop().create_task(self._watch(container_id))

    def forget(self, container_id: str) -> None:
        """The container is being removed: its death is no news."""
        self._exits.forget(container_id)
        self._watching.discard(container_id)

    async def _watch(self, container_id: str) -> None:
        watching = False
        try:
            watching = await self._start_watch(container_id)
        finally:
            if not watching:
                self._watching.discard(container_id)

    async def _start_watch(self, container_id: str) -> bool:
        """Whether the container's process is watched now; reports it dead if it is."""
        request = cri.ContainerStatusRequest(container_id=container_id, verbose=True)
        try:
            reply = await self._runtime().ContainerStatus(request, timeout=CALL_TIMEOUT)
            pid = int(json.loads(reply.info.get("info", "{}")).get("pid", 0))
        except (grpc.aio.AioRpcError, ValueError):
            return False  # the relist will tell
        uid = reply.status.labels.get(POD_UID, "")
        if reply.status.state != cri.ContainerState.CONTAINER_RUNNING or pid <= 0:
            self._report(uid, "died")
            return False
        watched = self._exits.watch(container_id, pid)
        if watched == "gone":
            # exited between the status and the watch
            self._report(uid, "died")
        return watched == "watching"

    def _report(self, pod_uid: str | None, reason: str) -> None:
        self._index.pod_changed(pod_uid or None)
        self._events.put_nowait(RuntimeEvent(pod_uid or None, reason))

    def _exited(self, container_id: str) -> None:
        self._watching.discard(container_id)
        uid = self._index.pod_of(container_id) or ""
        asyncio.get_running_loop().create_task(self._report_exit(container_id, uid))

    async def _report_exit(self, container_id: str, uid: str) -> None:
        """Report a death once the runtime shows it: a sync before that would see it run."""
        await self.until_not_running(container_id)
        self._report(uid, "died")

    async def until_not_running(self, container_id: str) -> None:
        """containerd 1.6 shows a container whose task has gone as running until it has
        handled the exit (StopContainer returns at once then): wait for that, 2 s at most."""
        request = cri.ContainerStatusRequest(container_id=container_id)
        with contextlib.suppress(grpc.aio.AioRpcError):
            for _ in range(EXIT_CONFIRM_TRIES):
                reply = await self._runtime().ContainerStatus(request, timeout=CALL_TIMEOUT)
                if reply.status.state != cri.ContainerState.CONTAINER_RUNNING:
                    return
                await asyncio.sleep(EXIT_CONFIRM_POLL)

    async def events(self) -> AsyncIterator[RuntimeEvent]:
        """The runtime's events until cancelled; ``RuntimeEvent(None, ...)`` once they
        flow again after a loss."""
        lost = False
        while True:
            loop = asyncio.get_running_loop()
            relist = loop.create_task(self._relist(lost))
            stream = loop.create_task(self._follow_event_stream())
            try:
                while True:
                    for task in (relist, stream):
                        if task.done():
                            task.result()  # a failure of either is the loss of the events
                    getter = asyncio.ensure_future(self._events.get())
                    waited = {getter, relist} if stream.done() else {getter, relist, stream}
                    await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        lost = False
                        yield getter.result()
                    else:
                        getter.cancel()
            except RuntimeCallError:
                pass
            finally:
                relist.cancel()
                stream.cancel()
            lost = True
            await asyncio.sleep(EVENTS_RETRY)

    async def _follow_event_stream(self) -> None:
        """Report the runtime's container events; return at once if it has none."""
        stream = self._runtime().GetContainerEvents(cri.GetEventsRequest())
        try:
            async for event in stream:
                # the stream tells every change: pidfds and a fast relist are not needed
                self._event_stream = True
                uid = event.pod_sandbox_status.metadata.uid or None
                self._report(uid, "container event")
        except grpc.aio.AioRpcError as error:
            self._event_stream = False
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise call_error("GetContainerEvents", error) from None
        finally:
            stream.cancel()

    async def _relist(self, lost: bool) -> None:
        """At every relist of the node (listed here or by the leading worker: the
        :class:`~fastpod.runtime.cri.relist_feed.RelistFeed`), report the pods whose
        sandboxes or containers changed state, came or went (the index forgets what went),
        and after a loss, that anything may have."""
        seen: dict[str, tuple[int, str]] | None = None
        source: Source | None = None
        while True:
            period = self.relist_period
            if self._event_stream:
                period = max(period, EVENTED_RELIST_PERIOD)
            listed, listed_by = await self._feed.next(period, first=seen is None)
            kept = self._keep(listed)
            states = {i.id: (i.state, i.pod_uid) for i in kept}
            if seen is None:
                if lost:
                    self._report(None, "events resumed")
                # the first listing is the baseline, yet what is dead in it may have died
                # before it was taken (a follower's first comes a period after its pods
                # start): the kubelet's first relist, too, reports every death it finds
                for uid in {i.pod_uid for i in kept if not _alive(i)}:
                    self._report(uid, "found not running")
            else:
                changed = {uid for i, (state, uid) in states.items() if seen.get(i) != (state, uid)}
                for gone in seen.keys() - states.keys():
                    changed.add(seen[gone][1])
                    # listed before and not now: removed, whoever removed it (unless the two
                    # listings came from two processes, which may have listed out of order)
                    if listed_by == source:
                        self._index.forget(gone)
                for uid in changed:
                    self._report(uid, "state changed")
            seen, source = states, listed_by

    def close(self) -> None:
        """Stop watching processes."""
        self._exits.close()


def _alive(item: ListedObject) -> bool:
    """A ready sandbox or a running container."""
    if item.sandbox_id:
        return item.state == cri.ContainerState.CONTAINER_RUNNING
    return item.state == cri.PodSandboxState.SANDBOX_READY
