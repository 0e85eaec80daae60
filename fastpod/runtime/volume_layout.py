"""PURE: where each of a pod's volumes lives on the host, and which need a tmpfs of what size.

``hostPath`` is where it says. The others live in a directory per kind under the pod's
volumes directory (``<root-dir>/pods/<uid>/volumes/``): ``empty-dir``, ``downward-api`` and
``projected``, the kubelet's ``kubernetes.io~empty-dir`` and the like under shorter names.

Three kinds are memory: an ``emptyDir`` with ``medium: Memory``, and every ``downwardAPI``
and ``projected`` volume, which the kubelet backs with a memory ``emptyDir`` of its own
(``wrappedVolumeSpec`` in ``pkg/volume/downwardapi`` and ``pkg/volume/projected``). Their
tmpfs is sized as the kubelet's ``calculateEmptyDirMemorySize`` (``pkg/volume/emptydir``)
sizes it: the node's allocatable memory, or the pod's memory limit when that is smaller, or
the volume's ``sizeLimit`` when that is smaller still.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.model import Container, Pod, QuantityValue, Volume


def volume_host_path(volume: Volume, volumes_dir: str) -> str | None:
    """Where a volume lives on the host, for the kinds fastpod can provide; ``volumes_dir``
    is the pod's volumes directory."""
    if volume.host_path is not None and volume.host_path.path:
        return volume.host_path.path
    kind = volume_kind_directory(volume)
    if kind is None:
        return None
    return os.path.join(volumes_dir, kind, volume.name or "")


def volume_kind_directory(volume: Volume) -> str | None:
    """The directory under a pod's volumes directory holding volumes of this one's kind."""
    if volume.empty_dir is not None:
        return "empty-dir"
    if volume.downward_api is not None:
        return "downward-api"
    if volume.projected is not None:
        return "projected"
    return None


VOLUME_KIND_DIRECTORIES = ("empty-dir", "downward-api", "projected")
"""Every directory :func:`volume_kind_directory` names: where a pod's mounts can be."""


def volume_is_projected(volume: Volume) -> bool:
    """Whether fastpod writes the volume's files itself (downwardAPI, projected): such a
    volume is mounted read-only, as the kubelet mounts it."""
    return volume.downward_api is not None or volume.projected is not None


def volume_in_memory(volume: Volume) -> bool:
    """Whether the volume is a tmpfs: a memory ``emptyDir``, or a projected kind."""
    if volume.empty_dir is not None:
        return volume.empty_dir.medium == "Memory"
    return volume_is_projected(volume)


def tmpfs_size(pod: Pod, volume: Volume, allocatable_memory: int | None) -> int | None:
    """The bytes of the volume's tmpfs (``size=``); None leaves the kernel's default (half
    the node's memory), as the kubelet does when it knows no allocatable memory."""
    size = allocatable_memory
    limit = pod_memory_limit(pod)
    if limit is not None and limit > 0 and (size is None or limit <= size):
        size = limit
    requested = volume.empty_dir.size_limit if volume.empty_dir is not None else None
    wanted = _bytes(requested)
    if wanted is not None and wanted > 0 and (size is None or wanted <= size):
        size = wanted
    return size


def pod_memory_limit(pod: Pod) -> int | None:
    """The pod's memory limit as the kubelet sets its cgroup (``ResourceConfigForPod``):
    a pod-level limit when the spec has one, else only when every container has one, the
    larger of what the main containers and sidecars use together and what the heaviest init
    container uses beside the sidecars started before it (``PodLimits``)."""
    spec = pod.spec
    pod_level = _bytes((spec.resources.limits or {}).get("memory")) if spec.resources else None
    if pod_level:
        return pod_level
    every = [*(spec.init_containers or ()), *(spec.containers or ())]
    if not every or not all(_container_limit(container) for container in every):
        return None
    total = sum(_container_limit(container) or 0 for container in spec.containers or ())
    sidecars = 0
    heaviest_init = 0
    for container in spec.init_containers or ():
        limit = _container_limit(container) or 0
        if container.restart_policy == "Always":
            total += limit
            sidecars += limit
        else:
            heaviest_init = max(heaviest_init, limit + sidecars)
    return max(total, heaviest_init)


def _container_limit(container: Container) -> int | None:
    resources = container.resources
    return _bytes((resources.limits or {}).get("memory")) if resources else None


def _bytes(quantity: QuantityValue | None) -> int | None:
    """A quantity in whole bytes, rounded up as ``resource.Quantity.Value`` rounds."""
    if quantity is None:
        return None
    try:
        amount: Fraction = parse_quantity(quantity)
    except QuantityError:
        return None
    return math.ceil(amount)
