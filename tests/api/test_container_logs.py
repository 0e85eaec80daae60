"""Container logs from the kubelet's layout: decoding Docker and CRI lines, tail, follow, HTTP."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncGenerator, Callable, Coroutine
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest

from fastpod.api import container_logs, http
from fastpod.api.container_logs import (
    BLOCK,
    LogQuery,
    choose_log,
    container_logs_response,
    log_files,
    parse_log_query,
    read_log,
)
from fastpod.runtime.logformat import decode_line, decode_lines

DATA = Path(__file__).parent.parent / "data" / "logs"
DOCKER_OUTPUT = (
    b'hello\noops\n<tags> & "quotes" tab\t\xc3\xa9\n' + b"x" * 20000 + b"\nlast words, no newline"
)
"""What the container that wrote ``docker-json-file.log`` (a real Docker 28 log) printed."""
CRI_OUTPUT = (
    b"starting\nwarning: no config, using defaults\n"
    b"a long line split by the runtime into three pieces\n\nspaces   kept\tand tabs\n"
    b"progress 10%"
)
UID = "0123456789abcdef0123456789abcdef"


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``scenario`` on a fresh event loop; the timeout only bounds a hang."""

    async def bounded() -> None:
        await asyncio.wait_for(scenario(), timeout=30)

    asyncio.run(bounded())


async def collect(path: str, **options: Any) -> bytes:
    return b"".join([chunk async for chunk in read_log(path, **options)])


def container_dir(root: Path, container: str = "web") -> Path:
    directory = root / f"default_web-node1_{UID}" / container
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def docker_line(text: str, stream: str = "stdout") -> bytes:
    return (
        f'{{"log":"{text}\\n","stream":"{stream}","time":"2026-12-01T14:00:00.000000000Z"}}\n'
    ).encode()


def cri_line(text: str) -> bytes:
    return f"2026-12-01T14:00:00.000000000Z stdout F {text}\n".encode()


def test_docker_json_file_lines_decode_to_what_the_container_wrote() -> None:
    assert decode_lines((DATA / "docker-json-file.log").read_bytes()) == DOCKER_OUTPUT


def test_cri_lines_decode_with_partial_lines_joined() -> None:
    assert decode_lines((DATA / "cri.log").read_bytes()) == CRI_OUTPUT


def test_the_format_is_told_line_by_line() -> None:
    mixed = docker_line("from docker") + b"2026-12-01T14:00:00Z stderr F from cri\n"

    assert decode_lines(mixed) == b"from docker\nfrom cri\n"


@pytest.mark.parametrize(
    "line",
    [b"plain text\n", b"{not json\n", b"2026-12-01T14:00:00Z stdin F text\n", b"a b X c\n"],
)
def test_a_line_in_neither_format_is_passed_through(line: bytes) -> None:
    assert decode_line(line) == line


def test_a_cri_tag_may_carry_more_after_a_colon() -> None:
    assert decode_line(b"2026-12-01T14:00:00Z stdout P:extra half\n") == b"half"


def test_a_carriage_return_in_a_cri_line_is_output_not_a_line_break() -> None:
    assert decode_lines(b"2026-12-01T14:00:00Z stdout F 50%\r100%\n") == b"50%\r100%\n"


def test_log_files_are_sorted_by_restart_count_and_other_names_ignored(tmp_path: Path) -> None:
    directory = container_dir(tmp_path)
    for name in ("0.log", "2.log", "10.log", "1.log.20261201-140000", "x.log", "3.log.tmp"):
        (directory / name).write_bytes(b"")

    files = log_files(str(tmp_path), "default", "web-node1", UID, "web")

    assert files == [(n, str(directory / f"{n}.log")) for n in (0, 2, 10)]


def test_the_current_log_is_the_highest_and_the_previous_the_one_before() -> None:
    files = [(0, "/0.log"), (1, "/1.log"), (2, "/2.log")]

    assert choose_log(files, previous=False) == "/2.log"
    assert choose_log(files, previous=True) == "/1.log"
    assert choose_log(files[:1], previous=True) is None
    assert choose_log([], previous=False) is None


def test_a_container_without_a_directory_has_no_log_files(tmp_path: Path) -> None:
    assert log_files(str(tmp_path), "default", "web-node1", UID, "web") == []


def test_a_whole_log_is_read() -> None:
    async def scenario() -> None:
        assert await collect(str(DATA / "cri.log"), tail=None, follow=False) == CRI_OUTPUT

    run(scenario)


@pytest.mark.parametrize(
    ("lines", "output"),
    [
        (0, b""),
        (1, b"last words, no newline"),
        (2, b"x" * 20000 + b"\nlast words, no newline"),
        (100, DOCKER_OUTPUT),
    ],
)
def test_tail_counts_lines_of_output_not_lines_of_the_file(lines: int, output: bytes) -> None:
    async def scenario() -> None:
        path = str(DATA / "docker-json-file.log")
        assert await collect(path, tail=lines, follow=False) == output

    run(scenario)


def test_tail_joins_cri_partial_lines() -> None:
    async def scenario() -> None:
        tail = await collect(str(DATA / "cri.log"), tail=4, follow=False)
        assert (
            tail
            == b"a long line split by the runtime into three pieces\n\nspaces   kept\tand tabs\n"
            + (b"progress 10%")
        )

    run(scenario)


def test_tail_of_a_big_file_reads_only_its_end_in_small_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "0.log"
    with path.open("wb") as file:
        for index in range(100_000):
            file.write(docker_line(f"line {index}"))
    reads: list[int] = []

    class CountingFile:
        def __init__(self, name: str, mode: str) -> None:
            self.file: IO[bytes] = builtins.open(name, mode)  # noqa: SIM115 (closed by __exit__)

        def __enter__(self) -> CountingFile:
            return self

        def __exit__(self, *_: object) -> None:
            self.file.close()

        def read(self, size: int) -> bytes:
            data = self.file.read(size)
            reads.append(len(data))
            return data

        def __getattr__(self, name: str) -> Any:
            return getattr(self.file, name)

    monkeypatch.setattr(container_logs, "open", CountingFile, raising=False)

    async def scenario() -> None:
        tail = await collect(str(path), tail=3, follow=False)
        assert tail == b"line 99997\nline 99998\nline 99999\n"

    run(scenario)
    assert path.stat().st_size > 50 * BLOCK
    assert max(reads) <= BLOCK
    assert sum(reads) <= 2 * BLOCK


def test_an_unfinished_last_line_is_left_out_without_follow(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(docker_line("done") + docker_line("half")[:20])

    async def scenario() -> None:
        assert await collect(str(path), tail=None, follow=False) == b"done\n"
        assert await collect(str(path), tail=5, follow=False) == b"done\n"

    run(scenario)


class Follower:
    """A followed log read in the background, with a way to wait for the reader's polls."""

    def __init__(self, path: Path, *, tail: int | None = None) -> None:
        self.path = path
        self.output = b""
        self.polls = 0
        self.current = True
        self._polled = asyncio.Event()
        self.task = asyncio.create_task(self._read(tail))

    def still_current(self) -> bool:
        self.polls += 1
        self._polled.set()
        return self.current

    async def _read(self, tail: int | None) -> None:
        async for chunk in read_log(
            str(self.path), tail=tail, follow=True, poll=0.001, still_current=self.still_current
        ):
            self.output += chunk

    async def idle(self) -> None:
        """Until the reader has found the end of the file twice since now."""
        start = self.polls
        while self.polls < start + 2:
            self._polled.clear()
            await self._polled.wait()


def test_follow_sees_appended_lines_and_waits_for_an_unfinished_one(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(docker_line("first"))

    async def scenario() -> None:
        follower = Follower(path)
        await follower.idle()
        assert follower.output == b"first\n"
        line = docker_line("second", "stderr")
        with path.open("ab") as file:
            file.write(line[:25])
            file.flush()
            await follower.idle()
            assert follower.output == b"first\n"
            file.write(line[25:])
        await follower.idle()
        assert follower.output == b"first\nsecond\n"
        follower.task.cancel()

    run(scenario)


def test_follow_ends_once_the_file_is_no_longer_current_after_a_last_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "0.log"
    path.write_bytes(docker_line("first"))

    async def scenario() -> None:
        follower = Follower(path, tail=0)
        await follower.idle()
        assert follower.output == b""
        with path.open("ab") as file:
            file.write(docker_line("last words"))
        follower.current = False
        await follower.task
        assert follower.output == b"last words\n"

    run(scenario)


@pytest.mark.parametrize("line", [docker_line, cri_line])
def test_follow_reads_on_across_a_rotation(tmp_path: Path, line: Callable[[str], bytes]) -> None:
    """The log is renamed, the writer adds a last line to the old file, then writes to a new
    one at the same path (the kubelet's rotation, Docker's json-file rotation): the
    follower sees every line once, in order."""
    path = tmp_path / "0.log"
    path.write_bytes(line("before"))

    async def scenario() -> None:
        follower = Follower(path)
        await follower.idle()
        rotated = tmp_path / "0.log.20260304-050607"
        path.rename(rotated)
        await follower.idle()  # nothing at the path for a while: the follower waits
        with rotated.open("ab") as old:
            old.write(line("written before the reopen"))
        path.write_bytes(line("after"))
        await follower.idle()
        with path.open("ab") as new:
            new.write(line("later"))
        await follower.idle()
        assert follower.output == b"before\nwritten before the reopen\nafter\nlater\n"
        follower.task.cancel()

    run(scenario)


def test_query_values_are_read_as_the_kubelet_reads_them() -> None:
    assert parse_log_query({}) == LogQuery()
    assert parse_log_query({"follow": "true", "previous": "1", "tailLines": "10"}) == LogQuery(
        follow=True, previous=True, tail_lines=10
    )
    assert parse_log_query({"follow": "False", "previous": "f", "tailLines": "0"}) == LogQuery(
        tail_lines=0
    )


@pytest.mark.parametrize(
    "query", [{"tailLines": "-1"}, {"tailLines": "ten"}, {"tailLines": ""}, {"follow": "maybe"}]
)
def test_bad_query_values_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"^(tailLines|follow) must be"):
        parse_log_query(query)


class LogServer:
    """``container_logs_response`` behind fastpod's HTTP server, as the API mounts it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.running = True
        self.finished = asyncio.Event()

    async def handle(self, request: http.Request) -> http.Response | http.StreamingResponse:
        response = container_logs_response(
            request.query,
            request.connected,
            str(self.root),
            request.params["namespace"],
            request.params["name"],
            UID,
            request.params["container"],
            container_running=lambda: self.running,
        )
        if isinstance(response, http.Response):
            self.finished.set()
            return response
        return http.StreamingResponse(self._noting_the_end(response.chunks))

    async def _noting_the_end(
        self, chunks: AsyncGenerator[http.Chunk, None]
    ) -> AsyncGenerator[http.Chunk, None]:
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()
            self.finished.set()

    async def client(self) -> Client:
        router = http.Router()
        router.get("/containerLogs/{namespace}/{name}/{container}", self.handle)
        server = await http.serve(router, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        return Client(server, aiohttp.ClientSession(f"http://127.0.0.1:{port}"))


class Client:
    """An aiohttp client session on the test server, closing both."""

    def __init__(self, server: asyncio.Server, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session

    async def get(self, path: str) -> aiohttp.ClientResponse:
        return await self.session.get(path)

    async def close(self) -> None:
        await self.session.close()
        self.server.close()


def serve_logs(
    tmp_path: Path, scenario: Callable[[Client, LogServer], Coroutine[Any, Any, None]]
) -> None:
    async def main() -> None:
        server = LogServer(tmp_path)
        client = await server.client()
        try:
            await scenario(client, server)
        finally:
            await client.close()

    run(main)


def test_the_current_log_is_served_as_plain_text(tmp_path: Path) -> None:
    (container_dir(tmp_path) / "0.log").symlink_to(DATA / "docker-json-file.log")

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web")
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.read() == DOCKER_OUTPUT
        tail = await client.get("/containerLogs/default/web-node1/web?tailLines=1")
        assert await tail.read() == b"last words, no newline"

    serve_logs(tmp_path, scenario)


def test_previous_serves_the_instance_before_the_current_one(tmp_path: Path) -> None:
    directory = container_dir(tmp_path)
    (directory / "0.log").write_bytes(docker_line("old instance"))
    (directory / "1.log").write_bytes(docker_line("new instance"))

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?previous=true")
        assert await response.read() == b"old instance\n"

    serve_logs(tmp_path, scenario)


@pytest.mark.parametrize(
    ("files", "query", "message"),
    [
        ((), "", "no logs for container web of pod default/web-node1 yet\n"),
        (
            ("0.log",),
            "?previous=true",
            "no previous logs for container web of pod default/web-node1 yet\n",
        ),
    ],
)
def test_a_container_without_its_log_file_is_404(
    tmp_path: Path, files: tuple[str, ...], query: str, message: str
) -> None:
    for name in files:
        (container_dir(tmp_path) / name).write_bytes(docker_line("only one"))

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get(f"/containerLogs/default/web-node1/web{query}")
        assert (response.status, await response.text()) == (404, message)

    serve_logs(tmp_path, scenario)


def test_a_log_link_whose_target_is_gone_is_404(tmp_path: Path) -> None:
    (container_dir(tmp_path) / "0.log").symlink_to(tmp_path / "removed-json.log")

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web")
        assert response.status == 404

    serve_logs(tmp_path, scenario)


def test_a_bad_query_is_400_with_the_reason(tmp_path: Path) -> None:
    (container_dir(tmp_path) / "0.log").write_bytes(docker_line("hello"))

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?tailLines=-3")
        assert response.status == 400
        assert "tailLines must be an integer >= 0" in await response.text()

    serve_logs(tmp_path, scenario)


def test_a_followed_log_streams_and_ends_when_the_container_restarts(tmp_path: Path) -> None:
    directory = container_dir(tmp_path)
    (directory / "0.log").write_bytes(docker_line("first"))

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?follow=true")
        assert await response.content.readexactly(6) == b"first\n"
        with (directory / "0.log").open("ab") as file:
            file.write(docker_line("second"))
        assert await response.content.readexactly(7) == b"second\n"
        (directory / "1.log").write_bytes(docker_line("next instance"))
        assert await response.read() == b""

    serve_logs(tmp_path, scenario)


def test_a_followed_log_goes_on_while_its_file_is_rotated_away_and_not_yet_reopened(
    tmp_path: Path,
) -> None:
    directory = container_dir(tmp_path)
    (directory / "0.log").write_bytes(docker_line("before"))

    async def scenario(client: Client, _: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?follow=true")
        assert await response.content.readexactly(7) == b"before\n"
        # the kubelet's rotation of a CRI log: renamed, then the runtime reopens the path
        (directory / "0.log").rename(directory / "0.log.20261203-120000")
        await asyncio.sleep(0.5)  # polls that find no current file
        (directory / "0.log").write_bytes(docker_line("after"))
        assert await response.content.readexactly(6) == b"after\n"

    serve_logs(tmp_path, scenario)


def test_a_followed_log_ends_when_its_container_stops_running(tmp_path: Path) -> None:
    (container_dir(tmp_path) / "0.log").write_bytes(docker_line("done"))

    async def scenario(client: Client, server: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?follow=true")
        assert await response.content.readexactly(5) == b"done\n"
        server.running = False
        assert await response.read() == b""

    serve_logs(tmp_path, scenario)


def test_a_client_hanging_up_ends_a_followed_log_without_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (container_dir(tmp_path) / "0.log").write_bytes(docker_line("hello"))

    async def scenario(client: Client, server: LogServer) -> None:
        response = await client.get("/containerLogs/default/web-node1/web?follow=true")
        assert await response.content.readexactly(6) == b"hello\n"
        response.close()
        await server.finished.wait()

    with caplog.at_level(logging.DEBUG):
        serve_logs(tmp_path, scenario)
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
