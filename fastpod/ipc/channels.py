"""Framed message streams between fastpod's processes, over Unix sockets.

A process listens on one socket (its :class:`Inbox`) and keeps one :class:`Outbox` per
peer. An outbox queues while its peer is down and reconnects by itself, so a restarted
process is fed again without anyone noticing; what was in flight when a peer died is
resent by the resync that follows its restart. Each frame is a batch of messages: a
burst of thousands of events costs a few hundred writes, not thousands.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import struct
import traceback
from collections.abc import Callable, Iterable, Sequence

import msgspec

from fastpod import logs
from fastpod.ipc.messages import Message

_HEADER = struct.Struct("!I")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[Message])
RECONNECT_DELAY = 0.02

Receiver = Callable[[list[Message]], None]


def encode_frame(messages: Sequence[Message]) -> bytes:
    """One length-prefixed frame holding ``messages``."""
    body = _encoder.encode(messages)
    return _HEADER.pack(len(body)) + body


def handle_each(messages: Iterable[Message], handle: Callable[[Message], None]) -> None:
    """Hand each of ``messages`` to ``handle``, in order. One that raises costs only itself:
    it is logged, naming it, with the traceback a bug needs, and the rest of its batch is
    handled as if it were not there."""
    for message in messages:
        try:
            handle(message)
        except Exception as error:
            logs.emit(
                "message handling failed",
                level="error",
                message=describe(message),
                error=repr(error),
                traceback="".join(traceback.format_exception(error)),
            )


def describe(message: Message) -> str:
    """The kind of ``message`` and what it is about (a pod or a source), never its body."""
    about = getattr(message, "pod_key", None)
    source = getattr(message, "source", None)
    if about is None and source is not None:
        about = f"{source.kind} {source.location}"
    kind = type(message).__name__
    return kind if about is None else logs.without_userinfo(f"{kind} {about}")


class Inbox:
    """A listening socket that hands every batch it receives to ``receive``, in order."""

    def __init__(self, path: str, receive: Receiver) -> None:
        self.path = path
        self._receive = receive
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen; a stale socket file from a killed predecessor is replaced."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._serve, self.path)

    async def close(self) -> None:
        """Stop listening and drop the connections of the peers."""
        if self._server is not None:
            self._server.close()
        for handler in self._handlers:
            handler.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            while True:
                header = await reader.readexactly(_HEADER.size)
                (length,) = _HEADER.unpack(header)
                try:
                    messages = _decoder.decode(await reader.readexactly(length))
                except msgspec.DecodeError as error:
                    logs.emit("malformed message, peer dropped", level="error", error=str(error))
                    return
                try:
                    self._receive(messages)
                except Exception as error:
                    # a bug outside any one message (receivers use handle_each) must not
                    # cut the peer off from every later batch
                    logs.emit("message handling failed", level="error", error=repr(error))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # closing: this connection ends with the process
            pass
        finally:
            self._handlers.discard(handler)
            writer.close()


class Outbox:
    """Batches for one peer, written in order, reconnecting whenever the peer restarts."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._frames: collections.deque[bytes] = collections.deque()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def send(self, messages: Sequence[Message]) -> None:
        """Queue ``messages`` as one frame; never blocks."""
        if not messages:
            return
        self._frames.append(encode_frame(messages))
        self._ready.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def pending(self) -> int:
        """Frames queued and not yet written."""
        return len(self._frames)

    async def close(self) -> None:
        """Stop writing; queued frames are dropped."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while True:
            await self._ready.wait()
            # cleared before writing: a frame queued while draining sets it again
            self._ready.clear()
            if connection is not None and _peer_gone(*connection):
                connection[1].close()
                connection = None
            if connection is None:
                connection = await self._connect()
            writer = connection[1]
            try:
                while self._frames:
                    writer.write(self._frames[0])
                    self._frames.popleft()
                    if writer.transport.get_write_buffer_size() > 1 << 20:
                        await writer.drain()
                await writer.drain()
            except (ConnectionError, OSError):
                writer.close()
                connection = None
                self._ready.set()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while True:
            try:
                return await asyncio.open_unix_connection(self.path)
            except (FileNotFoundError, ConnectionError, OSError):
                await asyncio.sleep(RECONNECT_DELAY)


def _peer_gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    # A peer never writes back, so end-of-file means it has died; writes to a dead
    # transport are dropped without an error, so this is the only way to know.
    return reader.at_eof() or writer.is_closing()
