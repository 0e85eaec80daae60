"""A command run in a container through the Engine's exec instances (exec probes and hooks).

An exec instance is created, started attached and its multiplexed output read to the end,
then its exit code read. Docker cannot kill an exec: one that times out goes on running in
the container until it ends by itself (dockershim left it so too, and the kubelet only
reports the probe failed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import quote

import aiohttp
import msgspec

from fastpod.runtime.base import (
    MAX_EXEC_OUTPUT,
    ExecResult,
    ExecTimeout,
    RuntimeCallError,
    RuntimeUnavailable,
    combined_output,
)
from fastpod.runtime.docker.engine import Engine, message

EXEC_EXIT_POLL = 0.005
"""Seconds between asking whether an exec whose output has ended has exited."""

_STDOUT, _STDERR = 1, 2
"""The stream a frame of an exec's multiplexed output belongs to (its header's first byte)."""


class _ExecCreated(msgspec.Struct):
    Id: str


class _ExecInspect(msgspec.Struct):
    Running: bool = False
    ExitCode: int | None = None


_exec_created = msgspec.json.Decoder(_ExecCreated)
_exec_inspect = msgspec.json.Decoder(_ExecInspect)
_EXEC_START = msgspec.json.encode({"Detach": False, "Tty": False})


async def exec_command(
    engine: Engine, container_id: str, command: Sequence[str], timeout: float
) -> ExecResult:
    """Run ``command`` in the container; the timeout bounds the three calls (0: nothing
    does)."""
    try:
        async with asyncio.timeout(timeout if timeout > 0 else None):
            return await _exec(engine, container_id, command)
    except TimeoutError:
        raise ExecTimeout(command, timeout) from None


async def _exec(engine: Engine, container_id: str, command: Sequence[str]) -> ExecResult:
    body = {"AttachStdout": True, "AttachStderr": True, "Cmd": list(command)}
    path = f"/containers/{quote(container_id)}/exec"
    status, payload = await engine.call("POST", path, body, ok=(201, 404, 409))
    if status != 201:
        # 404: no such container; 409: it is not running (or paused)
        raise RuntimeCallError(f"exec in container {container_id}: {message(payload)}")
    exec_id = _exec_created.decode(payload).Id
    stdout, stderr = await _exec_output(engine, exec_id)
    while True:
        _, payload = await engine.call("GET", f"/exec/{exec_id}/json")
        state = _exec_inspect.decode(payload)
        if not state.Running and state.ExitCode is not None:
            return ExecResult(state.ExitCode, combined_output(stdout, stderr))
        # the output can end a moment before the Engine records the exit
        await asyncio.sleep(EXEC_EXIT_POLL)


async def _exec_output(engine: Engine, exec_id: str) -> tuple[bytes, bytes]:
    """The exec's standard output and error, each cut to :data:`MAX_EXEC_OUTPUT` bytes;
    what is beyond is read and dropped, so that the command never blocks on a full pipe."""
    path = f"/exec/{exec_id}/start"
    streams = {_STDOUT: bytearray(), _STDERR: bytearray()}
    try:
        async with engine.session().post(
            path,
            data=_EXEC_START,
            headers={"Content-Type": "application/json"},
            # the caller's timeout bounds it, or nothing does (a hook's exec)
            timeout=aiohttp.ClientTimeout(total=None),
        ) as reply:
            if reply.status != 200:
                text = message(await reply.read())
                raise RuntimeCallError(f"POST {path}: {reply.status} {text}")
            content = reply.content
            while True:
                try:
                    header = await content.readexactly(8)
                    frame = await content.readexactly(int.from_bytes(header[4:], "big"))
                except asyncio.IncompleteReadError:
                    break
                kept = streams.get(header[0])
                if kept is not None and len(kept) < MAX_EXEC_OUTPUT:
                    kept += frame[: MAX_EXEC_OUTPUT - len(kept)]
    except (aiohttp.ClientError, OSError) as error:
        raise RuntimeUnavailable(f"POST {path}: Docker unreachable: {error}") from None
    return bytes(streams[_STDOUT]), bytes(streams[_STDERR])
