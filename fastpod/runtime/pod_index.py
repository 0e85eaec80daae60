"""Which sandboxes and containers a runtime holds for each pod, by id.

containerd answers a ``ListContainers`` or ``ListPodSandbox`` filtered to one pod by
converting every container or sandbox on the node first, so a pod's sync that lists its
own would cost as much as the whole node, and a node's resyncs the square of its pods.
With this index a sync asks the runtime about its pod's ids only (``ContainerStatus``,
``PodSandboxStatus``). The index learns ids from what this process creates and from
node-wide listings (the first one, and every relist); it forgets what this process removes
and what the runtime says no longer exists. It may hold an id too many, never one too few
of what this process made: ids are only dropped on proof they are gone.
"""

from __future__ import annotations


class PodIndex:
    """Pod UID → the ids of its sandboxes and containers, and each container's sandbox."""

    def __init__(self) -> None:
        self._sandboxes: dict[str, set[str]] = {}
        self._containers: dict[str, set[str]] = {}
        self._pod_of: dict[str, str] = {}
        self._sandbox_of: dict[str, str] = {}

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

    def sandboxes(self, pod_uid: str) -> list[str]:
        """The ids of the pod's sandboxes."""
        return list(self._sandboxes.get(pod_uid, ()))

    def containers(self, pod_uid: str) -> list[tuple[str, str]]:
        """The pod's containers, as ``(container id, sandbox id)``."""
        return [(i, self._sandbox_of.get(i, "")) for i in self._containers.get(pod_uid, ())]

    def __len__(self) -> int:
        return len(self._pod_of)
