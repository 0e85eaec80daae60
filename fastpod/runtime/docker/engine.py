"""The Docker Engine API over its Unix socket: one aiohttp session, and calls that fail in
the runtime seam's terms.

Calls go through aiohttp on the event loop, never blocking it; the callers decode the
answers with msgspec. Streams without an end (the events, an exec's output) take the
session itself, with no total timeout.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import msgspec

from fastpod.runtime.base import RuntimeCallError, RuntimeUnavailable


class Engine:
    """The Engine API at ``socket``: a session opened at the first call, again after a close."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.UnixConnector(path=self.socket, limit=64)
            self._session = aiohttp.ClientSession(
                "http://docker", connector=connector, timeout=aiohttp.ClientTimeout(total=120)
            )
        return self._session

    async def call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 204)
    ) -> tuple[int, bytes]:
        """The answer's status and body; a status not in ``ok`` is a
        :class:`RuntimeCallError` with the Engine's message, no answer at all
        :class:`RuntimeUnavailable`."""
        data = None if body is None else msgspec.json.encode(body)
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self.session().request(method, path, data=data, headers=headers) as reply:
                payload = await reply.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise RuntimeUnavailable(f"{method} {path}: Docker unreachable: {error}") from None
        if reply.status not in ok:
            raise RuntimeCallError(f"{method} {path}: {reply.status} {message(payload)}")
        return reply.status, payload

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def message(payload: bytes) -> str:
    """The Engine's error message in an answer's body, else the body as text."""
    try:
        return str(json.loads(payload).get("message", payload.decode(errors="replace")))
    except (ValueError, AttributeError):
        return payload.decode(errors="replace").strip()
