"""The deaths and starts of pods' containers, from the Engine's event stream.

The stream is filtered to containers with the kubelet's pod label (adopted pods' too) and
followed again by itself after the daemon restarts; what was missed meanwhile is told as
``RuntimeEvent(None)``: every pod syncs. What the stream tells of each container is told
first to the kept inspects (:mod:`~fastpod.runtime.docker.inspections`), which are kept
only while it is followed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from fastpod.runtime.base import RuntimeEvent
from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.docker.inspections import Inspections
from fastpod.runtime.labels import POD_UID

EVENTS_RETRY = 0.5
"""Seconds between attempts to follow a lost event stream again."""


class _Event(msgspec.Struct):
    Type: str = ""
    Action: str = ""
    Actor: dict[str, Any] | None = None


_event = msgspec.json.Decoder(_Event)


async def follow_events(engine: Engine, inspections: Inspections) -> AsyncIterator[RuntimeEvent]:
    """Each ``start``, ``die``, ``destroy`` and ``oom`` of a pod's container, as long as
    the caller reads."""
    filters = quote(
        json.dumps(
            {
                "type": ["container"],
                "event": ["start", "die", "destroy", "oom"],
                # the kubelet's pod label, not fastpod's: adopted pods' containers too
                "label": [POD_UID],
            }
        )
    )
    lost = False
    try:
        while True:
            try:
                async with engine.session().get(
                    f"/events?filters={filters}", timeout=aiohttp.ClientTimeout(total=None)
                ) as reply:
                    if lost:
                        # anything may have happened while the stream was down
                        yield RuntimeEvent(None, "events resumed")
                        lost = False
                    async for line in reply.content:
                        if not line.strip():
                            continue
                        event = _event.decode(line)
                        # an event shows that the Engine has subscribed the stream: the
                        # headers come before it does
                        inspections.following()
                        actor = event.Actor or {}
                        # Actor.ID, not the legacy id: API v1.52 (Docker 29) leaves that out
                        inspections.changed(str(actor.get("ID") or ""), event.Action)
                        attributes = actor.get("Attributes") or {}
                        yield RuntimeEvent(attributes.get(POD_UID), event.Action)
            except (aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError):
                pass
            inspections.lost()
            lost = True
            await asyncio.sleep(EVENTS_RETRY)
    finally:
        inspections.lost()
