"""``/healthz``, and the kubelet's health server that serves it on ``healthzBindAddress``:
``healthzPort`` (127.0.0.1:10248), apart from the read-only API and on by default.

The kubelet starts that server whenever ``healthzPort`` is above 0 and retries its
``ListenAndServe`` every 5 s (``cmd/kubelet/app/server.go``); fastpod does the same
(:mod:`fastpod.api.listener`), and keeps running its pods meanwhile. The read-only API
answers ``/healthz`` with the same routes. What the checks mean and how the answer reads:
:mod:`fastpod.health`.
"""

from __future__ import annotations

from fastpod import logs
from fastpod.api import http
from fastpod.api.http import Request, Response
from fastpod.api.listener import Listener
from fastpod.config.settings import Config
from fastpod.health import CHECKS, check_answer, healthz_answer
from fastpod.supervisor.queries import Children


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


class HealthServer:
    """The health port: ``/healthz`` alone, started and stopped with fastpod."""

    def __init__(self, config: Config, processes: Children) -> None:
        router = http.Router()
        add_healthz_routes(router, processes)
        self._listener = Listener(
            router,
            config.healthz_bind_address,
            config.healthz_port,
            "health server",
            lambda url: logs.emit("health server listening", url=url + "/healthz"),
        )

    def start(self) -> None:
        """Begin listening (in the background, retrying while the port is taken)."""
        self._listener.start()

    async def close(self) -> None:
        """Stop listening."""
        await self._listener.close()
