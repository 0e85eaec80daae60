"""PURE: what this node's Node object should be, as the kubelet makes it.

The kubelet builds its Node in ``initialNode`` (``pkg/kubelet/kubelet_node_status.go``) and
sets its status with the setters of ``pkg/kubelet/nodestatus/setters.go``: ``NodeAddress``,
``MachineInfo`` (capacity and allocatable), ``VersionInfo``, ``GoRuntime``, the pressure
conditions and ``ReadyCondition`` (Ready last, with the kubelet's reasons and messages). An
existing Node is reconciled (``updateDefaultLabels``, the attach-detach annotation), never
recreated. Times are given by the caller, as RFC 3339 text.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

Node = dict[str, Any]
"""A v1 Node as plain JSON values."""

CONTROLLER_MANAGED_ATTACH = "volumes.kubernetes.io/controller-managed-attach-detach"
"""Set to ``"true"`` by a kubelet with ``enableControllerAttachDetach`` (its default)."""

EVICTION_HARD_MEMORY = 100 * 1024 * 1024
"""The default hard eviction threshold ``memory.available<100Mi``: allocatable leaves it out."""

EVICTION_HARD_NODEFS_PERCENT = 10
"""The default ``nodefs.available<10%``: allocatable ephemeral storage leaves it out."""

RUNTIME_DOWN = "container runtime is down"
"""The kubelet's ``runtimeState`` error when the runtime does not answer its status."""


@dataclass(frozen=True, slots=True)
class NodeFacts:
    """What the host and its runtime are, read by the caller (``cluster/facts.py``)."""

    hostname: str
    """The host's name, lowercased: the ``kubernetes.io/hostname`` label and address."""
    address: str
    """The node's address (``--node-ip`` or the default route's): its ``InternalIP``."""
    operating_system: str
    architecture: str
    """``GOARCH`` spelling: ``amd64``, ``arm64``."""
    kernel_version: str
    os_image: str
    cpus: int
    memory: int
    """Bytes (``MemTotal``)."""
    ephemeral_storage: int
    """Bytes: the size of the file system of the root directory."""
    machine_id: str = ""
    system_uuid: str = ""
    boot_id: str = ""


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """How this node registers: its name and the kubelet settings that shape the Node."""

    name: str
    kubelet_version: str
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[tuple[str, str, str], ...] = ()
    max_pods: int = 110


_PRESSURE = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)
"""The pressure conditions fastpod reports False: it measures no pressure (no eviction)."""

DEFAULT_LABELS = (
    "kubernetes.io/hostname",
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
)
"""The labels ``initialNode`` sets and ``updateDefaultLabels`` keeps right on an existing Node."""


def initial_node(settings: NodeSettings, facts: NodeFacts, status: dict[str, Any]) -> Node:
    """The Node to create: ``initialNode``'s labels, annotation and taints, and ``status``."""
    labels = default_labels(facts)
    labels.update(settings.labels)
    node: Node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": settings.name,
            "labels": labels,
            "annotations": {CONTROLLER_MANAGED_ATTACH: "true"},
        },
        "spec": {},
        "status": status,
    }
    if settings.taints:
        node["spec"]["taints"] = [
            {"key": key, "value": value, "effect": effect}
            if value
            else {"key": key, "effect": effect}
            for key, value, effect in settings.taints
        ]
    return node


def default_labels(facts: NodeFacts) -> dict[str, str]:
    """The kubelet's well-known labels of this node."""
    return {
        "kubernetes.io/hostname": facts.hostname,
        "kubernetes.io/os": facts.operating_system,
        "kubernetes.io/arch": facts.architecture,
        "beta.kubernetes.io/os": facts.operating_system,
        "beta.kubernetes.io/arch": facts.architecture,
    }


def reconciled_metadata(existing: Node, facts: NodeFacts) -> dict[str, Any] | None:
    """What an existing Node's metadata needs so it reads as this node's (``updateDefaultLabels``
    and ``reconcileCMADAnnotationWithExistingNode``): a patch of ``metadata``, or None."""
    meta = existing.get("metadata", {})
    labels = meta.get("labels") or {}
    wrong = {key: value for key, value in default_labels(facts).items() if labels.get(key) != value}
    patch: dict[str, Any] = {}
    if wrong:
        patch["labels"] = wrong
    if (meta.get("annotations") or {}).get(CONTROLLER_MANAGED_ATTACH) != "true":
        patch["annotations"] = {CONTROLLER_MANAGED_ATTACH: "true"}
    return patch or None


def node_status(
    settings: NodeSettings,
    facts: NodeFacts,
    runtime_version: str,
    runtime_problems: tuple[str, ...],
    previous: dict[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    """The Node's status at ``now``: addresses, capacity and allocatable, node info and the
    conditions, each condition's ``lastTransitionTime`` kept from ``previous`` (the status
    last posted or read) while its status does not change.

    ``runtime_version`` is ``<name>://<version>`` (``Unknown`` for a version the runtime did
    not give); ``runtime_problems`` make the node NotReady with the kubelet's reason.
    """
    capacity = {
        "cpu": str(facts.cpus),
        "memory": binary_quantity(facts.memory),
        "ephemeral-storage": binary_quantity(facts.ephemeral_storage),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": str(settings.max_pods),
    }
    storage = facts.ephemeral_storage
    allocatable = {
        **capacity,
        "memory": binary_quantity(max(facts.memory - EVICTION_HARD_MEMORY, 0)),
        "ephemeral-storage": binary_quantity(
            storage - storage * EVICTION_HARD_NODEFS_PERCENT // 100
        ),
    }
    before = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
    conditions = [
        _condition(kind, "False", reason, message, before.get(kind), now)
        for kind, reason, message in _PRESSURE
    ]
    if runtime_problems:
        ready = ("False", "KubeletNotReady", ",".join(runtime_problems))
    else:
        ready = ("True", "KubeletReady", "kubelet is posting ready status")
    conditions.append(_condition("Ready", *ready, before.get("Ready"), now))
    return {
        "addresses": [
            {"type": "InternalIP", "address": facts.address},
            {"type": "Hostname", "address": facts.hostname},
        ],
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions,
        "nodeInfo": {
            "machineID": facts.machine_id,
            "systemUUID": facts.system_uuid,
            "bootID": facts.boot_id,
            "kernelVersion": facts.kernel_version,
            "osImage": facts.os_image,
            "containerRuntimeVersion": runtime_version,
            "kubeletVersion": settings.kubelet_version,
            "kubeProxyVersion": "",
            "operatingSystem": facts.operating_system,
            "architecture": facts.architecture,
        },
    }


def status_changed(posted: dict[str, Any] | None, current: dict[str, Any]) -> bool:
    """The kubelet's ``nodeStatusHasChanged``: anything but the conditions' heartbeat times
    differs (only the fields fastpod sets are compared)."""
    if posted is None:
        return True
    return _without_heartbeats({key: posted.get(key) for key in current}) != _without_heartbeats(
        current
    )


def ready(status: dict[str, Any]) -> bool:
    """Whether the status says the node is Ready."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def binary_quantity(amount: int) -> str:
    """A byte count as the API serializes a binary-SI quantity: the largest of ``Ki``,
    ``Mi``, ``Gi``... that divides it, else plain bytes (``16393400Ki``, ``94580335255``)."""
    for power, suffix in ((5, "Pi"), (4, "Ti"), (3, "Gi"), (2, "Mi"), (1, "Ki")):
        unit = 1024**power
        if amount and amount % unit == 0:
            return f"{amount // unit}{suffix}"
    return str(amount)


def _condition(
    kind: str,
    status: str,
    reason: str,
    message: str,
    previous: dict[str, Any] | None,
    now: str,
) -> dict[str, Any]:
    transition = now
    if previous is not None and previous.get("status") == status:
        transition = previous.get("lastTransitionTime") or now
    return {
        "type": kind,
        "status": status,
        "lastHeartbeatTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


def _without_heartbeats(status: dict[str, Any]) -> dict[str, Any]:
    stripped = copy.deepcopy(status)
    for condition in stripped.get("conditions") or []:
        condition.pop("lastHeartbeatTime", None)
    return stripped
