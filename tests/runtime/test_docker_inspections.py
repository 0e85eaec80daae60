"""The Docker runtime's kept inspects: given again only while the Engine's events and its
listing show nothing has changed the container since (a stand-in Engine answering the
inspects and counting them; the rules on real Docker are the sandbox-death and restart
tests of ``test_runtime_behaviour``)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.docker.inspections import Inspections
from fastpod.runtime.labels import POD_UID

ID = "c" * 64


class _Engine(Engine):
    """Answers a container's inspect with its current state; holds an answer while
    ``hold`` is set, so that events can come while it is on its way."""

    def __init__(self) -> None:
        super().__init__("/nonexistent")
        self.status = "running"
        self.labels = {POD_UID: "uid-1"}
        self.calls = 0
        self.hold: asyncio.Event | None = None

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200,)
    ) -> tuple[int, bytes]:
        self.calls += 1
        answer = {"Id": ID, "State": {"Status": self.status}, "Config": {"Labels": self.labels}}
        if self.status == "gone":
            return 404, b'{"message": "No such container"}'
        payload = msgspec.json.encode(answer)
        if self.hold is not None:
            await self.hold.wait()
        return 200, payload


def _followed() -> tuple[_Engine, Inspections]:
    engine = _Engine()
    inspections = Inspections(engine)
    inspections.following()
    return engine, inspections


def _status(item: Any) -> str:
    assert item is not None
    return str(item.State.Status)


def test_an_unchanged_container_is_inspected_once_while_the_listing_agrees() -> None:
    async def scenario() -> None:
        engine, inspections = _followed()
        await inspections.read(ID)
        assert _status(await inspections.current(ID, "running")) == "running"
        assert engine.calls == 1
        engine.status = "exited"
        # the listing shows a death the events did not tell (a dropped event): read again
        assert _status(await inspections.current(ID, "exited")) == "exited"
        assert engine.calls == 2

    asyncio.run(scenario())


def test_nothing_is_kept_until_the_event_stream_shows_it_is_followed() -> None:
    async def scenario() -> None:
        engine = _Engine()
        inspections = Inspections(engine)
        await inspections.read(ID)
        await inspections.current(ID, "running")
        assert engine.calls == 2
        assert inspections.kept(ID) is None

    asyncio.run(scenario())


def test_a_die_destroy_or_oom_drops_the_kept_inspect() -> None:
    async def scenario() -> None:
        for action in ("die", "destroy", "oom"):
            engine, inspections = _followed()
            await inspections.read(ID)
            inspections.changed(ID, action)
            engine.status = "exited"
            # Docker 20.10 still lists the container as running after its die event
            assert _status(await inspections.current(ID, "running")) == "exited", action
            assert engine.calls == 2, action

    asyncio.run(scenario())


def test_a_start_keeps_a_running_inspect_and_drops_any_other() -> None:
    async def scenario() -> None:
        engine, inspections = _followed()
        await inspections.read(ID)
        inspections.changed(ID, "start")
        assert inspections.kept(ID) is not None, "fastpod's own start, read after it"
        engine.status = "exited"
        inspections.changed(ID, "die")
        await inspections.read(ID)
        assert _status(inspections.kept(ID)) == "exited"
        inspections.changed(ID, "start")
        assert inspections.kept(ID) is None

    asyncio.run(scenario())


def test_an_inspect_answered_after_a_death_it_may_miss_is_not_kept() -> None:
    async def scenario() -> None:
        engine, inspections = _followed()
        engine.hold = asyncio.Event()
        reading = asyncio.ensure_future(inspections.read(ID))
        await asyncio.sleep(0)
        inspections.changed(ID, "die")
        engine.hold.set()
        assert _status(await reading) == "running"
        assert inspections.kept(ID) is None

    asyncio.run(scenario())


def test_a_start_during_an_inspect_keeps_only_an_answer_showing_it_running() -> None:
    async def scenario() -> None:
        for status, kept in (("running", True), ("created", False)):
            engine, inspections = _followed()
            engine.status = status
            engine.hold = asyncio.Event()
            reading = asyncio.ensure_future(inspections.read(ID))
            await asyncio.sleep(0)
            inspections.changed(ID, "start")
            engine.hold.set()
            await reading
            assert (inspections.kept(ID) is not None) == kept, status

    asyncio.run(scenario())


def test_a_lost_event_stream_drops_everything_kept_and_keeps_nothing_until_followed() -> None:
    async def scenario() -> None:
        _, inspections = _followed()
        await inspections.read(ID)
        inspections.lost()
        assert inspections.kept(ID) is None
        await inspections.read(ID)
        assert inspections.kept(ID) is None
        inspections.following()
        await inspections.read(ID)
        assert inspections.kept(ID) is not None

    asyncio.run(scenario())


def test_a_container_without_the_pod_label_or_gone_is_not_kept() -> None:
    async def scenario() -> None:
        engine, inspections = _followed()
        engine.labels = {}
        await inspections.read(ID)
        assert inspections.kept(ID) is None, "the events are filtered to the pod label"
        engine.labels = {POD_UID: "uid-1"}
        await inspections.read(ID)
        engine.status = "gone"
        assert await inspections.current(ID, "exited") is None
        assert inspections.kept(ID) is None

    asyncio.run(scenario())
