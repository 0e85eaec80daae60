"""PURE: a container's OOM score adjustment, as the kubelet sets it (``qos/policy.go``).

The kernel kills the process with the highest OOM score first; the adjustment moves a
container's processes along that order by its pod's quality of service: node-critical and
Guaranteed pods last, BestEffort first, Burstable in between by how much of the node's
memory they request. Lowering a score needs ``CAP_SYS_RESOURCE``: where fastpod's host
lacks it, the runtime could not set what is asked, so the adjustment is clamped to what
the host allows (:attr:`HostFacts.oom_score_adj_floor
<fastpod.runtime.security.HostFacts.oom_score_adj_floor>`).
"""

from __future__ import annotations

import math

from fastpod.manifest.quantity import QuantityError, parse_quantity
from fastpod.model import Container, Pod
from fastpod.status.qos import qos_class

GUARANTEED = -997
BEST_EFFORT = 1000
"""The kubelet's adjustments of Guaranteed and node-critical containers, of BestEffort ones
(a sandbox's is :data:`~fastpod.runtime.security.SANDBOX_OOM_SCORE_ADJ`)."""

NODE_CRITICAL = "system-node-critical"


def container_oom_score_adj(pod: Pod, container: Container, memory_capacity: int) -> int:
    """``GetContainerOOMScoreAdjust``: -997 for a node-critical pod (every static pod is
    critical; node-critical when its priority class says so) or a Guaranteed one, 1000 for
    BestEffort; else 1000 less a thousandth of the node's memory for each thousandth the
    container requests, within 3 to 999. A sidecar gets no more than the pod's regular
    container requesting the least would."""
    if pod.spec.priority_class_name == NODE_CRITICAL:
        return GUARANTEED
    qos = qos_class(pod)
    if qos == "Guaranteed":
        return GUARANTEED
    if qos == "BestEffort" or memory_capacity <= 0:
        return BEST_EFFORT
    adjust = 1000 - (1000 * _memory_request(container)) // memory_capacity
    sidecar = any(c is container for c in pod.spec.init_containers or ())
    if sidecar and container.restart_policy == "Always":
        least = min((_memory_request(c) for c in pod.spec.containers or ()), default=0)
        adjust = min(adjust, 1000 - (1000 * least) // memory_capacity)
    if adjust < 1000 + GUARANTEED:
        return 1000 + GUARANTEED
    if adjust == BEST_EFFORT:
        return BEST_EFFORT - 1
    return adjust


def allowed(adjust: int, floor: int | None) -> int:
    """``adjust`` as the host lets a runtime set it: no lower than ``floor`` (None: any)."""
    return adjust if floor is None else max(adjust, floor)


def _memory_request(container: Container) -> int:
    """The memory request in bytes, rounded up (``Requests.Memory().Value()``); 0 without."""
    requests = container.resources.requests if container.resources is not None else None
    value = (requests or {}).get("memory")
    if value is None:
        return 0
    try:
        return math.ceil(parse_quantity(value))
    except QuantityError:
        return 0
