"""The node's Lease is the kubelet's: held by the node, renewed every quarter, Node-owned."""

from __future__ import annotations

import datetime

from fastpod.cluster.lease import micro_time, new_lease, renew_interval, renewed


def test_a_new_lease_is_held_by_the_node_for_its_duration() -> None:
    lease = new_lease("node1", None, 40, "2026-12-03T08:00:00.000001Z")

    assert lease["metadata"] == {"name": "node1", "namespace": "kube-node-lease"}
    assert lease["spec"] == {
        "holderIdentity": "node1",
        "leaseDurationSeconds": 40,
        "renewTime": "2026-12-03T08:00:00.000001Z",
    }


def test_a_renewal_keeps_the_version_read_and_adds_the_node_as_owner_once_known() -> None:
    read = new_lease("node1", None, 40, "T1")
    read["metadata"]["resourceVersion"] = "17"

    lease = renewed(read, "node1", "uid-1", 40, "T2")

    assert lease["metadata"]["resourceVersion"] == "17"
    assert lease["spec"]["renewTime"] == "T2"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "node1", "uid": "uid-1"}
    ]
    assert "ownerReferences" not in read["metadata"]


def test_the_lease_is_renewed_every_quarter_of_its_duration() -> None:
    assert renew_interval(40) == 10.0


def test_renew_times_are_micro_times_in_utc() -> None:
    moment = datetime.datetime(2026, 12, 3, 9, 0, 0, 123456, tzinfo=datetime.UTC)

    assert micro_time(moment) == "2026-12-03T09:00:00.123456Z"
