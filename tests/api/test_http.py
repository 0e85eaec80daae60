"""fastpod's small HTTP server: routes, keep-alive, streamed answers, clients that misbehave."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncGenerator, Callable, Coroutine
from typing import Any

from fastpod.api import http as api_http


def serving(router: api_http.Router, scenario: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    async def main() -> None:
        server = await api_http.serve(router, "127.0.0.1", 0)
        try:
            await asyncio.wait_for(scenario(server.sockets[0].getsockname()[1]), 30)
        finally:
            server.close()

    asyncio.run(main())


async def fetch(port: int, *requests: tuple[str, str]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``requests`` (method, target) on one connection, in a thread: http.client blocks."""

    def blocking() -> list[tuple[int, dict[str, str], bytes]]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        answers = []
        for method, target in requests:
            connection.request(method, target)
            reply = connection.getresponse()
            answers.append((reply.status, dict(reply.getheaders()), reply.read()))
        connection.close()
        return answers

    return await asyncio.to_thread(blocking)


def echo_router() -> api_http.Router:
    async def echo(request: api_http.Request) -> api_http.Response:
        text = f"{request.params['name']}|{sorted(request.query.items())}"
        return api_http.Response.text(200, text)

    router = api_http.Router()
    router.get("/things/{name}", echo)
    return router


def test_path_parts_and_query_reach_the_handler_decoded() -> None:
    async def scenario(port: int) -> None:
        ((status, _, body),) = await fetch(port, ("GET", "/things/a%20b?x=1&flag"))
        assert (status, body) == (200, b"a b|[('flag', ''), ('x', '1')]")

    serving(echo_router(), scenario)


def test_several_requests_share_one_kept_alive_connection() -> None:
    async def scenario(port: int) -> None:
        answers = await fetch(port, ("GET", "/things/one"), ("GET", "/things/two"))
        assert [body.split(b"|")[0] for _, _, body in answers] == [b"one", b"two"]

    serving(echo_router(), scenario)


def test_an_unknown_path_is_404_and_a_write_is_405() -> None:
    async def scenario(port: int) -> None:
        missing, posted = await fetch(port, ("GET", "/nothing"), ("POST", "/things/x"))
        assert (missing[0], missing[2]) == (404, b"no such path: /nothing\n")
        assert posted[0] == 405

    serving(echo_router(), scenario)


def test_a_streamed_answer_is_chunked_and_ends_its_connection() -> None:
    async def stream(request: api_http.Request) -> api_http.StreamingResponse:
        async def chunks() -> AsyncGenerator[api_http.Chunk, None]:
            yield b"one,"
            yield memoryview(b"[two]")[1:-1]

        return api_http.StreamingResponse(chunks(), content_type="application/json")

    router = api_http.Router()
    router.get("/stream", stream)

    async def scenario(port: int) -> None:
        ((status, headers, body),) = await fetch(port, ("GET", "/stream"))
        assert (status, body) == (200, b"one,two")
        assert headers["Transfer-Encoding"] == "chunked"
        assert headers["Connection"] == "close"
        assert headers["Content-Type"] == "application/json"

    serving(router, scenario)


def test_a_client_leaving_a_stream_is_noticed_and_the_stream_closed() -> None:
    ended = asyncio.Event()

    async def endless(request: api_http.Request) -> api_http.StreamingResponse:
        async def chunks() -> AsyncGenerator[api_http.Chunk, None]:
            try:
                yield b"first\n"
                while request.connected():
                    await asyncio.sleep(0.01)
            finally:
                ended.set()

        return api_http.StreamingResponse(chunks())

    router = api_http.Router()
    router.get("/follow", endless)

    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /follow HTTP/1.1\r\nHost: x\r\n\r\n")
        await reader.readuntil(b"first\n")
        writer.close()
        await ended.wait()

    serving(router, scenario)


def test_a_client_that_speaks_no_http_is_answered_400_and_others_are_served() -> None:
    """As Go's server answers a request it cannot parse, then closes the connection."""

    async def scenario(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\x16\x03\x01 this is TLS, not HTTP\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 400 Bad Request\r\n")
        writer.close()
        ((status, _, _),) = await fetch(port, ("GET", "/things/still"))
        assert status == 200

    serving(echo_router(), scenario)
