"""What the Docker Engine lists and inspects, read as the runtime seam's sandboxes and
containers.

fastpod's objects are found by label (its own, or an adopted pod's UID); a pod's sandboxes
and containers, asked for together by its sync, come from one listing. They are read from
their ``docker inspect`` at each listing, as the kubelet reads its statuses at each relist
(the termination message of an exited container included), an unchanged container's from
the inspect kept since (:mod:`~fastpod.runtime.docker.inspections`); the node-wide listing
of sandboxes reads the Engine's list alone.
"""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Awaitable
from urllib.parse import quote

import msgspec

from fastpod.runtime.base import ContainerInfo, ContainerState, ForeignPod, SandboxInfo
from fastpod.runtime.docker.configs import SANDBOX_ID, SANDBOX_TYPE
from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.docker.inspected import Inspected
from fastpod.runtime.docker.inspections import Inspections
from fastpod.runtime.foreign import (
    DOCKER_SANDBOX_ID,
    docker_labels,
    docker_name_attempt,
    group_foreign,
)
from fastpod.runtime.labels import MANAGED_BY, POD_UID
from fastpod.runtime.termination import termination_message, with_termination_message


class _Listed(msgspec.Struct):
    Id: str
    Names: list[str] | None = None
    Labels: dict[str, str] | None = None
    State: str = ""
    Created: int = 0
    Image: str = ""
    ImageID: str = ""


_listed = msgspec.json.Decoder(list[_Listed])


class Listing:
    """fastpod's sandboxes and containers on the Engine, and the pods adopted from another
    agent (theirs, without fastpod's label)."""

    def __init__(self, engine: Engine, inspections: Inspections) -> None:
        self._engine = engine
        self._inspections = inspections
        self._adopted: set[str] = set()
        """The UIDs of the adopted pods."""
        self._pods_listed: dict[str, asyncio.Future[list[_Listed]]] = {}
        """By pod UID, the listing of the pod asked for in this turn of the event loop."""

    def adopt(self, pod_uid: str) -> None:
        self._adopted.add(pod_uid)

    async def sandboxes(self, pod_uid: str | None) -> list[SandboxInfo]:
        """fastpod's sandboxes (of one pod, or all). A pod's are each inspected, as
        cri-dockerd's ``PodSandboxStatus`` reads them: the Engine's listing is a view it
        updates only after telling of a death (Docker 20.10 still lists a sandbox whose
        ``die`` event was sent as running), so the sync that event wakes would keep a dead
        sandbox."""
        listed = await self._list("podsandbox", pod_uid)
        if pod_uid is None:
            return [_sandbox_info(item, item.State) for item in listed]
        found = await asyncio.gather(*(self._current(item) for item in listed))
        return [
            _sandbox_info(item, inspected.State.Status)
            for item, inspected in zip(listed, found, strict=True)
            if inspected is not None
        ]

    async def containers(self, pod_uid: str | None) -> list[ContainerInfo]:
        listed = await self._list("container", pod_uid)
        found = await asyncio.gather(*(self._current(item) for item in listed))
        return [_container_info(item) for item in found if item is not None]

    def _current(self, item: _Listed) -> Awaitable[Inspected | None]:
        return self._inspections.current(item.Id, item.State)

    async def foreign_pods(self) -> list[ForeignPod]:
        """One listing of every object with the kubelet's pod UID label, sandboxes and
        containers told apart by cri-dockerd's type label."""
        sandboxes, containers = [], []
        for item in await self._containers_json([POD_UID]):
            labels = item.Labels or {}
            if labels.get(SANDBOX_TYPE) == "podsandbox":
                sandboxes.append(_sandbox_info(item, item.State))
            elif labels.get(SANDBOX_TYPE) == "container":
                joined = docker_labels(labels)
                containers.append(
                    ContainerInfo(
                        id=item.Id,
                        sandbox_id=_sandbox_of(joined),
                        labels=joined,
                        state=_state(item.State),
                        created=float(item.Created),
                        image=item.Image,
                        image_id=item.ImageID,
                    )
                )
        return group_foreign(sandboxes, containers)

    async def _list(self, kind: str, pod_uid: str | None) -> list[_Listed]:
        """fastpod's sandboxes or containers: its label, or an adopted pod's UID."""
        if pod_uid is not None:
            return [
                item
                for item in await self._pod(pod_uid)
                if (item.Labels or {}).get(SANDBOX_TYPE) == kind
            ]
        labels = [f"{SANDBOX_TYPE}={kind}"]
        if not self._adopted:
            return await self._containers_json([*labels, f"{MANAGED_BY}=true"])
        # Docker's label filters all apply at once: fastpod's or adopted is sorted out here
        return [
            item
            for item in await self._containers_json([*labels, POD_UID])
            if MANAGED_BY in (item.Labels or {})
            or (item.Labels or {}).get(POD_UID) in self._adopted
        ]

    def _pod(self, pod_uid: str) -> asyncio.Future[list[_Listed]]:
        """Every sandbox and container of a pod, in one listing for the requests made in the
        same turn of the event loop (a sync asks for both kinds at once): a later request
        lists again, so none is answered from a listing older than itself."""
        listing = self._pods_listed.get(pod_uid)
        if listing is None:
            labels = [f"{POD_UID}={pod_uid}"]
            if pod_uid not in self._adopted:
                labels.append(f"{MANAGED_BY}=true")
            listing = asyncio.ensure_future(self._containers_json(labels))
            # a requester cancelled alone does not cancel it for the others
            listing.add_done_callback(_retrieved)
            self._pods_listed[pod_uid] = listing
            asyncio.get_running_loop().call_soon(self._pods_listed.pop, pod_uid, None)
        return asyncio.shield(listing)

    async def _containers_json(self, labels: list[str]) -> list[_Listed]:
        filters = quote(json.dumps({"label": labels}))
        _, payload = await self._engine.call("GET", f"/containers/json?all=1&filters={filters}")
        return _listed.decode(payload)


def _retrieved(listing: asyncio.Future[list[_Listed]]) -> None:
    """Mark a listing's failure as seen: its requesters, if any are left, raise it."""
    if not listing.cancelled():
        listing.exception()


def _container_info(item: Inspected) -> ContainerInfo:
    labels = docker_labels(item.Config.Labels or {})
    state = item.State
    created = _timestamp(item.Created) or 0.0
    started_at = _timestamp(state.StartedAt)
    finished_at = _timestamp(state.FinishedAt)
    phase = _state(state.Status)
    exit_code = state.ExitCode if state.Status == "exited" else None
    reason = "OOMKilled" if state.OOMKilled else ""
    ran = started_at is not None
    if phase == "created" and state.ExitCode != 0:
        # its start failed: Docker keeps it "created", with the error and a code (127
        # for a path of the wrong kind, else 128); as dockershim, an exit at creation
        phase, exit_code, reason = "exited", state.ExitCode, "ContainerCannotRun"
        started_at = finished_at = created
    message = state.Error
    if phase == "exited":
        # read again at each listing, as the kubelet does at each relist: a small file
        mounts = {mount.Destination: mount.Source for mount in item.Mounts or ()}
        own = termination_message(labels, state.ExitCode, ran, mounts, item.LogPath)
        message = with_termination_message(message, own)
    return ContainerInfo(
        id=item.Id,
        sandbox_id=_sandbox_of(labels),
        labels=labels,
        state=phase,
        exit_code=exit_code,
        created=created,
        started_at=started_at,
        finished_at=finished_at,
        image=item.Config.Image,
        image_id=item.Image,
        reason=reason,
        message=message,
    )


def _sandbox_info(item: _Listed, status: str) -> SandboxInfo:
    """A listed sandbox whose container's status is ``status`` (the listing's, or its
    inspection's); the CRI's annotations cri-dockerd keeps as labels read as such."""
    labels = docker_labels(item.Labels or {})
    return SandboxInfo(item.Id, labels, status == "running", item.Created, _attempt(item))


def _attempt(item: _Listed) -> int:
    """The attempt a sandbox's name carries (``k8s_POD_<name>_<ns>_<uid>_<attempt>``)."""
    for name in item.Names or ():
        attempt = docker_name_attempt(name)
        if attempt is not None:
            return attempt
    return 0


def _sandbox_of(labels: dict[str, str]) -> str:
    """A container's sandbox: fastpod's label, else cri-dockerd's."""
    return labels.get(SANDBOX_ID) or labels.get(DOCKER_SANDBOX_ID, "")


def _state(status: str) -> ContainerState:
    if status in ("running", "restarting", "paused"):
        return "running"
    if status == "created":
        return "created"
    return "exited"


def _timestamp(text: str) -> float | None:
    if not text or text.startswith("0001-"):
        return None
    # Docker gives nanoseconds; Python's parser takes microseconds
    head, _, rest = text.partition(".")
    fraction = rest.rstrip("Z")[:6] if rest else "0"
    try:
        moment = datetime.datetime.fromisoformat(f"{head}.{fraction}+00:00")
    except ValueError:
        return None
    return moment.timestamp()
