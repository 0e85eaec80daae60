"""A CRI runtime (containerd, CRI-O) as fastpod's runtime: CRI v1 over gRPC, as the kubelet
calls it since Kubernetes 1.24.

Sandboxes and containers are the runtime's own, made from the kubelet's configs
(:mod:`fastpod.runtime.cri.configs`); the runtime writes the logs where the sandbox config
says. A pod's sync asks about its own sandboxes and containers by id, and reads a status
again only once something says it changed (:mod:`fastpod.runtime.cri.listing`): an idle
pod's resync costs nothing. Container deaths, and the relist that tells the index what
changed, come through :mod:`fastpod.runtime.cri.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from collections.abc import AsyncIterator, Callable, Sequence

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc
from google.protobuf import json_format

from fastpod.model import Pod
from fastpod.runtime.addresses import reported_ips
from fastpod.runtime.base import (
    ContainerInfo,
    ExecResult,
    ExecTimeout,
    ForeignPod,
    ImageMissing,
    ListedObject,
    RuntimeCallError,
    RuntimeEvent,
    SandboxInfo,
    combined_output,
)
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces
from fastpod.runtime.cri import created
from fastpod.runtime.cri.calls import CALL_TIMEOUT, call, call_error, unreachable
from fastpod.runtime.cri.configs import container_config, sandbox_config
from fastpod.runtime.cri.events import CriEvents
from fastpod.runtime.cri.listing import Listing
from fastpod.runtime.cri.pod_index import PodIndex
from fastpod.runtime.cri.relist_feed import Publish, RelistFeed
from fastpod.runtime.labels import sandbox_labels
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import DEFAULT_SANDBOX, ImageUser, SandboxSecurity
from fastpod.runtime.spec import ContainerSpec

MAX_REPLY = 1 << 30
"""The largest reply taken (the kubelet's CRI client allows 16 MiB; a node of 10,000
containers lists more than that)."""

EXEC_DEADLINE_MARGIN = 5.0
"""Seconds an ``ExecSync`` call may take beyond its command's timeout: the runtime's own
timeout kills the command and answers ``DEADLINE_EXCEEDED``, given this long to do so. (The
kubelet allows its whole 2-minute request timeout; fastpod less, so that a stuck runtime
does not hold a probe that long.)"""

RUNTIME_READY = "RuntimeReady"
"""The ``Status`` condition saying the runtime can run pods; ``NetworkReady`` is not asked:
host-network pods (a control plane before its CNI) run without it."""


class CriRuntime:
    """A :class:`~fastpod.runtime.base.Runtime` on a CRI endpoint."""

    def __init__(self, endpoint: str, pod_logs_dir: str, relist_period: float) -> None:
        self.endpoint = endpoint
        self.pod_logs_dir = pod_logs_dir
        self.name = "containerd"
        """The runtime's own name, as its ``Version`` reply gives it (the kubelet's
        ``runtimeName``): taken before the first pod is listed."""
        self._channel: grpc.aio.Channel | None = None
        self._runtime: api_pb2_grpc.RuntimeServiceStub | None = None
        self._images: api_pb2_grpc.ImageServiceStub | None = None
        # CreateContainer wants the sandbox's config again: kept per sandbox while it exists
        self._sandboxes: dict[str, cri.PodSandboxConfig] = {}
        self._index = PodIndex()
        self._indexed = False
        """The node's sandboxes and containers have been listed into the index once."""
        self._index_lock = asyncio.Lock()
        # a container a fresh status shows running has its death watched by the events
        self._listing = Listing(
            lambda: self._stubs()[0],
            self._index,
            lambda container_id: self._events.watch_soon(container_id),
        )
        self._feed = RelistFeed(self._listing.list_whole_node)
        self._events = CriEvents(
            lambda: self._stubs()[0], self._feed, self._listing.keep, relist_period, self._index
        )

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

    async def ping(self, timeout: float) -> None:
        runtime, _ = self._stubs()
        try:
            reply = await runtime.Status(cri.StatusRequest(), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise call_error("Status", error) from None
        for condition in reply.status.conditions:
            if condition.type == RUNTIME_READY and not condition.status:
                raise RuntimeCallError(
                    f"Status: {RUNTIME_READY} is false: {condition.reason}: {condition.message}"
                )

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        runtime, _ = self._stubs()
        labels = sandbox_labels(pod)
        config = sandbox_config(pod, attempt, self.pod_logs_dir, labels, security, sandbox=sandbox)
        reply = await call(
            "RunPodSandbox", runtime.RunPodSandbox, cri.RunPodSandboxRequest(config=config)
        )
        sandbox_id: str = reply.pod_sandbox_id
        self._sandboxes[sandbox_id] = config
        self._index.add_sandbox(pod.metadata.uid or "", sandbox_id)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """``StopPodSandbox``; a sandbox already removed (by another client, between a
        listing and this call) is stopped: the CRI calls it idempotent, containerd 1.6
        answers ``NOT_FOUND``."""
        runtime, _ = self._stubs()
        request = cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)
        try:
            await runtime.StopPodSandbox(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise call_error("StopPodSandbox", error) from None
        finally:
            # its containers are stopped with it
            self._index.pod_changed(self._index.pod_of(sandbox_id) or "")

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """``RemovePodSandbox``; one already gone is removed."""
        runtime, _ = self._stubs()
        request = cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)
        try:
            await runtime.RemovePodSandbox(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise call_error("RemovePodSandbox", error) from None
        finally:
            self._index.pod_changed(self._index.pod_of(sandbox_id) or "")
        self._sandboxes.pop(sandbox_id, None)
        self._index.forget_sandbox(sandbox_id)

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        runtime, _ = self._stubs()
        sandbox = self._sandboxes.get(sandbox_id)
        if sandbox is None:
            sandbox = self._sandboxes[sandbox_id] = await self._adopted_config(sandbox_id, pod)
        request = cri.CreateContainerRequest(
            pod_sandbox_id=sandbox_id,
            config=container_config(pod, spec),
            sandbox_config=sandbox,
        )
        try:
            reply = await runtime.CreateContainer(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND and "image" in (error.details() or ""):
                raise ImageMissing(f"CreateContainer {spec.name}: {error.details()}") from None
            raise call_error("CreateContainer", error) from None
        container_id: str = reply.container_id
        self._index.add_container(pod.metadata.uid or "", container_id, sandbox_id)
        return container_id

    async def _adopted_config(self, sandbox_id: str, pod: Pod) -> cri.PodSandboxConfig:
        """The config a sandbox of an earlier fastpod was made with, for the containers
        created in it (the runtime takes their hostname from it): containerd's verbose
        ``PodSandboxStatus`` carries it; else it is made again from the pod as far as the
        pod says (:func:`~fastpod.runtime.sandbox.pod_own_sandbox`)."""
        runtime, _ = self._stubs()
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True)
        reply = await call("PodSandboxStatus", runtime.PodSandboxStatus, request)
        with contextlib.suppress(
            KeyError, ValueError, TypeError, AttributeError, json_format.ParseError
        ):
            recorded = json.loads(reply.info.get("info", "{}"))["config"]
            return json_format.ParseDict(
                recorded, cri.PodSandboxConfig(), ignore_unknown_fields=True
            )
        attempt = reply.status.metadata.attempt
        return sandbox_config(pod, attempt, self.pod_logs_dir, sandbox_labels(pod))

    async def start_container(self, container_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.StartContainerRequest(container_id=container_id)
        try:
            await call("StartContainer", runtime.StartContainer, request)
        finally:
            self._index.changed(container_id)
        self._events.watch_soon(container_id)

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
                raise call_error("StopContainer", error) from None
        finally:
            self._index.changed(container_id)
        await self._events.until_not_running(container_id)
        self._index.changed(container_id)

    async def remove_container(self, container_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.RemoveContainerRequest(container_id=container_id)
        self._events.forget(container_id)
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
                    raise call_error("RemoveContainer", error) from None
            # "container is still running, to stop first": its exit is not handled yet
            await self._events.until_not_running(container_id)

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        if pod_uid is None:
            return await self._listing.node_sandboxes()
        await self._index_ready()
        return await self._listing.pod_sandboxes(pod_uid)

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        if pod_uid is not None:
            await self._index_ready()
        return await self._listing.containers(pod_uid)

    async def version(self) -> str:
        runtime, _ = self._stubs()
        reply = await call("Version", runtime.Version, cri.VersionRequest())
        self.name = reply.runtime_name or self.name
        return str(reply.runtime_version)

    async def _index_ready(self) -> None:
        """Ask the runtime its name and list the node once into the index, before the first
        pod asks from it."""
        if self._indexed:
            return
        async with self._index_lock:
            if not self._indexed:
                await self.version()
                await self._listing.list_node()
                self._indexed = True

    async def list_foreign_pods(self) -> list[ForeignPod]:
        return await self._listing.foreign_pods()

    def adopt(self, pod: ForeignPod) -> None:
        self._listing.adopt(pod)

    async def container_config(self, container_id: str) -> CreatedContainer | None:
        runtime, _ = self._stubs()
        request = cri.ContainerStatusRequest(container_id=container_id, verbose=True)
        reply = await self._listing.status(
            container_id, "ContainerStatus", runtime.ContainerStatus, request
        )
        return None if reply is None else created.created_container(reply.status, reply.info)

    async def sandbox_namespaces(self, sandbox_id: str) -> Namespaces | None:
        runtime, _ = self._stubs()
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id)
        reply = await self._listing.status(
            sandbox_id, "PodSandboxStatus", runtime.PodSandboxStatus, request
        )
        return None if reply is None else created.sandbox_namespaces(reply.status)

    async def image_defaults(self, image: str) -> ImageDefaults | None:
        _, images = self._stubs()
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image), verbose=True)
        reply = await call("ImageStatus", images.ImageStatus, request)
        if not reply.HasField("image"):
            return None
        return created.image_defaults(reply.image, dict(reply.info))

    async def image_present(self, image: str) -> bool:
        _, images = self._stubs()
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image))
        reply = await call("ImageStatus", images.ImageStatus, request)
        return bool(reply.HasField("image"))

    async def image_user(self, image: str) -> ImageUser:
        """``ImageStatus``'s ``uid``, else its ``username`` (the runtime reads the image's
        ``USER``), as the kubelet's ``getImageUser`` takes them."""
        _, images = self._stubs()
        request = cri.ImageStatusRequest(image=cri.ImageSpec(image=image))
        reply = await call("ImageStatus", images.ImageStatus, request)
        if not reply.HasField("image"):
            raise ImageMissing(f"image {image} is not on the node")
        found = reply.image
        if found.HasField("uid"):
            return ImageUser(found.uid.value)
        return ImageUser(username=found.username)

    async def pull_image(self, image: str) -> None:
        _, images = self._stubs()
        request = cri.PullImageRequest(image=cri.ImageSpec(image=image))
        try:
            await images.PullImage(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if unreachable(error):
                raise call_error("PullImage", error) from None
            raise ImageMissing(f"pulling {image}: {error.details()}") from None

    async def container_log_path(self, container_id: str) -> str | None:
        runtime, _ = self._stubs()
        request = cri.ContainerStatusRequest(container_id=container_id)
        reply = await call("ContainerStatus", runtime.ContainerStatus, request)
        return str(reply.status.log_path) or None

    async def reopen_container_log(self, container_id: str) -> None:
        runtime, _ = self._stubs()
        request = cri.ReopenContainerLogRequest(container_id=container_id)
        await call("ReopenContainerLog", runtime.ReopenContainerLog, request)

    async def exec_sync(
        self, container_id: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        """``ExecSync``: the runtime kills the command once ``timeout`` seconds (whole
        seconds, rounded up, as the CRI takes them) have passed, and the call is cut
        :data:`EXEC_DEADLINE_MARGIN` later; either way it is :class:`ExecTimeout`, as the
        kubelet takes ``DEADLINE_EXCEEDED``. A timeout of 0 sets no limit, as the kubelet
        runs hooks."""
        runtime, _ = self._stubs()
        request = cri.ExecSyncRequest(
            container_id=container_id, cmd=list(command), timeout=math.ceil(timeout)
        )
        deadline = timeout + EXEC_DEADLINE_MARGIN if timeout > 0 else None
        try:
            reply = await runtime.ExecSync(request, timeout=deadline)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ExecTimeout(command, timeout) from None
            raise call_error(f"ExecSync in container {container_id}", error) from None
        return ExecResult(reply.exit_code, combined_output(reply.stdout, reply.stderr))

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        """``PodSandboxStatus``'s network: its ``ip`` then its ``additional_ips``
        (:func:`~fastpod.runtime.addresses.reported_ips`, as the kubelet's
        ``determinePodSandboxIPs`` reads them)."""
        runtime, _ = self._stubs()
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id)
        reply = await call("PodSandboxStatus", runtime.PodSandboxStatus, request)
        network = reply.status.network
        return reported_ips(network.ip, [extra.ip for extra in network.additional_ips])

    async def network_namespace(self, sandbox_id: str) -> str:
        """From the verbose ``PodSandboxStatus``: containerd's ``info`` names the sandbox
        process's pid (the kubelet's CRI has no field for the namespace itself)."""
        runtime, _ = self._stubs()
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True)
        reply = await call("PodSandboxStatus", runtime.PodSandboxStatus, request)
        try:
            pid = int(json.loads(reply.info.get("info", "{}")).get("pid", 0))
        except (ValueError, TypeError, AttributeError):
            pid = 0
        if not pid:
            raise RuntimeCallError(
                f"sandbox {sandbox_id[:12]}: the runtime names no process (not running, or "
                "no verbose info): its network namespace is unknown"
            )
        return f"/proc/{pid}/ns/net"

    def events(self) -> AsyncIterator[RuntimeEvent]:
        return self._events.events()

    def lead_relist(self, publish: Publish) -> None:
        self._feed.lead(publish)

    def follow_relist(self, mine: Callable[[ListedObject], bool]) -> None:
        self._feed.follow(mine)

    def relisted(self, objects: list[ListedObject]) -> None:
        self._feed.received(objects)

    async def close(self) -> None:
        self._events.close()
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
