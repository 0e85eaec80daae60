"""A CRI runtime (containerd, CRI-O) as fastpod's runtime: CRI v1 over gRPC, as the kubelet
calls it since Kubernetes 1.24.

Sandboxes and containers are the runtime's own; the runtime writes the logs where the
sandbox config says. A pod's sync asks about its own sandboxes and containers by id
(:mod:`fastpod.runtime.pod_index`): a listing filtered to one pod costs containerd as much
as the whole node. Container deaths come from ``GetContainerEvents`` where the runtime
has it (containerd 1.7 and later), with a relist of the node every 5 minutes beside it.
Without it (containerd 1.6) each running container's process is watched through a pidfd
(:mod:`fastpod.runtime.exits`), which reports a death at once, and the node's sandboxes
and containers are listed every ``relist_period`` for what a pidfd cannot see (a sandbox's
death among them); the pod loops' periodic resync heals anything missed either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc

from fastpod.model import Pod
from fastpod.runtime.base import (
    ContainerInfo,
    ContainerState,
    ImageMissing,
    RuntimeCallError,
    RuntimeEvent,
    RuntimeUnavailable,
    SandboxInfo,
)
from fastpod.runtime.cri_config import container_config, sandbox_config
from fastpod.runtime.exits import ExitWatch
from fastpod.runtime.labels import MANAGED_BY, POD_UID, sandbox_labels
from fastpod.runtime.pod_index import PodIndex
from fastpod.runtime.spec import RESTART_COUNT, ContainerSpec

DEFAULT_ENDPOINT = "unix:///run/containerd/containerd.sock"
"""The kubelet's default ``--container-runtime-endpoint``."""

CALL_TIMEOUT = 120.0
"""Seconds one call may take (the kubelet's ``runtimeRequestTimeout``, 2 minutes)."""

EVENTS_RETRY = 0.5
EVENTED_RELIST_PERIOD = 300.0
"""How often the node is relisted beside an event stream, to heal what a lost event would
leave wrong (the kubelet's evented PLEG relists as often)."""
MAX_REPLY = 1 << 30
"""The largest reply taken (the kubelet's CRI client allows 16 MiB; a node of 10,000
containers lists more than that)."""
EXIT_CONFIRM_POLL = 0.002
EXIT_CONFIRM_TRIES = 1000
"""How often, and how many times at most (2 s), a death seen through a pidfd is looked up
until the runtime shows it."""

FASTPOD_ONLY = {MANAGED_BY: "true"}
"""The label selector of fastpod's sandboxes and containers."""

_STATES: dict[int, ContainerState] = {
    cri.ContainerState.CONTAINER_CREATED: "created",
    cri.ContainerState.CONTAINER_RUNNING: "running",
}


def _seconds(nanoseconds: int) -> float | None:
    return nanoseconds / 1e9 if nanoseconds > 0 else None


class CriRuntime:
    """A :class:`~fastpod.runtime.base.Runtime` on a CRI endpoint."""

    def __init__(
        self, endpoint: str, pod_logs_dir: str, relist_period: float = 1.0, *, name: str = ""
    ) -> None:
        self.endpoint = endpoint
        self.pod_logs_dir = pod_logs_dir
        self.relist_period = relist_period
        self.name = name or "containerd"
        self._channel: grpc.aio.Channel | None = None
        self._runtime: api_pb2_grpc.RuntimeServiceStub | None = None
        self._images: api_pb2_grpc.ImageServiceStub | None = None
        # CreateContainer wants the sandbox's config again: kept per sandbox while it exists
        self._sandboxes: dict[str, cri.PodSandboxConfig] = {}
        self._events: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        self._index = PodIndex()
        self._indexed = False
        """The node's sandboxes and containers have been listed into the index once."""
        self._index_lock = asyncio.Lock()
        self._pods: dict[str, str] = {}
        """Pod UID of each watched container."""
        self._watching: set[str] = set()
        """The containers watched, or about to be."""
        self._event_stream = False
        """The runtime streams container events (``GetContainerEvents``)."""
        self._exits = ExitWatch(self._exited)

    def _stubs(self) -> tuple[api_pb2_grpc.RuntimeServiceStub, api_pb2_grpc.ImageServiceStub]:
        if self._runtime is None or self._images is None:
            # no 4 MiB cap on replies: listing thousands of containers is megabytes
            self._channel = grpc.aio.insecure_channel(
                self.endpoint, options=[("grpc.max_receive_message_length", MAX_REPLY)]
            )
            # the generated gRPC stubs carry no types
            self._runtime = api_pb2_grpc.RuntimeServiceStub(self._channel)  # type: ignore[no-untyped-call]
            self._images = api_pb2_grpc.ImageServiceStub(self._channel)  # type: ignore[no-untyped-call]
        return self._runtime, self._images

    async def _call(self, name: str, method: Any, request: Any) -> Any:
        try:
            return await method(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            raise _error(name, error) from None

    async def run_pod_sandbox(self, pod: Pod, attempt: int) -> str:
        runtime, _ = self._stubs()
        config = sandbox_config(pod, attempt, self.pod_logs_dir, sandbox_labels(pod))
        reply = await self._call(
            "RunPodSandbox", runtime.RunPodSandbox, cri.RunPodSandboxRequest(config=config)
        )
        sandbox_id: str = reply.pod_sandbox_id
        self._sandboxes[sandbox_id] = config
        self._index.add_sandbox(pod.metadata.uid or "", sandbox_id)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        await self._call("StopPodSandbox", runtime.StopPodSandbox, request)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)
        await self._call("RemovePodSandbox", runtime.RemovePodSandbox, request)
        self._sandboxes.pop(sandbox_id, None)
        self._index.forget(sandbox_id)

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        runtime, _ = self._stubs()
        sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None:
            # a sandbox of an earlier fastpod (adopted): its config is the pod's
            sandbox = sandbox_config(pod, 0, self.pod_logs_dir, sandbox_labels(pod))
        restart_count = int(spec.labels.get(RESTART_COUNT, "0"))
        request = cri.CreateContainerRequest(
            pod_sandbox_id=sandbox_id,
            config=container_config(pod, spec, restart_count),
            sandbox_config=sandbox,
        )
        try:
            reply = await runtime.CreateContainer(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND and "image" in (error.details() or ""):
                raise ImageMissing(f"CreateContainer {spec.name}: {error.details()}") from None
            raise _error("CreateContainer", error) from None
        container_id: str = reply.container_id
        self._index.add_container(pod.metadata.uid or "", container_id, sandbox_id)
        return container_id

    async def start_container(self, container_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.StartContainerRequest(container_id=container_id)
        await self._call("StartContainer", runtime.StartContainer, request)
        self._watch_soon(container_id)

    def _watch_soon(self, container_id: str) -> None:
        if not self._event_stream and container_id not in self._watching:
            self._watching.add(container_id)
            asyncio.get_running_loop().create_task(self._watch(container_id))

    async def _watch(self, container_id: str) -> None:
        """Watch a running container's process, so that its death is heard at once."""
        watching = False
        try:
            watching = await self._start_watch(container_id)
        finally:
            if not watching:
                self._watching.discard(container_id)

    async def _start_watch(self, container_id: str) -> bool:
        """Whether the container's process is watched now; reports it dead if it is."""
        runtime, _ = self._stubs()
        request = cri.ContainerStatusRequest(container_id=container_id, verbose=True)
        try:
            reply = await runtime.ContainerStatus(request, timeout=CALL_TIMEOUT)
            pid = int(json.loads(reply.info.get("info", "{}")).get("pid", 0))
        except (grpc.aio.AioRpcError, ValueError):
            return False  # the relist will tell
        uid = reply.status.labels.get(POD_UID, "")
        if reply.status.state != cri.ContainerState.CONTAINER_RUNNING or pid <= 0:
            self._events.put_nowait(RuntimeEvent(uid or None, "died"))
            return False
        self._pods[container_id] = uid
        watched = self._exits.watch(container_id, pid)
        if watched != "watching":
            self._pods.pop(container_id, None)
        if watched == "gone":
            # exited between the status and the watch
            self._events.put_nowait(RuntimeEvent(uid or None, "died"))
        return watched == "watching"

    def _exited(self, container_id: str) -> None:
        self._watching.discard(container_id)
        uid = self._pods.pop(container_id, "")
        asyncio.get_running_loop().create_task(self._report_exit(container_id, uid))

    async def _report_exit(self, container_id: str, uid: str) -> None:
        """Report a death once the runtime shows it: a sync before that would see it run."""
        await self._until_not_running(container_id)
        self._events.put_nowait(RuntimeEvent(uid or None, "died"))

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        runtime, _ = self._stubs()
        request = cri.StopContainerRequest(
            container_id=container_id, timeout=max(0, round(grace_period))
        )
        try:
            await runtime.StopContainer(request, timeout=CALL_TIMEOUT + grace_period)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return
            # the shim of a task that is exiting by itself closed under the kill
            if "ttrpc: closed" not in (error.details() or ""):
                raise _error("StopContainer", error) from None
        await self._until_not_running(container_id)

    async def _until_not_running(self, container_id: str) -> None:
        """containerd 1.6 shows a container whose task has gone as running until it has
        handled the exit (StopContainer returns at once then): wait for that, 2 s at most."""
        runtime, _ = self._stubs()
        request = cri.ContainerStatusRequest(container_id=container_id)
        with contextlib.suppress(grpc.aio.AioRpcError):
            for _ in range(EXIT_CONFIRM_TRIES):
                reply = await runtime.ContainerStatus(request, timeout=CALL_TIMEOUT)
                if reply.status.state != cri.ContainerState.CONTAINER_RUNNING:
                    return
                await asyncio.sleep(EXIT_CONFIRM_POLL)

    async def remove_container(self, container_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.RemoveContainerRequest(container_id=container_id)
        self._exits.forget(container_id)
        self._pods.pop(container_id, None)
        self._watching.discard(container_id)
        for attempt in range(2):
            try:
                await runtime.RemoveContainer(request, timeout=CALL_TIMEOUT)
                self._index.forget(container_id)
                return
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    self._index.forget(container_id)
                    return
                if attempt > 0 or "to stop first" not in (error.details() or ""):
                    raise _error("RemoveContainer", error) from None
            # "container is still running, to stop first": its exit is not handled yet
            await self._until_not_running(container_id)

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        if pod_uid is None:
            return [_sandbox_info(item) for item in await self._list_sandboxes()]
        await self._index_ready()
        statuses = await asyncio.gather(
            *(self._sandbox_status(i) for i in self._index.sandboxes(pod_uid))
        )
        return [status for status in statuses if status is not None]

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        if pod_uid is None:
            ids = [(item.id, item.pod_sandbox_id) for item in await self._list_containers()]
        else:
            await self._index_ready()
            ids = self._index.containers(pod_uid)
        statuses = await asyncio.gather(*(self._status(i, sandbox_id) for i, sandbox_id in ids))
        return [status for status in statuses if status is not None]

    async def _index_ready(self) -> None:
        """List the node once into the index, before the first pod asks from it."""
        if self._indexed:
            return
        async with self._index_lock:
            if not self._indexed:
                await self._list_sandboxes()
                await self._list_containers()
                self._indexed = True

    async def _list_sandboxes(self) -> list[cri.PodSandbox]:
        """fastpod's sandboxes on the node, each added to the index."""
        runtime, _ = self._stubs()
        request = cri.ListPodSandboxRequest(
            filter=cri.PodSandboxFilter(label_selector=FASTPOD_ONLY)
        )
        reply = await self._call("ListPodSandbox", runtime.ListPodSandbox, request)
        for item in reply.items:
            self._index.add_sandbox(item.labels.get(POD_UID, ""), item.id)
        return list(reply.items)

    async def _list_containers(self) -> list[cri.Container]:
        """fastpod's containers on the node, each added to the index."""
        runtime, _ = self._stubs()
        request = cri.ListContainersRequest(filter=cri.ContainerFilter(label_selector=FASTPOD_ONLY))
        reply = await self._call("ListContainers", runtime.ListContainers, request)
        for item in reply.containers:
            self._index.add_container(item.labels.get(POD_UID, ""), item.id, item.pod_sandbox_id)
        return list(reply.containers)

    async def _sandbox_status(self, sandbox_id: str) -> SandboxInfo | None:
        runtime, _ = self._stubs()
        try:
            reply = await runtime.PodSandboxStatus(
                cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                self._index.forget(sandbox_id)
                return None
            raise _error("PodSandboxStatus", error) from None
        return _sandbox_info(reply.status)

    async def _status(self, container_id: str, sandbox_id: str) -> ContainerInfo | None:
        runtime, _ = self._stubs()
        try:
            reply = await runtime.ContainerStatus(
                cri.ContainerStatusRequest(container_id=container_id), timeout=CALL_TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                self._index.forget(container_id)
                return None  # removed since it was listed
            raise _error("ContainerStatus", error) from None
        status = reply.status
        state = _STATES.get(status.state, "exited")
        if state == "running":
            # running since before this process (adopted), or just started: watched either way
            self._watch_soon(container_id)
        return ContainerInfo(
            id=status.id,
            sandbox_id=sandbox_id,
            # the kubelet's annotations count as labels above the runtime seam
            labels={**status.annotations, **status.labels},
            state=state,
            exit_code=status.exit_code if state == "exited" else None,
            created=status.created_at / 1e9,
            started_at=_seconds(status.started_at),
            finished_at=_seconds(status.finished_at),
            image=status.image.image,
            image_id=status.image_ref,
            reason="OOMKilled" if status.reason == "OOMKilled" else "",
            message=status.message,
        )

    async def image_present(self, image: str) -> bool:
        _, images = self._stubs()
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image))
        reply = await self._call("ImageStatus", images.ImageStatus, request)
        return bool(reply.HasField("image"))

    async def pull_image(self, image: str) -> None:
        _, images = self._stubs()
        request = cri.PullImageRequest(image=cri.ImageSpec(image=image))
        try:
            await images.PullImage(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if _unreachable(error):
                raise _error("PullImage", error) from None
            raise ImageMissing(f"pulling {image}: {error.details()}") from None

    async def container_log_path(self, container_id: str) -> str | None:
        runtime, _ = self._stubs()
        request = cri.ContainerStatusRequest(container_id=container_id)
        reply = await self._call("ContainerStatus", runtime.ContainerStatus, request)
        return str(reply.status.log_path) or None

    async def events(self) -> AsyncIterator[RuntimeEvent]:
        lost = False
        while True:
            loop = asyncio.get_running_loop()
            relist = loop.create_task(self._relist(lost))
            stream = loop.create_task(self._follow_event_stream())
            try:
                while True:
                    for task in (relist, stream):
                        if task.done():
                            task.result()  # a failure of either is the loss of the events
                    getter = asyncio.ensure_future(self._events.get())
                    waited = {getter, relist} if stream.done() else {getter, relist, stream}
                    await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
                    if getter.done():
                        lost = False
                        yield getter.result()
                    else:
                        getter.cancel()
            except RuntimeCallError:
                pass
            finally:
                relist.cancel()
                stream.cancel()
            lost = True
            await asyncio.sleep(EVENTS_RETRY)

    async def _follow_event_stream(self) -> None:
        """Report the runtime's container events; return at once if it has none."""
        runtime, _ = self._stubs()
        stream = runtime.GetContainerEvents(cri.GetEventsRequest())
        try:
            async for event in stream:
                # the stream tells every change: pidfds and a fast relist are not needed
                self._event_stream = True
                uid = event.pod_sandbox_status.metadata.uid or None
                self._events.put_nowait(RuntimeEvent(uid, "container event"))
        except grpc.aio.AioRpcError as error:
            self._event_stream = False
            if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                raise _error("GetContainerEvents", error) from None
        finally:
            stream.cancel()

    async def _relist(self, lost: bool) -> None:
        """List fastpod's sandboxes and containers every period (with an event stream, every
        :data:`EVENTED_RELIST_PERIOD`); report the pods whose sandboxes or containers
        changed state, came or went, and after a loss, that anything may have."""
        seen: dict[str, tuple[int, str]] | None = None
        while True:
            sandboxes, containers = await self._list_sandboxes(), await self._list_containers()
            states: dict[str, tuple[int, str]] = {
                i.id: (int(i.state), i.labels.get(POD_UID, "")) for i in sandboxes
            }
            states.update((i.id, (int(i.state), i.labels.get(POD_UID, ""))) for i in containers)
            if seen is None:
                if lost:
                    self._events.put_nowait(RuntimeEvent(None, "events resumed"))
            else:
                changed = {uid for i, (state, uid) in states.items() if seen.get(i) != (state, uid)}
                changed.update(uid for i, (_, uid) in seen.items() if i not in states)
                for uid in changed:
                    self._events.put_nowait(RuntimeEvent(uid or None, "state changed"))
            seen = states
            period = self.relist_period
            if self._event_stream:
                period = max(period, EVENTED_RELIST_PERIOD)
            await asyncio.sleep(period)

    async def close(self) -> None:
        self._exits.close()
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()


def _sandbox_info(item: cri.PodSandbox | cri.PodSandboxStatus) -> SandboxInfo:
    """A sandbox as listed or as its status says (the two messages share these fields)."""
    return SandboxInfo(
        item.id,
        dict(item.labels),
        item.state == cri.PodSandboxState.SANDBOX_READY,
        item.created_at / 1e9,
        item.metadata.attempt,
    )


def _unreachable(error: grpc.aio.AioRpcError) -> bool:
    return error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _error(call: str, error: grpc.aio.AioRpcError) -> RuntimeCallError:
    message = f"{call}: {error.code().name}: {error.details()}"
    if _unreachable(error):
        return RuntimeUnavailable(f"{message} (is the CRI runtime running?)")
    return RuntimeCallError(message)
