"""``/healthz``, and the kubelet's health server that serves it on ``healthzBindAddress``:
``healthzPort`` (127.0.0.1:10248), apart from the read-only API and on by default.

The kubelet starts that server whenever ``healthzPort`` is above 0 and retries its
``ListenAndServe`` every 5 s (``cmd/kubelet/app/server.go``); fastpod does the same, and
keeps running its pods meanwhile. The read-only API answers ``/healthz`` with the same
routes. What the checks mean and how the answer reads: :mod:`fastpod.health`.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastpod import logs
from fastpod.api import http
from fastpod.api.http import Request, Response
from fastpod.config.settings import Config
from fastpod.health import CHECKS, check_answer, healthz_answer
from fastpod.supervisor.queries import Children

LISTEN_RETRY = 5.0
"""Seconds between attempts to bind a port (the kubelet's ``ListenAndServe`` retry)."""


def add_healthz_routes(router: http.Router, processes: Children) -> None:
    """``/healthz`` and ``/healthz/<check>``, answered from what every process says now."""

    async def healthz(request: Request) -> Response:
        problems = await processes.problems()
        excluded = frozenset(value for name, value in request.query_pairs if name == "exclude")
        status, body = healthz_answer(
            problems, verbose="verbose" in request.query, excluded=excluded
        )
        return Response.text(status, body)

    async def one_check(request: Request) -> Response:
        check = request.params["check"]
        if check not in CHECKS:
            return Response.text(404, "404 page not found\n")
        return Response.text(*check_answer(check, await processes.problems()))

    router.get("/healthz", healthz)
    router.get("/healthz/{check}", one_check)


async def listen(router: http.Router, address: str, port: int, what: str) -> asyncio.Server:
    """Serve ``router`` on ``address``:``port``, trying again every :data:`LISTEN_RETRY`
    while the port cannot be bound (``what`` names the server in the log)."""
    while True:
        try:
            return await http.serve(router, address, port)
        except OSError as error:
            logs.emit(
                f"{what} cannot listen",
                level="error",
                address=address,
                port=port,
                error=error.strerror or str(error),
                retry_in=f"{LISTEN_RETRY:g}s",
            )
            await asyncio.sleep(LISTEN_RETRY)


def url_of(address: str, port: int) -> str:
    """``http://address:port``, an IPv6 address in brackets."""
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


class HealthServer:
    """The health port: ``/healthz`` alone, started and stopped with fastpod."""

    def __init__(self, config: Config, processes: Children) -> None:
        self.address, self.port = config.healthz_bind_address, config.healthz_port
        self.router = http.Router()
        add_healthz_routes(self.router, processes)
        self._server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin listening (in the background, retrying while the port is taken)."""
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        self._server = await listen(self.router, self.address, self.port, "health server")
        logs.emit("health server listening", url=url_of(self.address, self.port) + "/healthz")

    async def close(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._server is not None:
            self._server.close()
