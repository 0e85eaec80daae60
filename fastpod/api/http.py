"""A small HTTP/1.1 server for the read-only API: h11 parses, asyncio streams carry it.

The API answers a handful of GET paths; aiohttp's server would cost the supervisor about
12 MB of memory on a node that counts every megabyte (h11: a few hundred KB), and uvicorn
serves HTTP the same way. Responses are whole bodies, or chunks streamed as they come
(followed logs); connections are kept alive between requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import parse_qsl, unquote, urlsplit

import h11

READ_SIZE = 65536
IDLE_TIMEOUT = 60.0
"""Seconds a kept-alive connection may wait for its next request."""

_REASONS = {
    200: b"OK",
    400: b"Bad Request",
    404: b"Not Found",
    405: b"Method Not Allowed",
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


async def serve(router: Router, host: str, port: int) -> asyncio.Server:
    """Listen on ``host``:``port``; OSError if the address cannot be bound."""
    return await asyncio.start_server(
        lambda reader, writer: _connection(router, reader, writer), host, port, reuse_address=True
    )


async def _connection(
    router: Router, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    connection = h11.Connection(h11.SERVER)
    peer = _Peer(writer)
    try:
        while True:
            event = await _next_event(connection, reader)
            if not isinstance(event, h11.Request):
                return
            while not isinstance(await _next_event(connection, reader), h11.EndOfMessage):
                pass  # a GET has no body worth reading
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
    except (h11.ProtocolError, ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        pass  # a client that speaks no HTTP, hangs up or idles: nothing to answer
    finally:
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
