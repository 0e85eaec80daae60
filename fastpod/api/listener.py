"""A server's listening socket, bound in the background.

A port that cannot be bound is tried again every :data:`LISTEN_RETRY` seconds, as the
kubelet retries its servers' ``ListenAndServe`` (``cmd/kubelet/app/server.go``); fastpod
keeps running its pods meanwhile. The read-only API and the health port are served so.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from fastpod import logs
from fastpod.api import http

LISTEN_RETRY = 5.0
"""Seconds between attempts to bind a port (the kubelet's ``ListenAndServe`` retry)."""


class Listener:
    """``router`` served on ``address``:``port`` once the port can be bound; ``listening``
    is told the server's URL then. ``what`` names the server in the log."""

    def __init__(
        self,
        router: http.Router,
        address: str,
        port: int,
        what: str,
        listening: Callable[[str], None],
    ) -> None:
        self.router, self.address, self.port, self.what = router, address, port, what
        self._listening = listening
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin listening (in the background, retrying while the port is taken)."""
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        """Stop listening, or trying to."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()

    async def _listen(self) -> None:
        while True:
            try:
                self._server = await http.serve(self.router, self.address, self.port)
                break
            except OSError as error:
                logs.emit(
                    f"{self.what} cannot listen",
                    level="error",
                    address=self.address,
                    port=self.port,
                    error=error.strerror or str(error),
                    retry_in=f"{LISTEN_RETRY:g}s",
                )
                await asyncio.sleep(LISTEN_RETRY)
        self._listening(url_of(self.address, self.port))


def url_of(address: str, port: int) -> str:
    """``http://address:port``, an IPv6 address in brackets."""
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"
