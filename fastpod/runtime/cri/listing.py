"""fastpod's sandboxes and containers on a CRI runtime, read as the runtime seam's.

A pod's sync asks about its own sandboxes and containers by id, from the
:class:`~fastpod.runtime.cri.pod_index.PodIndex`, and reads a status again only once
something says it changed: a listing filtered to one pod costs containerd as much as the
whole node. The node is listed whole once, and at each relist of
:mod:`fastpod.runtime.cri.events` (by one worker for all: :mod:`~fastpod.runtime.cri.relist_feed`);
every listing adds what it finds of fastpod's to the index.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as cri
from cri_api.v1 import api_pb2_grpc

from fastpod.runtime.base import (
    ContainerInfo,
    ContainerState,
    ForeignPod,
    ListedObject,
    SandboxInfo,
)
from fastpod.runtime.cri.calls import CALL_TIMEOUT, call, call_error
from fastpod.runtime.cri.pod_index import PodIndex
from fastpod.runtime.foreign import group_foreign
from fastpod.runtime.labels import MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.runtime.termination import termination_message, with_termination_message

FASTPOD_ONLY = {MANAGED_BY: "true"}
"""The label selector of fastpod's sandboxes and containers."""

_STATES: dict[int, ContainerState] = {
    cri.ContainerState.CONTAINER_CREATED: "created",
    cri.ContainerState.CONTAINER_RUNNING: "running",
}


class Listing:
    """fastpod's objects on the node and the pods adopted from another agent (theirs,
    without fastpod's label), listed into ``index`` and read back by id through it.
    ``running`` is told of each container a fresh status shows running (its death is to
    be watched)."""

    def __init__(
        self,
        runtime: Callable[[], api_pb2_grpc.RuntimeServiceStub],
        index: PodIndex,
        running: Callable[[str], None],
    ) -> None:
        self._runtime = runtime
        self._index = index
        self._running = running
        self._adopted: set[str] = set()
        """The UIDs of the adopted pods."""

    def adopt(self, pod: ForeignPod) -> None:
        """From now on the pod's objects are listed as fastpod's; the ones it has now are
        indexed at once, from the listing that found them."""
        self._adopted.add(pod.uid)
        for sandbox in pod.sandboxes:
            self._index.add_sandbox(pod.uid, sandbox.id)
        for container in pod.containers:
            self._index.add_container(pod.uid, container.id, container.sandbox_id)
        self._index.pod_changed(pod.uid)

    async def pod_sandboxes(self, pod_uid: str) -> list[SandboxInfo]:
        """The pod's sandboxes, by the ids the index holds."""
        statuses = await asyncio.gather(
            *(self._sandbox_status(i) for i in self._index.sandboxes(pod_uid))
        )
        return [status for status in statuses if status is not None]

    async def node_sandboxes(self) -> list[SandboxInfo]:
        return [_sandbox_info(item) for item in await self.list_sandboxes()]

    async def containers(self, pod_uid: str | None) -> list[ContainerInfo]:
        """The pod's containers, by the ids the index holds; with no pod, the node's."""
        if pod_uid is None:
            ids = [(item.id, item.pod_sandbox_id) for item in await self.list_containers()]
        else:
            ids = self._index.containers(pod_uid)
        statuses = await asyncio.gather(*(self._status(i, sandbox_id) for i, sandbox_id in ids))
        return [status for status in statuses if status is not None]

    async def list_node(self) -> tuple[list[cri.PodSandbox], list[cri.Container]]:
        return await self.list_sandboxes(), await self.list_containers()

    async def list_whole_node(self) -> list[ListedObject]:
        """Every sandbox and container of the node that belongs to a pod, for any worker
        (no selector: it does not know which pods the others adopted)."""
        runtime = self._runtime()
        sandboxes = await call(
            "ListPodSandbox", runtime.ListPodSandbox, cri.ListPodSandboxRequest()
        )
        containers = await call(
            "ListContainers", runtime.ListContainers, cri.ListContainersRequest()
        )
        return [
            *(_listed(item.id, "", item.labels, item.state) for item in sandboxes.items),
            *(
                _listed(item.id, item.pod_sandbox_id, item.labels, item.state)
                for item in containers.containers
            ),
        ]

    def keep(self, objects: list[ListedObject]) -> list[ListedObject]:
        """Those of ``objects`` that are fastpod's or adopted, each added to the index."""
        kept = [item for item in objects if item.managed or item.pod_uid in self._adopted]
        for item in kept:
            if item.sandbox_id:
                self._index.add_container(item.pod_uid, item.id, item.sandbox_id)
            else:
                self._index.add_sandbox(item.pod_uid, item.id)
        return kept

    async def list_sandboxes(self) -> list[cri.PodSandbox]:
        """fastpod's sandboxes on the node (and the adopted pods'), each added to the index."""
        request = cri.ListPodSandboxRequest(filter=cri.PodSandboxFilter(label_selector=self._ours))
        reply = await call("ListPodSandbox", self._runtime().ListPodSandbox, request)
        items = [item for item in reply.items if self._managed(item.labels)]
        for item in items:
            self._index.add_sandbox(item.labels.get(POD_UID, ""), item.id)
        return items

    async def list_containers(self) -> list[cri.Container]:
        """fastpod's containers on the node (and the adopted pods'), each added to the index."""
        request = cri.ListContainersRequest(filter=cri.ContainerFilter(label_selector=self._ours))
        reply = await call("ListContainers", self._runtime().ListContainers, request)
        items = [item for item in reply.containers if self._managed(item.labels)]
        for item in items:
            self._index.add_container(item.labels.get(POD_UID, ""), item.id, item.pod_sandbox_id)
        return items

    @property
    def _ours(self) -> dict[str, str]:
        """The label selector of fastpod's objects; with adopted pods, none (the CRI's
        selectors all apply at once): :meth:`_managed` sorts them out."""
        return {} if self._adopted else FASTPOD_ONLY

    def _managed(self, labels: Mapping[str, str]) -> bool:
        return MANAGED_BY in labels or labels.get(POD_UID) in self._adopted

    async def foreign_pods(self) -> list[ForeignPod]:
        """The node's sandboxes and containers, one listing each (their annotations are
        listed with them: ``config.source`` among the sandbox's)."""
        runtime = self._runtime()
        sandboxes = await call(
            "ListPodSandbox", runtime.ListPodSandbox, cri.ListPodSandboxRequest()
        )
        containers = await call(
            "ListContainers", runtime.ListContainers, cri.ListContainersRequest()
        )
        return group_foreign(
            [_sandbox_info(item) for item in sandboxes.items],
            [
                ContainerInfo(
                    id=item.id,
                    sandbox_id=item.pod_sandbox_id,
                    labels={**item.annotations, **item.labels},
                    state=_STATES.get(item.state, "exited"),
                    created=item.created_at / 1e9,
                    image=item.image.image,
                    image_id=item.image_ref,
                )
                for item in containers.containers
            ],
        )

    async def _sandbox_status(self, sandbox_id: str) -> SandboxInfo | None:
        known = self._index.known(sandbox_id)
        if isinstance(known, SandboxInfo):
            return known
        since = self._index.changes
        request = cri.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id)
        reply = await self.status(
            sandbox_id, "PodSandboxStatus", self._runtime().PodSandboxStatus, request
        )
        if reply is None:
            return None
        info = _sandbox_info(reply.status)
        self._index.remember(info, since)
        return info

    async def _status(self, container_id: str, sandbox_id: str) -> ContainerInfo | None:
        known = self._index.known(container_id)
        if isinstance(known, ContainerInfo):
            return known
        since = self._index.changes
        request = cri.ContainerStatusRequest(container_id=container_id)
        reply = await self.status(
            container_id, "ContainerStatus", self._runtime().ContainerStatus, request
        )
        if reply is None:
            return None
        info = _container_info(reply.status, sandbox_id)
        if info.state == "running":
            # running since before this process (adopted), or just started: watched either way
            self._running(container_id)
        self._index.remember(info, since)
        return info

    async def status(self, object_id: str, name: str, method: Any, request: Any) -> Any:
        """What a status call (as :func:`~fastpod.runtime.cri.calls.call`) answers; None,
        and the id forgotten, when the sandbox or container no longer exists (removed since
        it was listed)."""
        try:
            return await method(request, timeout=CALL_TIMEOUT)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                self._index.forget(object_id)
                return None
            raise call_error(name, error) from None


def _listed(object_id: str, sandbox_id: str, labels: Mapping[str, str], state: int) -> ListedObject:
    return ListedObject(
        object_id,
        sandbox_id,
        f"{labels.get(POD_NAMESPACE, '')}/{labels.get(POD_NAME, '')}",
        labels.get(POD_UID, ""),
        int(state),
        MANAGED_BY in labels,
    )


def _container_info(status: cri.ContainerStatus, sandbox_id: str) -> ContainerInfo:
    state = _STATES.get(status.state, "exited")
    # the kubelet's annotations count as labels above the runtime seam
    labels = {**status.annotations, **status.labels}
    message = status.message
    if state == "exited":
        # read once: the status is kept until something says the container changed
        mounts = {mount.container_path: mount.host_path for mount in status.mounts}
        own = termination_message(
            labels, status.exit_code, status.started_at > 0, mounts, status.log_path
        )
        message = with_termination_message(message, own)
    return ContainerInfo(
        id=status.id,
        sandbox_id=sandbox_id,
        labels=labels,
        state=state,
        exit_code=status.exit_code if state == "exited" else None,
        created=status.created_at / 1e9,
        started_at=_seconds(status.started_at),
        finished_at=_seconds(status.finished_at),
        image=status.image.image,
        image_id=status.image_ref,
        reason="OOMKilled" if status.reason == "OOMKilled" else "",
        message=message,
    )


def _sandbox_info(item: cri.PodSandbox | cri.PodSandboxStatus) -> SandboxInfo:
    """A sandbox as listed or as its status says (the two messages share these fields);
    its annotations (the pod's) count as labels, as a container's do."""
    return SandboxInfo(
        item.id,
        {**item.annotations, **item.labels},
        item.state == cri.PodSandboxState.SANDBOX_READY,
        item.created_at / 1e9,
        item.metadata.attempt,
    )


def _seconds(nanoseconds: int) -> float | None:
    return nanoseconds / 1e9 if nanoseconds > 0 else None
