"""The Engine's events name their container in ``Actor.ID``: since API v1.52 (Docker 29)
the legacy ``id`` field is left out (moby/moby#50832), and a death told that way must still
drop the container's kept inspect (a stand-in Engine serving the event stream on a Unix
socket, as the Engine does)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.docker.events import follow_events
from fastpod.runtime.docker.inspections import Inspections
from fastpod.runtime.labels import POD_UID

ID = "d" * 64


class _Inspects(Engine):
    """Answers the container's inspect: running, with the pod label."""

    def __init__(self) -> None:
        super().__init__("/nonexistent")

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200,)
    ) -> tuple[int, bytes]:
        answer = {"Id": ID, "State": {"Status": "running"}, "Config": {"Labels": {POD_UID: "u"}}}
        return 200, msgspec.json.encode(answer)


async def _kept_after(event: dict[str, Any], socket: str) -> bool:
    ended = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(msgspec.json.encode(event) + b"\n")
        await ended.wait()  # an Engine's stream stays open
        return response

    app = web.Application()
    app.router.add_get("/events", stream)
    server = web.AppRunner(app)
    await server.setup()
    await web.UnixSite(server, socket).start()
    engine = Engine(socket)
    inspections = Inspections(_Inspects())
    inspections.following()
    try:
        await inspections.read(ID)
        assert inspections.kept(ID) is not None
        events = follow_events(engine, inspections)
        told = await anext(events)
        assert told.pod_uid == "u"
        return inspections.kept(ID) is not None
    finally:
        ended.set()
        await engine.close()
        await server.cleanup()


def _die(**legacy: str) -> dict[str, Any]:
    actor = {"ID": ID, "Attributes": {POD_UID: "u", "exitCode": "1"}}
    return {"Type": "container", "Action": "die", "Actor": actor, **legacy}


def test_a_death_named_only_by_its_actor_drops_the_kept_inspect(tmp_path: Path) -> None:
    assert not asyncio.run(_kept_after(_die(), str(tmp_path / "engine.sock")))


def test_a_death_with_the_legacy_id_too_drops_the_kept_inspect(tmp_path: Path) -> None:
    event = _die(id=ID, status="die")
    assert not asyncio.run(_kept_after(event, str(tmp_path / "engine.sock")))
