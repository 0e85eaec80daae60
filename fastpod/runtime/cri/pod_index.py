"""Which sandboxes and containers a runtime holds for each pod, and what was last read of
each while nothing says it changed: the kubelet's pod cache, fed by its PLEG.

containerd answers a ``ListContainers`` or ``ListPodSandbox`` filtered to one pod by
converting every container or sandbox on the node first, so a pod's sync that lists its
own would cost as much as the whole node, and a node's resyncs the square of its pods.
With this index a sync asks the runtime about its pod's ids only (``ContainerStatus``,
``PodSandboxStatus``), and not even that while their last status still holds.

The ids are learnt from what this process creates and from node-wide listings (the first
one, and every relist); they are forgotten when this process removes them, when the runtime
says they no longer exist, or when a relist no longer shows what the one before showed. The
index may hold an id too many, never one too few of what this process made: ids are only
dropped on proof they are gone.

A status read is kept until something says it changed: this process acting on the object
or its pod, a death, an event, or a relist that saw the pod's objects change, come or go.
A status read while such a change happened is not kept (it may predate the change).
"""

from __future__ import annotations

from fastpod.runtime.base import ContainerInfo, SandboxInfo


class PodIndex:
    """Pod UID → the ids of its sandboxes and containers, and their statuses while known."""

    def __init__(self) -> None:
        self._sandboxes: dict[str, set[str]] = {}
        self._containers: dict[str, set[str]] = {}
        self._pod_of: dict[str, str] = {}
        self._sandbox_of: dict[str, str] = {}
        self._known: dict[str, SandboxInfo | ContainerInfo] = {}
        self.changes = 0
        """How many changes were noted: a status read is kept only if none came meanwhile."""

    def add_sandbox(self, pod_uid: str, sandbox_id: str) -> None:
        """The pod has this sandbox."""
        self._sandboxes.setdefault(pod_uid, set()).add(sandbox_id)
        self._pod_of[sandbox_id] = pod_uid

    def add_container(self, pod_uid: str, container_id: str, sandbox_id: str) -> None:
        """The pod has this container, in this sandbox."""
        self._containers.setdefault(pod_uid, set()).add(container_id)
        self._pod_of[container_id] = pod_uid
        self._sandbox_of[container_id] = sandbox_id

    def forget(self, object_id: str) -> None:
        """The sandbox or container with this id is gone."""
        self.changed(object_id)
        pod_uid = self._pod_of.pop(object_id, None)
        self._sandbox_of.pop(object_id, None)
        if pod_uid is None:
            return
        for by_pod in (self._sandboxes, self._containers):
            ids = by_pod.get(pod_uid)
            if ids is not None:
                ids.discard(object_id)
                if not ids:
                    del by_pod[pod_uid]

    def forget_sandbox(self, sandbox_id: str) -> None:
        """The sandbox is gone, and its containers with it (the runtime removes them)."""
        pod_uid = self._pod_of.get(sandbox_id)
        if pod_uid is not None:
            for container_id, in_sandbox in self.containers(pod_uid):
                if in_sandbox == sandbox_id:
                    self.forget(container_id)
        self.forget(sandbox_id)

    def sandboxes(self, pod_uid: str) -> list[str]:
        """The ids of the pod's sandboxes."""
        return list(self._sandboxes.get(pod_uid, ()))

    def containers(self, pod_uid: str) -> list[tuple[str, str]]:
        """The pod's containers, as ``(container id, sandbox id)``."""
        return [(i, self._sandbox_of.get(i, "")) for i in self._containers.get(pod_uid, ())]

    def pod_of(self, object_id: str) -> str | None:
        """The UID of the pod a sandbox or container belongs to, if known."""
        return self._pod_of.get(object_id)

    def known(self, object_id: str) -> SandboxInfo | ContainerInfo | None:
        """The status last read of the object, while nothing says it changed."""
        return self._known.get(object_id)

    def remember(self, info: SandboxInfo | ContainerInfo, since: int) -> None:
        """Keep a status read that began when :attr:`changes` was ``since``."""
        if since == self.changes and info.id in self._pod_of:
            self._known[info.id] = info

    def changed(self, object_id: str) -> None:
        """The object may have changed: its status is to be read again."""
        self.changes += 1
        self._known.pop(object_id, None)

    def pod_changed(self, pod_uid: str | None) -> None:
        """Anything of the pod (of every pod, when None) may have changed."""
        self.changes += 1
        if pod_uid is None:
            self._known.clear()
            return
        for object_id in (*self._sandboxes.get(pod_uid, ()), *self._containers.get(pod_uid, ())):
            self._known.pop(object_id, None)

    def __len__(self) -> int:
        return len(self._pod_of)
