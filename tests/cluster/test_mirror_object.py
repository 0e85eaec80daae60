"""A static pod's mirror reads as the kubelet's, and stale or orphaned mirrors are found."""

from __future__ import annotations

from typing import Any

from fastpod.cluster.mirror_object import (
    MIRROR,
    Action,
    action,
    is_mirror,
    merged_status,
    mirror_pod,
    status_patch,
)
from fastpod.manifest.defaults import CONFIG_HASH


def static(config_hash: str = "abc", name: str = "web-node1") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "kube-system",
            "uid": "abc",
            "annotations": {CONFIG_HASH: config_hash, "kubernetes.io/config.source": "file"},
        },
        "spec": {"containers": [{"name": "c", "image": "fastpod.local/busybox:1.36"}]},
        "status": {"phase": "Running"},
    }


def test_mirror_carries_the_hash_an_owner_reference_to_the_node_and_its_name() -> None:
    mirror = mirror_pod(static(), "node1", "node-uid")

    assert mirror["metadata"]["annotations"][MIRROR] == "abc"
    assert mirror["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node1", "uid": "node-uid", "controller": True}
    ]
    assert mirror["spec"]["nodeName"] == "node1"
    assert "uid" not in mirror["metadata"]
    assert "status" not in mirror


def test_making_a_mirror_leaves_the_static_pod_unchanged() -> None:
    pod = static()
    mirror_pod(pod, "node1", "u")["spec"]["containers"][0]["image"] = "other"

    assert pod == static()


def test_a_missing_mirror_is_created_and_a_current_one_kept() -> None:
    pod = static()
    assert action(pod, None, sources_ready=True) is Action.CREATE
    assert action(pod, mirror_pod(pod, "node1", "u"), sources_ready=True) is Action.KEEP


def test_a_mirror_of_another_hash_or_being_deleted_is_replaced() -> None:
    old = mirror_pod(static("old"), "node1", "u")
    deleting = mirror_pod(static(), "node1", "u")
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"

    assert action(static("new"), old, sources_ready=True) is Action.REPLACE
    assert action(static(), deleting, sources_ready=True) is Action.REPLACE


def test_a_pod_of_the_same_name_that_is_no_mirror_is_left_alone() -> None:
    plain = static()
    plain["metadata"]["annotations"] = {}

    assert action(static(), plain, sources_ready=True) is Action.BLOCKED


def test_a_status_patch_nulls_what_the_api_holds_and_ours_lacks_and_keeps_others_conditions() -> (
    None
):
    api_status = {
        "phase": "Pending",
        "message": "old",
        "conditions": [
            {"type": "Ready", "status": "False"},
            {"type": "example.com/gate", "status": "True"},
        ],
        "hostIP": "192.0.2.2",
    }
    ours = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "hostIP": "192.0.2.2",
    }
    assert status_patch(api_status, ours) == {
        "phase": "Running",
        "message": None,
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "example.com/gate", "status": "True"},
        ],
    }
    assert merged_status(api_status, ours)["conditions"][1]["type"] == "example.com/gate"


def test_a_status_the_api_already_holds_needs_no_patch() -> None:
    ours = {"phase": "Running", "podIP": "10.0.0.2", "qosClass": "BestEffort"}
    assert status_patch(dict(ours), ours) == {}


def test_only_a_pod_with_the_mirror_annotation_is_a_mirror() -> None:
    assert is_mirror(mirror_pod(static(name="a"), "node1", "u"))
    assert not is_mirror(static(name="a"))


def test_a_mirror_without_a_static_pod_is_deleted_once_the_sources_are_ready() -> None:
    orphan = mirror_pod(static(), "node1", "u")
    plain = static()
    plain["metadata"]["annotations"] = {}

    assert action(None, orphan, sources_ready=True) is Action.DELETE
    assert action(None, orphan, sources_ready=False) is Action.KEEP
    assert action(None, plain, sources_ready=True) is Action.KEEP
    assert action(None, None, sources_ready=True) is Action.KEEP
