"""``/containerLogs``: a container's output, read from the kubelet's log layout.

The file is ``<pod logs dir>/<ns>_<pod>_<uid>/<container>/<N>.log`` (the highest N is the
running instance, the one before it the previous), a link to what the runtime writes:
Docker's json-file lines or CRI lines, told apart line by line. Reads are at most 64 KiB
each and happen on the event loop, so one big log never holds it for long; ``tail`` reads
the file backwards from its end, and ``follow`` polls for appended lines until a newer
instance's file appears, as ``kubectl logs -f`` ends when its container ends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from fastpod.api.http import Response, StreamingResponse
from fastpod.runtime.logformat import decode_line, decode_lines

BLOCK = 64 * 1024
"""The most one read takes from a log file."""

_TRUE = ("", "1", "t", "true")
_FALSE = ("0", "f", "false")


def log_files(
    pod_logs_dir: str, namespace: str, name: str, uid: str, container: str
) -> list[tuple[int, str]]:
    """The container's ``N.log`` files as ``(N, path)``, by N; none if it has no directory."""
    directory = os.path.join(pod_logs_dir, f"{namespace}_{name}_{uid}", container)
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    counts = (entry[:-4] for entry in entries if entry.endswith(".log"))
    return sorted(
        (int(count), os.path.join(directory, f"{count}.log"))
        for count in counts
        if count.isascii() and count.isdigit()
    )


def choose_log(files: Sequence[tuple[int, str]], *, previous: bool) -> str | None:
    """The current instance's file (highest N), or the previous one's (the one before)."""
    wanted = 2 if previous else 1
    return files[-wanted][1] if len(files) >= wanted else None


async def read_log(
    path: str,
    *,
    tail: int | None,
    follow: bool,
    poll: float = 0.1,
    still_current: Callable[[], bool] | None = None,
) -> AsyncGenerator[bytes, None]:
    """The container output ``path`` holds: all of it or its last ``tail`` lines, then,
    with ``follow``, what is appended until ``still_current()`` turns False.

    A log line is read only once its newline is written: an unfinished last line is
    waited for while following, and left out otherwise.
    """
    with open(path, "rb") as file:
        end = os.fstat(file.fileno()).st_size
        offset = 0
        if tail is not None:
            output, offset = await _tail(file, end, tail)
            if output:
                yield output
        chunks = _forward(file, offset, None if follow else end, poll, still_current, path)
        async for output in chunks:
            yield output


async def _tail(file: BinaryIO, end: int, lines: int) -> tuple[bytes, int]:
    """The last ``lines`` lines of output before ``end``, and where the whole log lines end.

    Blocks are read backwards until enough output lines are seen; an output line split
    over several log lines (long lines, CRI partials) counts once.
    """
    position = end
    carry = b""
    complete_end: int | None = None
    pieces: list[bytes] = []
    wanted: int | None = None
    newlines = 0
    while position > 0 and (wanted is None or newlines < wanted):
        start = max(0, position - BLOCK)
        file.seek(start)
        data = file.read(position - start) + carry
        position = start
        split = data.split(b"\n")
        if complete_end is None:
            unfinished = split.pop()
            if not split:
                await asyncio.sleep(0)
                continue
            complete_end = start + len(data) - len(unfinished)
        carry = split.pop(0) if position > 0 else b""
        for line in reversed(split):
            output = decode_line(line)
            if output and wanted is None:
                wanted = lines + 1 if output.endswith(b"\n") else lines
            if lines:
                pieces.append(output)
            newlines += output.count(b"\n")
        await asyncio.sleep(0)
    if complete_end is None or not lines:
        return b"", complete_end or 0
    output = b"".join(reversed(pieces))
    cut = len(output)
    for _ in range(wanted or 0):
        cut = output.rfind(b"\n", 0, cut)
        if cut < 0:
            return output, complete_end
    return output[cut + 1 :], complete_end


async def _forward(
    file: BinaryIO,
    offset: int,
    end: int | None,
    poll: float,
    still_current: Callable[[], bool] | None,
    path: str | None = None,
) -> AsyncIterator[bytes]:
    """Output from ``offset`` to ``end``, or on and on while ``still_current()`` holds.

    Without ``end`` or ``still_current`` it follows until cancelled. Once ``still_current``
    turns False the file is read to its end a last time: a container's final words are
    written before its successor's file appears. While following, a log rotated away from
    ``path`` (renamed, and a new file opened there: the kubelet's rotation of a CRI
    runtime's logs, Docker's json-file rotation) is read to its end, then the new file
    from its start, as the kubelet's ``ReadLogs`` follows a rotation.
    """
    file.seek(offset)
    current = file
    successor: BinaryIO | None = None
    pending = b""
    last_look = False
    try:
        while True:
            size = BLOCK if end is None else min(BLOCK, end - current.tell())
            block = current.read(size) if size > 0 else b""
            if block:
                data = pending + block
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                if output := decode_lines(data[:cut]):
                    yield output
                else:
                    await asyncio.sleep(0)
                continue
            if end is not None or last_look:
                return
            if successor is not None:
                # the rotated file is read to its end: go on with the one that replaced it
                if current is not file:
                    current.close()
                current, successor, pending = successor, None, b""
                continue
            if path is not None and (successor := _successor(current, path)) is not None:
                continue  # what was written to the old file meanwhile comes first
            if still_current is not None and not still_current():
                last_look = True
                continue
            await asyncio.sleep(poll)
    finally:
        for opened in (current, successor):
            if opened is not None and opened is not file:
                opened.close()


def _successor(file: BinaryIO, path: str) -> BinaryIO | None:
    """The file now at ``path``, opened, when it is not ``file`` any more (the log was
    rotated); None while it is, or while nothing is there yet."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return None  # renamed away, not reopened yet
    held = os.fstat(file.fileno())
    if (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino):
        return None
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class LogQuery:
    """The kubelet's ``/containerLogs`` query parameters fastpod honours."""

    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None


def parse_log_query(query: Mapping[str, str]) -> LogQuery:
    """``follow``, ``previous`` (true/false, 1/0, t/f) and ``tailLines`` (an integer ≥ 0).

    Raises ValueError, with the message for a 400 answer, for any other value.
    """
    tail = query.get("tailLines")
    if tail is not None and not (tail.isascii() and tail.isdigit()):
        raise ValueError(f"tailLines must be an integer >= 0, not {tail!r}")
    return LogQuery(
        follow=_flag(query, "follow"),
        previous=_flag(query, "previous"),
        tail_lines=int(tail) if tail is not None else None,
    )


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name)
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}")


def container_logs_response(
    query: Mapping[str, str],
    connected: Callable[[], bool],
    pod_logs_dir: str,
    namespace: str,
    name: str,
    uid: str,
    container: str,
    *,
    container_running: Callable[[], bool] | None = None,
) -> Response | StreamingResponse:
    """The answer to ``GET /containerLogs/{namespace}/{pod}/{container}``: text/plain output.

    400 for a bad query, 404 when the container has no log file (yet). A followed log ends
    when the container is restarted, when ``container_running()`` (if given) turns False,
    or when the client hangs up (``connected()`` turns False).
    """
    try:
        options = parse_log_query(query)
    except ValueError as error:
        return Response.text(400, f"{error}\n")
    path = choose_log(
        log_files(pod_logs_dir, namespace, name, uid, container), previous=options.previous
    )
    if path is None or not os.path.exists(path):
        which = "previous logs" if options.previous else "logs"
        return Response.text(
            404, f"no {which} for container {container} of pod {namespace}/{name} yet\n"
        )

    def still_current() -> bool:
        if not connected():
            return False
        if container_running is not None and not container_running():
            return False
        files = log_files(pod_logs_dir, namespace, name, uid, container)
        current = choose_log(files, previous=False)
        # none while a CRI log is rotated (renamed away, not reopened yet): still ours
        return current is None or current == path

    chunks = read_log(
        path,
        tail=options.tail_lines,
        follow=options.follow and not options.previous,
        still_current=still_current,
    )
    return StreamingResponse(chunks)
