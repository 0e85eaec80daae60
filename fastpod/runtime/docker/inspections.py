"""The pods' containers' ``docker inspect`` answers, kept while the Engine's events show
that nothing has changed them.

A pod's sync reads each of its sandboxes and containers from its inspect (the Engine's
listing lacks their times and exit codes, and Docker 20.10 still lists a container whose
``die`` was sent as running). Most syncs read containers that have not changed since the
last read: the ones that fastpod's own ``start`` events wake, and every periodic resync.
An answer is kept, and given again instead of a new inspect, while all of these hold:

- the Engine's event stream is followed and has shown that its subscription is in place
  (an event came through it); every kept answer is dropped when it is lost;
- no ``die``, ``destroy`` or ``oom`` of that container came since the inspect was asked
  for, nor a ``start`` unless the answer shows it running (a container leaves ``running``
  only with a ``die``, which follows that ``start``);
- the listing that names the container gives the state the answer gave: a death whose
  event never came (the Engine drops events a slow reader leaves waiting) is read again
  as soon as the listing shows it.

Only containers with the kubelet's pod label are kept: the event stream is filtered to it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.docker.inspected import Inspected, inspected
from fastpod.runtime.labels import POD_UID


@dataclass(slots=True)
class _Reading:
    """An inspect on its way, and what the events said of its container meanwhile."""

    died: bool = False
    """A ``die``, ``destroy`` or ``oom`` (or the stream's loss): the answer may be stale."""
    started: bool = False
    """A ``start``: an answer that does not show it running is stale."""


class Inspections:
    """Inspects on one Engine, kept as the module says."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._kept: dict[str, Inspected] = {}
        self._reading: dict[str, list[_Reading]] = {}
        self._live = False
        """The event stream is followed and its subscription is in place."""

    async def read(self, container_id: str) -> Inspected | None:
        """The container's inspect, asked for now; None once it is gone."""
        reading = None
        if self._live:
            reading = _Reading()
            self._reading.setdefault(container_id, []).append(reading)
        try:
            path = f"/containers/{container_id}/json"
            status, payload = await self._engine.call("GET", path, ok=(200, 404))
        finally:
            if reading is not None:
                self._done(container_id, reading)
        if status == 404:
            self._kept.pop(container_id, None)
            return None
        item = inspected(payload)
        if reading is not None and self._keeps(container_id, item, reading):
            self._kept[container_id] = item
        return item

    async def current(self, container_id: str, listed: str) -> Inspected | None:
        """The container's inspect: the kept one if the listing's state ``listed`` is its
        state, else asked for now."""
        kept = self._kept.get(container_id)
        if kept is not None and kept.State.Status == listed:
            return kept
        return await self.read(container_id)

    def kept(self, container_id: str) -> Inspected | None:
        """The kept inspect of the container, if any."""
        return self._kept.get(container_id)

    def following(self) -> None:
        """An event came through a newly followed stream: answers can be kept from now."""
        self._live = True

    def changed(self, container_id: str, action: str) -> None:
        """The Engine told of ``action`` (``start``, ``die``, ``destroy``, ``oom``) of a
        container."""
        kept = self._kept.get(container_id)
        if action == "start":
            if kept is not None and kept.State.Status != "running":
                del self._kept[container_id]
            for reading in self._reading.get(container_id, ()):
                reading.started = True
            return
        if kept is not None:
            del self._kept[container_id]
        for reading in self._reading.get(container_id, ()):
            reading.died = True

    def lost(self) -> None:
        """The event stream is lost (or no longer read): nothing is kept until it is back."""
        self._live = False
        self._kept.clear()
        for readings in self._reading.values():
            for reading in readings:
                reading.died = True

    def _keeps(self, container_id: str, item: Inspected, reading: _Reading) -> bool:
        return (
            self._live
            and not reading.died
            and (not reading.started or item.State.Status == "running")
            # the events name containers by full ID, and only those with the pod label
            and item.Id == container_id
            and POD_UID in (item.Config.Labels or {})
        )

    def _done(self, container_id: str, reading: _Reading) -> None:
        readings = self._reading[container_id]
        readings.remove(reading)
        if not readings:
            del self._reading[container_id]
