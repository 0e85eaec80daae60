"""The read-only API on ``--address``:``--read-only-port``, served by the supervisor.

The kubelet's paths, answered from what the workers and the watcher say when asked:
``/pods`` (a v1 PodList of the static pods with live status), ``/healthz``, ``/metrics``
and ``/containerLogs/{namespace}/{pod}/{container}``; fastpod adds
``/fastpod/v1/pods/{namespace}/{name}`` for ``fastpod inspect``. A port that cannot be
bound is retried every 5 s, as the kubelet retries its servers; fastpod keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass

import msgspec
from aiohttp import web

from fastpod import logs
from fastpod.api import container_logs, prometheus
from fastpod.api.discovery import ApiRecord, remove_record, write_record
from fastpod.api.queries import ANSWER_TIMEOUT, Children
from fastpod.config import Config
from fastpod.messages import StatusAnswer, shard_of
from fastpod.metrics import gauge, recorder

FOLLOW_CHECK = 1.0
"""Seconds between looks at a followed container's state: its log ends when it stops."""

LISTEN_RETRY = 5.0
"""Seconds between attempts to bind the port (the kubelet's ``ListenAndServe`` retry)."""

_LIST_HEAD = b'{"kind":"PodList","apiVersion":"v1","metadata":{},"items":['


class _Metadata(msgspec.Struct):
    uid: str = ""


class _Container(msgspec.Struct):
    name: str = ""


class _Spec(msgspec.Struct):
    containers: list[_Container] = []
    initContainers: list[_Container] = []


class _ContainerStatus(msgspec.Struct):
    name: str = ""
    state: dict[str, object] = {}


class _Status(msgspec.Struct):
    containerStatuses: list[_ContainerStatus] = []
    initContainerStatuses: list[_ContainerStatus] = []


class _Pod(msgspec.Struct):
    metadata: _Metadata = msgspec.field(default_factory=_Metadata)
    spec: _Spec = msgspec.field(default_factory=_Spec)
    status: _Status = msgspec.field(default_factory=_Status)

    def running(self, container: str) -> bool:
        """Whether the status says ``container`` runs now."""
        statuses = (*self.status.initContainerStatuses, *self.status.containerStatuses)
        return any(s.name == container and "running" in s.state for s in statuses)


class _Inspection(msgspec.Struct):
    pod: _Pod


_inspection = msgspec.json.Decoder(_Inspection)


class ApiServer:
    """The aiohttp application and the listening socket, started and stopped with fastpod."""

    def __init__(self, config: Config, processes: Children) -> None:
        self.config = config
        self.processes = processes
        self.url: str | None = None
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin listening (in the background, retrying while the port is taken)."""
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        """Stop listening and withdraw the record the CLI finds the server by."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._runner is not None:
            await self._runner.cleanup()
        remove_record(self.config.root_dir, os.getpid())

    def application(self) -> web.Application:
        """The routes, for the listening socket and for tests."""
        app = web.Application()
        app.router.add_get("/pods", self.pods)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_get("/fastpod/v1/pods/{namespace}/{name}", self.inspect)
        app.router.add_get("/containerLogs/{namespace}/{name}/{container}", self.container_logs)
        return app

    async def _listen(self) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None, handle_signals=False)
        await self._runner.setup()
        address, port = self.config.address, self.config.read_only_port
        while True:
            site = web.TCPSite(self._runner, address, port, reuse_address=True)
            try:
                await site.start()
                break
            except OSError as error:
                logs.emit(
                    "API cannot listen",
                    level="error",
                    address=address,
                    port=port,
                    error=error.strerror or str(error),
                    retry_in=f"{LISTEN_RETRY:g}s",
                )
                await asyncio.sleep(LISTEN_RETRY)
        host = f"[{address}]" if ":" in address else address
        self.url = f"http://{host}:{port}"
        write_record(self.config.root_dir, ApiRecord(self.url, os.getpid()))
        logs.emit("API listening", url=self.url)

    async def pods(self, request: web.Request) -> web.Response:
        """``GET /pods``: the PodList of every static pod, with its status."""
        workers = self.processes.workers
        answers = await self.processes.queries.ask(workers, pods=True)
        missing = [name for name in workers if name not in answers]
        if missing:
            return _unavailable(missing)
        items = [answers[name].pods[1:-1] for name in workers if len(answers[name].pods) > 2]
        body = _LIST_HEAD + b",".join(items) + b"]}"
        return web.Response(body=body, content_type="application/json")

    async def healthz(self, request: web.Request) -> web.Response:
        """``GET /healthz``: ``ok`` while every process answers and can sync its pods."""
        problems = await self.processes.problems()
        if problems:
            return web.Response(status=500, text="\n".join(problems) + "\n")
        return web.Response(text="ok")

    async def metrics(self, request: web.Request) -> web.Response:
        """``GET /metrics``: the kubelet's metric names where it has one, ``fastpod_*`` else."""
        pids = self.processes.pids()
        running = {name: pid for name, pid in pids.items() if pid is not None}
        answers = await self.processes.queries.ask(list(running))
        own = [
            gauge("kubelet_node_name", 1, node=self.config.node_name),
            *prometheus.process_samples({"supervisor": os.getpid(), **running}),
        ]
        snapshots = [answer.metrics for answer in answers.values()]
        snapshots.append(recorder.snapshot(own))
        body = prometheus.exposition(snapshots)
        return web.Response(body=body, headers={"Content-Type": prometheus.CONTENT_TYPE})

    async def inspect(self, request: web.Request) -> web.Response:
        """``GET /fastpod/v1/pods/{namespace}/{name}``: one pod, its source and its events."""
        answer = await self._pod(request)
        if isinstance(answer, web.Response):
            return answer
        return web.Response(body=answer.pods, content_type="application/json")

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        """``GET /containerLogs/{namespace}/{name}/{container}``: as the kubelet serves it."""
        answer = await self._pod(request)
        if isinstance(answer, web.Response):
            return answer
        pod = _inspection.decode(answer.pods).pod
        container = request.match_info["container"]
        names = {c.name for c in (*pod.spec.initContainers, *pod.spec.containers)}
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        if container not in names:
            return web.Response(
                status=404,
                text=f"container {container} is not valid for pod {namespace}/{name}\n",
            )
        watch = _ContainerWatch(pod.running(container))
        if _follows(request):
            watch.task = asyncio.get_running_loop().create_task(
                self._watch(request, container, watch)
            )
        try:
            return await container_logs.container_logs_response(
                request,
                self.config.pod_logs_dir,
                namespace,
                name,
                pod.metadata.uid,
                container,
                container_running=lambda: watch.running,
            )
        finally:
            if watch.task is not None:
                watch.task.cancel()

    async def _watch(self, request: web.Request, container: str, watch: _ContainerWatch) -> None:
        """Keep ``watch.running`` up to date while a followed log streams."""
        while watch.running:
            await asyncio.sleep(FOLLOW_CHECK)
            answer = await self._pod(request)
            if isinstance(answer, web.Response):
                watch.running = answer.status != 404
            else:
                watch.running = _inspection.decode(answer.pods).pod.running(container)

    async def _pod(self, request: web.Request) -> StatusAnswer | web.Response:
        key = f"{request.match_info['namespace']}/{request.match_info['name']}"
        owner = self.processes.workers[shard_of(key, len(self.processes.workers))]
        answer = (await self.processes.queries.ask([owner], pod_key=key)).get(owner)
        if answer is None:
            return _unavailable([owner])
        if not answer.pods:
            return web.Response(status=404, text=f"no pod {key} on this node\n")
        return answer


@dataclass(slots=True)
class _ContainerWatch:
    """Whether a followed container still runs, as last seen."""

    running: bool
    task: asyncio.Task[None] | None = None


def _follows(request: web.Request) -> bool:
    try:
        return container_logs.parse_log_query(request.query).follow
    except ValueError:
        return False  # the log response answers 400


def _unavailable(missing: list[str]) -> web.Response:
    names = ", ".join(missing)
    return web.Response(
        status=503, text=f"no answer from {names} within {ANSWER_TIMEOUT:g}s: try again\n"
    )
