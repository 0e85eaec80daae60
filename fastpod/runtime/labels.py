"""The kubelet's labels on sandboxes and containers (``kuberuntime/labels.go``).

With them, ``docker ps --filter label=io.kubernetes.pod.name=...`` and every tool that knows
a kubelet node know fastpod's pods, and a restarted fastpod finds and adopts its own.
"""

from __future__ import annotations

from fastpod.model import Container, Pod

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_TYPE = "io.kubernetes.container.type"
"""The kubelet's container annotation ``init`` or ``container`` (``newContainerAnnotations``)."""
MANAGED_BY = "io.fastpod.managed"


def sandbox_labels(pod: Pod) -> dict[str, str]:
    """The pod's own labels plus its identity: what a sandbox carries."""
    metadata = pod.metadata
    return {
        **(metadata.labels or {}),
        POD_NAME: metadata.name or "",
        POD_NAMESPACE: metadata.namespace or "",
        POD_UID: metadata.uid or "",
        MANAGED_BY: "true",
    }


def container_labels(pod: Pod, container: Container) -> dict[str, str]:
    """The pod's identity and the container's name: what every container carries."""
    metadata = pod.metadata
    return {
        POD_NAME: metadata.name or "",
        POD_NAMESPACE: metadata.namespace or "",
        POD_UID: metadata.uid or "",
        CONTAINER_NAME: container.name or "",
        MANAGED_BY: "true",
    }
