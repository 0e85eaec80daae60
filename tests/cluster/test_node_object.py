"""The Node fastpod registers reads as a kubelet's: labels, taints, capacity, conditions."""

from __future__ import annotations

from typing import Any

from fastpod.cluster.node_object import (
    RUNTIME_DOWN,
    NodeFacts,
    NodeSettings,
    binary_quantity,
    initial_node,
    node_status,
    ready,
    reconciled_metadata,
    status_changed,
)

FACTS = NodeFacts(
    hostname="node1",
    address="10.0.0.5",
    operating_system="linux",
    architecture="amd64",
    kernel_version="6.1.0-18-amd64",
    os_image="Debian GNU/Linux 12 (bookworm)",
    cpus=4,
    memory=8 * 1024**3,
    ephemeral_storage=100 * 1024**3 + 512,
    machine_id="m1",
    boot_id="b1",
)
SETTINGS = NodeSettings(
    name="node1",
    kubelet_version="v1.32.0-fastpod.0.1.0",
    labels=(("node-role.kubernetes.io/infra", ""), ("kubernetes.io/hostname", "alias")),
    taints=(("dedicated", "infra", "NoSchedule"), ("maintenance", "", "NoExecute")),
    max_pods=250,
)


def status(problems: tuple[str, ...] = (), previous: Any = None, now: str = "T1") -> Any:
    return node_status(SETTINGS, FACTS, "docker://27.5.1", problems, previous, now)


def conditions(node_status: Any) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in node_status["conditions"]}


def test_the_node_has_the_kubelets_labels_annotation_and_the_taints_it_registers_with() -> None:
    node = initial_node(SETTINGS, FACTS, status())

    assert node["metadata"]["labels"] == {
        "kubernetes.io/hostname": "alias",  # --node-labels win, as in initialNode
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
        "node-role.kubernetes.io/infra": "",
    }
    assert node["metadata"]["annotations"] == {
        "volumes.kubernetes.io/controller-managed-attach-detach": "true"
    }
    assert node["spec"]["taints"] == [
        {"key": "dedicated", "value": "infra", "effect": "NoSchedule"},
        {"key": "maintenance", "effect": "NoExecute"},
    ]


def test_capacity_is_the_hosts_and_allocatable_leaves_out_the_eviction_thresholds() -> None:
    current = status()

    assert current["capacity"] == {
        "cpu": "4",
        "memory": "8Gi",
        "ephemeral-storage": str(100 * 1024**3 + 512),
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "pods": "250",
    }
    assert current["allocatable"]["memory"] == "8092Mi"  # 8Gi less 100Mi
    storage = 100 * 1024**3 + 512
    assert current["allocatable"]["ephemeral-storage"] == str(storage - storage // 10)
    assert current["allocatable"]["pods"] == "250"


def test_the_node_is_ready_with_the_kubelets_reasons_and_no_pressure() -> None:
    current = status()

    assert [c["type"] for c in current["conditions"]][-1] == "Ready"  # Ready last
    assert conditions(current) == {
        "MemoryPressure": (
            "False",
            "KubeletHasSufficientMemory",
            "kubelet has sufficient memory available",
        ),
        "DiskPressure": ("False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        "PIDPressure": ("False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        "Ready": ("True", "KubeletReady", "kubelet is posting ready status"),
    }
    assert ready(current)


def test_a_runtime_that_does_not_answer_makes_the_node_not_ready() -> None:
    current = status((RUNTIME_DOWN,))

    assert conditions(current)["Ready"] == ("False", "KubeletNotReady", "container runtime is down")
    assert not ready(current)


def test_a_conditions_transition_time_stays_until_its_status_changes() -> None:
    first = status(now="T1")
    same = status(previous=first, now="T2")
    down = status((RUNTIME_DOWN,), previous=same, now="T3")

    ready_then = next(c for c in same["conditions"] if c["type"] == "Ready")
    ready_now = next(c for c in down["conditions"] if c["type"] == "Ready")
    assert (ready_then["lastTransitionTime"], ready_then["lastHeartbeatTime"]) == ("T1", "T2")
    assert (ready_now["lastTransitionTime"], ready_now["lastHeartbeatTime"]) == ("T3", "T3")


def test_only_a_change_beyond_the_heartbeat_times_is_a_change() -> None:
    first = status(now="T1")

    assert status_changed(None, first)
    assert not status_changed(first, status(previous=first, now="T2"))
    assert status_changed(first, status((RUNTIME_DOWN,), previous=first, now="T2"))


def test_an_existing_node_gets_back_its_default_labels_and_nothing_else() -> None:
    existing = {
        "metadata": {
            "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "arm64", "team": "a"},
            "annotations": {"volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        }
    }
    current = initial_node(SETTINGS, FACTS, status())

    assert reconciled_metadata(existing, FACTS) == {
        "labels": {
            "kubernetes.io/hostname": "node1",
            "kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": "amd64",
        }
    }
    assert reconciled_metadata(current, FACTS) == {"labels": {"kubernetes.io/hostname": "node1"}}


def test_byte_counts_read_as_the_api_writes_binary_quantities() -> None:
    assert binary_quantity(16 * 1024**3) == "16Gi"
    assert binary_quantity(24683664 * 1024) == "24683664Ki"
    assert binary_quantity(94580335255) == "94580335255"
    assert binary_quantity(0) == "0"
