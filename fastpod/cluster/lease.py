"""PURE: the node's Lease in ``kube-node-lease``, the heartbeat the node controller watches.

As the kubelet's lease controller (``k8s.io/component-helpers/apimachinery/lease``): named
after the node, held by it, ``leaseDurationSeconds`` from ``nodeLeaseDurationSeconds`` (40),
renewed every quarter of that (``NodeLeaseRenewIntervalFraction``, 0.25: 10 s), and owned by
the Node once the Node's UID is known (``setNodeOwnerFunc``), so it goes with the Node.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

Lease = dict[str, Any]

NAMESPACE = "kube-node-lease"
RENEW_FRACTION = 0.25


def renew_interval(duration: int) -> float:
    """Seconds between renewals of a lease of ``duration`` seconds."""
    return duration * RENEW_FRACTION


def micro_time(now: datetime.datetime) -> str:
    """A ``metav1.MicroTime`` as the API serializes it (``RFC3339Micro``)."""
    return now.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_lease(node: str, node_uid: str | None, duration: int, now: str) -> Lease:
    """The Lease to create for ``node`` at ``now`` (a MicroTime)."""
    lease: Lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": node, "namespace": NAMESPACE},
        "spec": {"holderIdentity": node, "leaseDurationSeconds": duration, "renewTime": now},
    }
    return owned(lease, node, node_uid)


def renewed(lease: Lease, node: str, node_uid: str | None, duration: int, now: str) -> Lease:
    """``lease`` as read, renewed at ``now`` by ``node`` (an update carrying its
    ``resourceVersion``, so a concurrent change is a conflict, not lost)."""
    updated = copy.deepcopy(lease)
    spec = updated.setdefault("spec", {})
    spec.update(holderIdentity=node, leaseDurationSeconds=duration, renewTime=now)
    return owned(updated, node, node_uid)


def owned(lease: Lease, node: str, node_uid: str | None) -> Lease:
    """``lease`` owned by the Node (once its UID is known), as ``setNodeOwnerFunc`` sets it."""
    if node_uid is None or lease["metadata"].get("ownerReferences"):
        return lease
    lease["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Node", "name": node, "uid": node_uid}
    ]
    return lease
