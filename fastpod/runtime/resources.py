"""PURE: a container's resources as the kernel's cgroup knobs: bytes of memory, CPU in
nano-cores, CPU shares, as the kubelet sets them (``kuberuntime_container_linux.go``)."""

from __future__ import annotations

import math
from fractions import Fraction

import msgspec

from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.model import Container

MIN_SHARES = 2
MAX_SHARES = 262_144
"""The kubelet's bounds of CPU shares (``MilliCPUToShares``)."""


class Resources(msgspec.Struct, frozen=True):
    """Limits as the kernel takes them: bytes of memory, CPU in nano-cores, CPU shares."""

    memory_bytes: int | None = None
    nano_cpus: int | None = None
    cpu_shares: int = MIN_SHARES
    """1024 a core requested; the kubelet's minimum, 2, without a request."""
    oom_score_adj: int | None = None
    """The OOM score adjustment of its processes (:mod:`fastpod.runtime.oom`); None leaves
    the runtime's."""


def resources(container: Container) -> Resources:
    """Memory and CPU limits and the CPU request as the kernel's cgroup knobs."""
    requirements = container.resources
    if requirements is None:
        return Resources()
    limits, requests = requirements.limits or {}, requirements.requests or {}
    memory = _quantity(limits.get("memory"))
    cpu_limit = _quantity(limits.get("cpu"))
    cpu_request = _quantity(requests.get("cpu"))
    return Resources(
        memory_bytes=int(memory) if memory is not None else None,
        nano_cpus=int(cpu_limit * 1_000_000_000) if cpu_limit is not None else None,
        cpu_shares=cpu_shares(cpu_request),
    )


def cpu_shares(request: Fraction | None) -> int:
    """The kubelet's ``MilliCPUToShares``: 1024 a core of the request, counted in whole
    millicores rounded up, within [2, 262144]; 2 without a request, as the kubelet sets it
    (Docker's and containerd's own default would be 1024, a core's worth)."""
    if request is None:
        return MIN_SHARES
    millicores = math.ceil(request * 1000)
    return min(MAX_SHARES, max(MIN_SHARES, millicores * 1024 // 1000))


def _quantity(value: object) -> Fraction | None:
    if value is None:
        return None
    try:
        return parse_quantity(str(value))
    except QuantityError:
        return None
