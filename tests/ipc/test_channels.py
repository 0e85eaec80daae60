"""Inbox and Outbox over a real Unix socket: batches in order, queued while the peer is down."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import shutil
import struct
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import uvloop

from fastpod.ipc.channels import Inbox, Outbox, describe, encode_frame, handle_each
from fastpod.ipc.messages import (
    Barrier,
    BarrierPassed,
    ManifestRemoved,
    Message,
    RelistDone,
    Resync,
)
from fastpod.model import PodSource
from tests.support.logs import LogCapture

LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
def socket_path() -> Iterator[str]:
    """A socket path short enough for AF_UNIX (pytest's tmp_path may be too long)."""
    directory = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-channels-")
    yield os.path.join(directory, "inbox.sock")
    shutil.rmtree(directory, ignore_errors=True)


class Recorder:
    """What an Inbox received, and a way to wait for it."""

    def __init__(self) -> None:
        self.batches: list[list[Message]] = []
        self._changed = asyncio.Event()

    def __call__(self, batch: list[Message]) -> None:
        self.batches.append(batch)
        self._changed.set()

    @property
    def messages(self) -> list[Message]:
        return [message for batch in self.batches for message in batch]

    async def wait_for(self, count: int) -> None:
        """Until ``count`` messages have arrived (the test's timeout bounds a hang)."""
        while len(self.messages) < count:
            self._changed.clear()
            await self._changed.wait()


def run(
    scenario: Callable[[], Coroutine[Any, Any, None]], loop: str = "asyncio"
) -> list[dict[str, Any]]:
    """Run ``scenario`` on a fresh loop; the contexts its exception handler was called with."""
    errors: list[dict[str, Any]] = []

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda _, context: errors.append(context))
        await asyncio.wait_for(scenario(), timeout=30)
        gc.collect()  # a task whose exception was never retrieved says so when collected

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(main())
    return errors


def passed(token: int) -> BarrierPassed:
    return BarrierPassed(token, 0)


@pytest.mark.parametrize("loop", LOOPS)
def test_an_outbox_delivers_batches_to_an_inbox_in_order(socket_path: str, loop: str) -> None:
    received = Recorder()

    async def scenario() -> None:
        inbox = Inbox(socket_path, received)
        await inbox.start()
        outbox = Outbox(socket_path)
        batches: list[list[Message]] = [
            [passed(token), Barrier(token, ("file",), (1, 2))] for token in range(50)
        ]
        for batch in batches:
            outbox.send(batch)
        await received.wait_for(100)

        assert received.messages == [message for batch in batches for message in batch]
        assert all(len(batch) % 2 == 0 for batch in received.batches)
        assert outbox.pending == 0
        await outbox.close()
        await inbox.close()

    assert run(scenario, loop) == []


def test_a_large_batch_arrives_whole(socket_path: str) -> None:
    received = Recorder()
    batch: list[Message] = [Barrier(token, ("file", "http")) for token in range(20_000)]

    async def scenario() -> None:
        inbox = Inbox(socket_path, received)
        await inbox.start()
        outbox = Outbox(socket_path)
        outbox.send(batch)
        outbox.send([RelistDone(complete=True)])
        await received.wait_for(len(batch) + 1)

        assert received.batches == [batch, [RelistDone(complete=True)]]
        await outbox.close()
        await inbox.close()

    assert len(encode_frame(batch)) > 1 << 18
    assert run(scenario) == []


@pytest.mark.parametrize("loop", LOOPS)
def test_frames_sent_before_the_inbox_listens_are_delivered_once_it_does(
    socket_path: str, loop: str
) -> None:
    received = Recorder()

    async def scenario() -> None:
        outbox = Outbox(socket_path)
        outbox.send([passed(1)])
        outbox.send([passed(2)])
        await asyncio.sleep(0.05)  # the outbox has tried and failed to connect
        assert outbox.pending == 2

        inbox = Inbox(socket_path, received)
        await inbox.start()
        outbox.send([passed(3)])
        await received.wait_for(3)

        assert received.messages == [passed(1), passed(2), passed(3)]
        await outbox.close()
        await inbox.close()

    assert run(scenario, loop) == []


@pytest.mark.parametrize("loop", LOOPS)
def test_after_the_inbox_restarts_later_frames_reach_the_new_one(
    socket_path: str, loop: str
) -> None:
    first, second = Recorder(), Recorder()

    async def scenario() -> None:
        inbox = Inbox(socket_path, first)
        await inbox.start()
        outbox = Outbox(socket_path)
        outbox.send([passed(1)])
        await first.wait_for(1)

        await inbox.close()
        replacement = Inbox(socket_path, second)
        await replacement.start()
        for token in range(2, 6):
            outbox.send([passed(token)])
        await second.wait_for(4)

        assert first.messages == [passed(1)]
        assert second.messages == [passed(token) for token in range(2, 6)]
        await outbox.close()
        await replacement.close()

    assert run(scenario, loop) == []


@pytest.mark.parametrize("loop", LOOPS)
def test_frames_sent_while_the_inbox_is_down_reach_its_successor(
    socket_path: str, loop: str
) -> None:
    first, second = Recorder(), Recorder()

    async def scenario() -> None:
        inbox = Inbox(socket_path, first)
        await inbox.start()
        outbox = Outbox(socket_path)
        outbox.send([passed(1)])
        await first.wait_for(1)
        await inbox.close()
        # the process died; nobody listens (Python 3.13 removes the socket file on close)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)

        outbox.send([passed(2)])
        await asyncio.sleep(0.05)  # the outbox has tried and failed to reconnect
        assert outbox.pending == 1
        replacement = Inbox(socket_path, second)
        await replacement.start()
        outbox.send([passed(3)])
        await second.wait_for(2)

        assert second.messages == [passed(2), passed(3)]
        await outbox.close()
        await replacement.close()

    assert run(scenario, loop) == []


def test_an_empty_send_sends_nothing(socket_path: str) -> None:
    received = Recorder()

    async def scenario() -> None:
        outbox = Outbox(socket_path)
        outbox.send([])
        assert outbox.pending == 0

        inbox = Inbox(socket_path, received)
        await inbox.start()
        outbox.send([])
        outbox.send([passed(1)])
        await received.wait_for(1)

        assert received.batches == [[passed(1)]]
        await outbox.close()
        await inbox.close()

    assert run(scenario) == []


def test_an_outbox_that_never_sent_closes_without_a_task(socket_path: str) -> None:
    async def scenario() -> None:
        outbox = Outbox(socket_path)
        outbox.send([])
        await outbox.close()
        assert outbox.pending == 0

    assert run(scenario) == []


@pytest.mark.parametrize("loop", LOOPS)
def test_closing_an_inbox_with_connected_peers_ends_cleanly(socket_path: str, loop: str) -> None:
    received = Recorder()

    async def scenario() -> None:
        inbox = Inbox(socket_path, received)
        await inbox.start()
        outboxes = [Outbox(socket_path) for _ in range(3)]
        for index, outbox in enumerate(outboxes):
            outbox.send([Resync(index)])
        await received.wait_for(3)

        await inbox.close()
        # the peers notice on their next write and go back to reconnecting
        for outbox in outboxes:
            outbox.send([Resync(9)])
        await asyncio.sleep(0.05)
        for outbox in outboxes:
            await outbox.close()

        assert sorted(received.messages, key=repr) == [Resync(0), Resync(1), Resync(2)]

    assert run(scenario, loop) == []


def test_closing_an_inbox_that_never_started_is_harmless(socket_path: str) -> None:
    async def scenario() -> None:
        await Inbox(socket_path, Recorder()).close()

    assert run(scenario) == []


def test_a_stale_socket_file_is_replaced_when_the_inbox_starts(socket_path: str) -> None:
    received = Recorder()

    async def scenario() -> None:
        with open(socket_path, "w") as stale:
            stale.write("left by a killed process")
        inbox = Inbox(socket_path, received)
        await inbox.start()
        outbox = Outbox(socket_path)
        outbox.send([passed(1)])
        await received.wait_for(1)
        await outbox.close()
        await inbox.close()

    assert run(scenario) == []


def test_a_batch_the_receiver_fails_on_is_logged_and_later_batches_still_arrive(
    socket_path: str, captured_logs: LogCapture
) -> None:
    received = Recorder()

    def receive(batch: list[Message]) -> None:
        if batch == [passed(2)]:
            raise ValueError("boom")
        received(batch)

    async def scenario() -> None:
        inbox = Inbox(socket_path, receive)
        await inbox.start()
        outbox = Outbox(socket_path)
        for token in (1, 2, 3):
            outbox.send([passed(token)])
        await received.wait_for(2)

        assert received.messages == [passed(1), passed(3)]
        await outbox.close()
        await inbox.close()

    assert run(scenario) == []
    (failure,) = captured_logs.records()
    assert failure["event"] == "message handling failed"
    assert failure["level"] == "error"
    assert "boom" in failure["error"]


def test_a_malformed_frame_drops_that_connection_only_without_an_unhandled_error(
    socket_path: str,
) -> None:
    received = Recorder()

    async def scenario() -> None:
        inbox = Inbox(socket_path, received)
        await inbox.start()
        reader, writer = await asyncio.open_unix_connection(socket_path)
        writer.write(struct.pack("!I", 3) + b"\xc1\xc1\xc1")  # not MessagePack
        await writer.drain()
        # the inbox drops the connection
        assert await reader.read() == b""
        writer.close()

        outbox = Outbox(socket_path)
        outbox.send([passed(1)])
        await received.wait_for(1)
        await outbox.close()
        await inbox.close()

    assert run(scenario) == []


def test_each_message_is_handled_and_one_that_raises_is_logged_by_name(
    captured_logs: LogCapture,
) -> None:
    handled: list[Message] = []

    def handle(message: Message) -> None:
        if message == passed(2):
            raise ValueError("boom")
        handled.append(message)

    handle_each([passed(1), passed(2), passed(3)], handle)

    assert handled == [passed(1), passed(3)]
    (failure,) = captured_logs.records("message handling failed")
    assert (failure["message"], failure["level"]) == ("BarrierPassed", "error")
    assert "boom" in failure["error"]
    assert 'raise ValueError("boom")' in failure["traceback"], "where the bug is"


def test_a_failed_message_about_a_url_is_named_without_its_password() -> None:
    source = PodSource("http", "https://user:secret@example.test/pods.yaml")
    described = describe(ManifestRemoved(source))
    assert "secret" not in described
    assert described.startswith("ManifestRemoved http https://")
