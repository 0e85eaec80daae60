"""The read-only API on ``--address``:``--read-only-port``, served by the supervisor.

The kubelet's paths, answered from what the workers and the watcher say when asked:
``/pods`` (a v1 PodList of the static pods with live status), ``/healthz``
(:mod:`fastpod.api.healthz`), ``/metrics`` and ``/containerLogs/{namespace}/{pod}/{container}``;
fastpod adds ``/fastpod/v1/pods/{namespace}/{name}`` for ``fastpod inspect``. A port that
cannot be bound is retried every 5 s, as the kubelet retries its servers
(:mod:`fastpod.api.listener`); fastpod keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import msgspec

from fastpod import logs
from fastpod.api import container_logs, http, prometheus
from fastpod.api.discovery import ApiRecord, remove_record, write_record, write_record_later
from fastpod.api.healthz import add_healthz_routes
from fastpod.api.http import Request, Response, StreamingResponse
from fastpod.api.listener import Listener
from fastpod.config.settings import Config
from fastpod.ipc.messages import StatusAnswer, shard_of
from fastpod.metrics import gauge, recorder
from fastpod.supervisor.queries import ANSWER_TIMEOUT, PODS_TIMEOUT, Children

FOLLOW_CHECK = 1.0
"""Seconds between looks at a followed container's state: its log ends when it stops."""

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

_NO_MIRROR_ANSWER = b'{"state":"unknown","reason":"the cluster process did not answer"}'


class ApiServer:
    """The routes and the listening socket, started and stopped with fastpod."""

    def __init__(self, config: Config, processes: Children) -> None:
        self.config = config
        self.processes = processes
        self.url: str | None = None
        self._record_retry: asyncio.Task[None] | None = None
        self._listener = Listener(
            self.router(), config.address, config.read_only_port, "API", self._listening
        )

    def start(self) -> None:
        """Begin listening (in the background, retrying while the port is taken)."""
        self._listener.start()

    async def close(self) -> None:
        """Stop listening and withdraw the record the CLI finds the server by."""
        await self._listener.close()
        if self._record_retry is not None:
            self._record_retry.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._record_retry
        remove_record(self.config.root_dir, os.getpid())

    def router(self) -> http.Router:
        """The routes, for the listening socket and for tests."""
        router = http.Router()
        router.get("/pods", self.pods)
        add_healthz_routes(router, self.processes)
        router.get("/metrics", self.metrics)
        router.get("/fastpod/v1/pods/{namespace}/{name}", self.inspect)
        router.get("/containerLogs/{namespace}/{name}/{container}", self.container_logs)
        return router

    def _listening(self, url: str) -> None:
        """Bound: the CLI may find the server by its record from now on."""
        self.url = url
        record = ApiRecord(url, os.getpid())
        try:
            write_record(self.config.root_dir, record)
        except OSError as error:
            # the API answers meanwhile; the CLI finds it once the record is written
            self._record_retry = asyncio.get_running_loop().create_task(
                write_record_later(self.config.root_dir, record, error)
            )
        logs.emit("API listening", url=url)

    async def pods(self, request: Request) -> Response | StreamingResponse:
        """``GET /pods``: the PodList of every static pod, with its status."""
        workers = self.processes.workers
        answers = await self.processes.queries.ask(workers, pods=True, timeout=PODS_TIMEOUT)
        missing = [name for name in workers if name not in answers]
        if missing:
            return _unavailable(missing, PODS_TIMEOUT)
        arrays = [answers[name].pods for name in workers if len(answers[name].pods) > 2]

        async def chunks() -> AsyncGenerator[http.Chunk, None]:
            # each worker's array without its brackets, not copied into one body
            yield _LIST_HEAD
            for index, array in enumerate(arrays):
                yield b"," if index else b""
                yield memoryview(array)[1:-1]
            yield b"]}"

        return StreamingResponse(chunks(), content_type="application/json")

    async def metrics(self, request: Request) -> Response:
        """``GET /metrics``: the kubelet's metric names where it has one, ``fastpod_*`` else."""
        pids = self.processes.pids()
        running = {name: pid for name, pid in pids.items() if pid is not None}
        answers = await self.processes.queries.ask(list(running), metrics=True)
        own = [
            gauge("kubelet_node_name", 1, node=self.config.node_name),
            *prometheus.process_samples({"supervisor": os.getpid(), **running}),
        ]
        snapshots = [a.metrics for a in answers.values() if a.metrics is not None]
        snapshots.append(recorder.snapshot(own))
        return Response(200, prometheus.exposition(snapshots), prometheus.CONTENT_TYPE)

    async def inspect(self, request: Request) -> Response:
        """``GET /fastpod/v1/pods/{namespace}/{name}``: one pod, its source and its events,
        and (with a kubeconfig) its mirror pod's state, as the cluster process says it."""
        key, owner = self._owner(request)
        with_cluster = "cluster" in self.processes.pids()
        asked = [owner, "cluster"] if with_cluster else [owner]
        answers = await self.processes.queries.ask(asked, pod_key=key)
        answer = _found(key, owner, answers.get(owner))
        if isinstance(answer, Response) or not with_cluster:
            return answer if isinstance(answer, Response) else _json(answer.pods)
        cluster = answers.get("cluster")
        mirror = cluster.pods if cluster is not None and cluster.pods else _NO_MIRROR_ANSWER
        # the worker's object with the cluster process's beside it: spliced, not re-encoded
        return _json(answer.pods[:-1] + b',"mirror":' + mirror + b"}")

    async def container_logs(self, request: Request) -> Response | StreamingResponse:
        """``GET /containerLogs/{namespace}/{name}/{container}``: as the kubelet serves it."""
        answer = await self._pod(request)
        if isinstance(answer, Response):
            return answer
        pod = _inspection.decode(answer.pods).pod
        container = request.params["container"]
        names = {c.name for c in (*pod.spec.initContainers, *pod.spec.containers)}
        namespace, name = request.params["namespace"], request.params["name"]
        if container not in names:
            return Response.text(
                404, f"container {container} is not valid for pod {namespace}/{name}\n"
            )
        watch = _ContainerWatch(pod.running(container))
        response = container_logs.container_logs_response(
            request.query,
            request.connected,
            self.config.pod_logs_dir,
            namespace,
            name,
            pod.metadata.uid,
            container,
            container_running=lambda: watch.running,
        )
        if not isinstance(response, StreamingResponse):
            return response
        return StreamingResponse(self._watching(request, container, watch, response.chunks))

    async def _watching(
        self,
        request: Request,
        container: str,
        watch: _ContainerWatch,
        chunks: AsyncGenerator[http.Chunk, None],
    ) -> AsyncGenerator[http.Chunk, None]:
        """``chunks``, while ``watch.running`` is kept up to date beside them (a log that is
        not followed ends before the first look)."""
        task = asyncio.get_running_loop().create_task(self._watch(request, container, watch))
        try:
            async with contextlib.aclosing(chunks):
                async for chunk in chunks:
                    yield chunk
        finally:
            task.cancel()

    async def _watch(self, request: Request, container: str, watch: _ContainerWatch) -> None:
        """Keep ``watch.running`` up to date while a followed log streams."""
        while watch.running:
            await asyncio.sleep(FOLLOW_CHECK)
            answer = await self._pod(request)
            if isinstance(answer, Response):
                watch.running = answer.status != 404
            else:
                watch.running = _inspection.decode(answer.pods).pod.running(container)

    def _owner(self, request: Request) -> tuple[str, str]:
        """The pod key the request names, and the worker that owns it."""
        key = f"{request.params['namespace']}/{request.params['name']}"
        return key, self.processes.workers[shard_of(key, len(self.processes.workers))]

    async def _pod(self, request: Request) -> StatusAnswer | Response:
        key, owner = self._owner(request)
        answer = (await self.processes.queries.ask([owner], pod_key=key)).get(owner)
        return _found(key, owner, answer)


def _found(key: str, owner: str, answer: StatusAnswer | None) -> StatusAnswer | Response:
    """The owner's inspection of pod ``key``, or the error response when there is none."""
    if answer is None:
        return _unavailable([owner])
    if not answer.pods:
        return Response.text(404, f"no pod {key} on this node\n")
    return answer


def _json(body: bytes) -> Response:
    return Response(200, body, "application/json")


@dataclass(slots=True)
class _ContainerWatch:
    """Whether a followed container still runs, as last seen."""

    running: bool


def _unavailable(missing: list[str], timeout: float = ANSWER_TIMEOUT) -> Response:
    names = ", ".join(missing)
    return Response.text(503, f"no answer from {names} within {timeout:g}s: try again\n")
