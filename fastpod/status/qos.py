"""PURE: a pod's quality-of-service class, the kubelet's ``GetPodQOS`` (``helper/qos``).

The class says how the node treats the pod under pressure, and ``status.qosClass`` shows it.
"""

from __future__ import annotations

from fractions import Fraction

from fastpod.manifest.quantity import parse_quantity
from fastpod.model import Pod, QuantityValue, ResourceRequirements

_NO_RESOURCES = ResourceRequirements()
_QOS_RESOURCES = ("cpu", "memory")


def qos_class(pod: Pod) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort``.

    Only positive CPU and memory amounts count. Guaranteed needs both limited in every
    container, and the pod's summed requests equal to its summed limits (the API defaults a
    missing request to its limit). Pod-level ``resources`` are an alpha feature the kubelet
    ignores by default, and so does this.
    """
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for container in [*(pod.spec.containers or ()), *(pod.spec.init_containers or ())]:
        resources = container.resources or _NO_RESOURCES
        _add_positive(requests, resources.requests)
        if not _add_positive(limits, resources.limits).issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed and requests == limits else "Burstable"


def _add_positive(
    totals: dict[str, Fraction], amounts: dict[str, QuantityValue] | None
) -> set[str]:
    """Add the positive CPU and memory ``amounts`` to ``totals``; the names added."""
    added = set()
    for name, value in (amounts or {}).items():
        if name not in _QOS_RESOURCES:
            continue
        amount = parse_quantity(value)
        if amount.numerator > 0:
            total = totals.get(name)
            totals[name] = amount if total is None else total + amount
            added.add(name)
    return added
