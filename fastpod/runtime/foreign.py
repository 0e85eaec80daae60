"""PURE: finding the pods another agent left on a runtime, from what the runtime lists.

The kubelet labels every sandbox with the pod's labels and identity and gives it the pod's
annotations (``kuberuntime/labels.go``: ``newPodLabels``, ``newPodAnnotations``), among them
``kubernetes.io/config.source`` (``file``, ``http`` or ``api``); each container gets the
pod's identity and its name as labels (``newContainerLabels``) and the container hash,
restart count, termination message path and policy, grace period, preStop hook and ports
as annotations (``newContainerAnnotations``). containerd keeps the CRI's labels and
annotations apart and lists both (``ListPodSandbox``, ``ListContainers``). cri-dockerd,
Docker having labels only, keeps each annotation as a label prefixed ``annotation.``
(``core/helpers.go``: ``makeLabels``, ``extractLabels``), marks sandboxes and containers
with ``io.kubernetes.docker.type`` (``podsandbox``, ``container``), a container's sandbox
with ``io.kubernetes.sandbox.id`` and its log path with ``io.kubernetes.container.logpath``
(``core/docker_service.go``), and names them ``k8s_POD_<pod>_<namespace>_<uid>_<attempt>``
and ``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>``, with a random ``_<hex>``
after a name conflict (``core/naming.go``).

fastpod's own carry ``io.fastpod.managed=true`` besides: a sandbox without it is another's.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastpod.manifest.defaults import CONFIG_SOURCE
from fastpod.runtime.base import ContainerInfo, ForeignPod, SandboxInfo
from fastpod.runtime.labels import MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID

STATIC_SOURCES = frozenset({"file", "http"})
"""The ``config.source`` values of static pods: the ones fastpod takes over."""

DOCKER_TYPE = "io.kubernetes.docker.type"
"""cri-dockerd's (and dockershim's) label telling sandboxes (``podsandbox``) from
containers (``container``)."""

DOCKER_SANDBOX_ID = "io.kubernetes.sandbox.id"
"""cri-dockerd's label naming a container's sandbox."""

DOCKER_ANNOTATION_PREFIX = "annotation."
"""cri-dockerd's prefix of the labels that hold the CRI's annotations."""


def docker_labels(labels: dict[str, str]) -> dict[str, str]:
    """A Docker object's labels as the CRI's labels and annotations in one dict: the
    ``annotation.``-prefixed ones without their prefix, the plain ones over them (as the CRI
    adapter joins a container's annotations and labels). Without such labels (fastpod's own
    objects) the dict itself."""
    joined = {
        key.removeprefix(DOCKER_ANNOTATION_PREFIX): value
        for key, value in labels.items()
        if key.startswith(DOCKER_ANNOTATION_PREFIX)
    }
    if not joined:
        return labels
    joined.update(
        (key, value)
        for key, value in labels.items()
        if not key.startswith(DOCKER_ANNOTATION_PREFIX)
    )
    return joined


def docker_name_attempt(name: str) -> int | None:
    """The attempt a Docker name ``k8s_..._<attempt>[_<random>]`` carries (None if none)."""
    parts = name.lstrip("/").split("_")
    if len(parts) not in (6, 7) or parts[0] != "k8s":
        return None
    try:
        return int(parts[5])
    except ValueError:
        return None


def is_foreign(sandbox: SandboxInfo) -> bool:
    """Whether a sandbox is a pod's that fastpod did not make: the kubelet's labels, not
    fastpod's."""
    return MANAGED_BY not in sandbox.labels and bool(sandbox.labels.get(POD_UID))


def group_foreign(
    sandboxes: Iterable[SandboxInfo], containers: Iterable[ContainerInfo]
) -> list[ForeignPod]:
    """The pods whose sandboxes fastpod did not make, each with its sandboxes and every
    container of its UID (fastpod's own among them: those it started in an adopted pod)."""
    pods: dict[str, list[SandboxInfo]] = {}
    for sandbox in sandboxes:
        if is_foreign(sandbox):
            pods.setdefault(sandbox.pod_uid, []).append(sandbox)
    by_pod: dict[str, list[ContainerInfo]] = {}
    for container in containers:
        if container.pod_uid in pods:
            by_pod.setdefault(container.pod_uid, []).append(container)
    found = []
    for uid, held in pods.items():
        # the newest sandbox speaks for the pod: its annotations are the pod's latest
        newest = max(held, key=lambda sandbox: (sandbox.attempt, sandbox.created))
        labels = newest.labels
        found.append(
            ForeignPod(
                uid=uid,
                name=labels.get(POD_NAME, ""),
                namespace=labels.get(POD_NAMESPACE, ""),
                source=labels.get(CONFIG_SOURCE, ""),
                sandboxes=held,
                containers=by_pod.get(uid, []),
            )
        )
    return found
