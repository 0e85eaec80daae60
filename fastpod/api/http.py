"""A small HTTP/1.1 server for the read-only API: h11 parses, asyncio streams carry it.

The API answers a handful of GET paths; aiohttp's server would cost the supervisor about
12 MB of memory on a node that counts every megabyte (h11: a few hundred KB), and uvicorn
serves HTTP the same way. Responses are whole bodies, or chunks streamed as they come
(followed logs); connections are kept alive between requests.

A client must send its whole request within :data:`REQUEST_TIMEOUT` seconds (of connecting,
or of the first byte of a later request on a kept-alive connection), as Go's
``ReadHeaderTimeout`` bounds it, and a server keeps a bounded number of connections
(:mod:`fastpod.api.connections`): slow clients cannot hold the supervisor's descriptors.
A request h11 cannot parse is answered as Go's server answers it, 400 (431 for a head over
h11's 16 KiB), and the connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

from fastpod import logs
from fastpod.api.connections import Connections, connection_limit

READ_SIZE = 65536
IDLE_TIMEOUT = 60.0
"""Seconds a kept-alive connection may wait for its next request."""
LINGER = 0.5
"""Seconds a refused client's data is read and thrown away before its connection closes."""
REQUEST_TIMEOUT = 10.0
"""Seconds a request (its head, and the body a GET should not have) may take to arrive."""

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One GET: its path, its query, the path's named parts, and whether the client is there."""

    path: str
    query: Mapping[str, str]
    params: Mapping[str, str]
    connected: Callable[[], bool]
    query_pairs: tuple[tuple[str, str], ...] = ()
    """Every name and value of the query, in order (``query`` keeps the last of a name)."""


@dataclass(frozen=True, slots=True)
class Response:
    """A whole answer."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"

    @classmethod
    def text(cls, status: int, text: str) -> Response:
        """A plain-text answer (error messages end with a newline, as the kubelet's do)."""
        return cls(status, text.encode())


Chunk = bytes | memoryview


@dataclass(frozen=True, slots=True)
class StreamingResponse:
    """An answer whose body is written chunk by chunk as ``chunks`` yields them."""

    chunks: AsyncGenerator[Chunk, None]
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[Request], Awaitable[Response | StreamingResponse]]


@dataclass(slots=True)
class Router:
    """GET paths (with ``{name}`` parts, one path segment each) and their handlers."""

    routes: list[tuple[re.Pattern[str], Handler]] = field(default_factory=list)

    def get(self, pattern: str, handler: Handler) -> None:
        """Answer GET ``pattern`` with ``handler``."""
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern)
        self.routes.append((re.compile(f"^{regex}$"), handler))

    async def answer(
        self, method: str, target: str, connected: Callable[[], bool]
    ) -> Response | StreamingResponse:
        """What to answer ``method target``."""
        split = urlsplit(target)
        for pattern, handler in self.routes:
            match = pattern.match(split.path)
            if match is None:
                continue
            if method not in ("GET", "HEAD"):
                return Response.text(405, f"{method} is not allowed: the API is read-only\n")
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            pairs = tuple(parse_qsl(split.query, keep_blank_values=True))
            return await handler(Request(split.path, dict(pairs), params, connected, pairs))
        return Response.text(404, f"no such path: {split.path}\n")


_TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 32\r\nConnection: close\r\n\r\ntoo many connections: try again\n"
)


async def serve(router: Router, host: str, port: int, limit: int | None = None) -> asyncio.Server:
    """Listen on ``host``:``port``, keeping at most ``limit`` connections (by default
    :func:`~fastpod.api.connections.connection_limit`); OSError if the address cannot be
    bound."""
    connections: Connections[asyncio.StreamWriter] = Connections(limit or connection_limit())
    return await asyncio.start_server(
        lambda reader, writer: _connection(router, connections, reader, writer),
        host,
        port,
        reuse_address=True,
    )


async def _connection(
    router: Router,
    connections: Connections[asyncio.StreamWriter],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    loop = asyncio.get_running_loop()
    admitted, evicted = connections.admit(writer, loop.time())
    if evicted is not None:
        evicted.transport.abort()
    if not admitted:
        writer.write(_TOO_MANY)
        await _linger(reader, writer)
        writer.close()
        return
    connection = h11.Connection(h11.SERVER)
    peer = _Peer(writer)
    first = True
    try:
        while True:
            connections.reading(writer, loop.time())
            event = await _request(connection, reader, None if first else IDLE_TIMEOUT)
            if not isinstance(event, h11.Request):
                return
            first = False
            connections.answering(writer)
            answer = await router.answer(
                event.method.decode(), event.target.decode(), peer.connected
            )
            head_only = event.method == b"HEAD"
            if isinstance(answer, StreamingResponse):
                # a streamed answer may last (a followed log): notice the client leaving,
                # and end the connection with it
                hangup = asyncio.get_running_loop().create_task(peer.until_hangup(reader))
                try:
                    await _send(connection, writer, answer, head_only=head_only)
                finally:
                    hangup.cancel()
                return
            await _send(connection, writer, answer, head_only=head_only)
            if connection.our_state is not h11.DONE or connection.their_state is not h11.DONE:
                return
            connection.start_next_cycle()
    except h11.RemoteProtocolError as error:
        if _refuse(connection, writer, error.error_status_hint):
            await _linger(reader, writer)
    except (h11.ProtocolError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        pass  # a client that hangs up, idles or is too slow: nothing to answer
    except Exception as error:  # as Go's server recovers a handler's panic
        # a bug of fastpod's: said as a log record, answered 500, never a bare traceback
        logs.emit(
            "API request failed",
            level="error",
            error=f"{type(error).__name__}: {error}",
            traceback="".join(traceback.format_exception(error)),
        )
        _refuse(connection, writer, 500)
    finally:
        connections.closed(writer)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


class _Peer:
    """The client of one connection, as far as a streamed answer can tell it is there."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._gone = False

    def connected(self) -> bool:
        """Whether the client is still there to be written to."""
        return not self._gone and not self._writer.is_closing()

    async def until_hangup(self, reader: asyncio.StreamReader) -> None:
        """Return when the client closes its side (it sends nothing while it is answered)."""
        with contextlib.suppress(ConnectionError):
            await reader.read(1)
        self._gone = True


async def _request(
    connection: h11.Connection, reader: asyncio.StreamReader, idle: float | None
) -> object:
    """The next request, read whole (a body is read and thrown away), or what ended the
    connection: within :data:`REQUEST_TIMEOUT` seconds, after a first byte that may take
    ``idle`` seconds on a kept-alive connection."""
    if idle is not None and not connection.trailing_data[0]:
        connection.receive_data(await asyncio.wait_for(reader.read(READ_SIZE), idle))
    async with asyncio.timeout(REQUEST_TIMEOUT):
        event = await _next_event(connection, reader)
        if isinstance(event, h11.Request):
            while not isinstance(await _next_event(connection, reader), h11.EndOfMessage):
                pass  # a GET has no body worth reading
        return event


def _refuse(connection: h11.Connection, writer: asyncio.StreamWriter, status: int) -> bool:
    """Answer ``status`` (400, 431 for a request h11 could not parse; 500), unless an
    answer has begun or the client is gone; whether it was answered."""
    if writer.is_closing() or connection.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return False
    body = _REASONS.get(status, b"Bad Request") + b"\n"
    headers = [
        (b"Content-Type", b"text/plain; charset=utf-8"),
        (b"Content-Length", str(len(body)).encode()),
        (b"Connection", b"close"),
    ]
    with contextlib.suppress(h11.LocalProtocolError):
        response = h11.Response(
            status_code=status, headers=headers, reason=_REASONS.get(status, b"")
        )
        writer.write(connection.send(response))
        writer.write(connection.send(h11.Data(data=body)))
        writer.write(connection.send(h11.EndOfMessage()))
        return True
    return False


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """After an answer to a request not read whole: end the writing side, and read what the
    client still sends for :data:`LINGER` seconds, so that closing with unread data (a reset)
    does not destroy the answer before the client reads it (Go's ``closeWriteAndWait``)."""
    with contextlib.suppress(OSError, RuntimeError, TimeoutError):
        if writer.can_write_eof():
            writer.write_eof()
        async with asyncio.timeout(LINGER):
            while await reader.read(READ_SIZE):
                pass


async def _next_event(connection: h11.Connection, reader: asyncio.StreamReader) -> object:
    while True:
        event = connection.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(READ_SIZE), IDLE_TIMEOUT)
        connection.receive_data(data)


async def _send(
    connection: h11.Connection,
    writer: asyncio.StreamWriter,
    answer: Response | StreamingResponse,
    *,
    head_only: bool,
) -> None:
    headers = [(b"Content-Type", answer.content_type.encode())]
    if isinstance(answer, Response):
        headers.append((b"Content-Length", str(len(answer.body)).encode()))
    else:
        headers.append((b"Connection", b"close"))
    reason = _REASONS.get(answer.status, b"")
    writer.write(
        connection.send(h11.Response(status_code=answer.status, headers=headers, reason=reason))
    )
    if isinstance(answer, Response):
        if not head_only:
            writer.write(connection.send(h11.Data(data=answer.body)))
    else:
        async with contextlib.aclosing(answer.chunks) as chunks:
            async for chunk in chunks:
                if chunk and not head_only:
                    # passed through, not joined: a chunk may be megabytes of /pods (a
                    # memoryview, which h11 only measures and hands back)
                    data = h11.Data(data=cast(bytes, chunk))
                    for piece in connection.send_with_data_passthrough(data) or ():
                        writer.write(piece)
                    await writer.drain()
    writer.write(connection.send(h11.EndOfMessage()))
    await writer.drain()
