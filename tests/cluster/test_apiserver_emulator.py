"""The test API server keeps the API server's rules fastpod depends on, and kubectl reads it.

These check the emulator itself (``tests/support/apiserver.py``), so that what fastpod's
tests find there is what a kube-apiserver would have answered.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster_api import LocalApiServer, kubectl

NODE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "node1", "labels": {"kubernetes.io/hostname": "node1"}},
    "status": {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
            }
        ],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
        "nodeInfo": {"kubeletVersion": "v1.32.0-fastpod.0.1.0"},
    },
}


def mirror_pod(node_uid: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web-node1",
            "namespace": "kube-system",
            "annotations": {"kubernetes.io/config.mirror": "abc123"},
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "name": "node1",
                    "uid": node_uid,
                    "controller": True,
                }
            ],
        },
        "spec": {
            "nodeName": "node1",
            "containers": [{"name": "web", "image": "fastpod.local/busybox:1.36"}],
            **spec,
        },
        "status": {"phase": "Running"},
    }


def create_node(server: LocalApiServer) -> dict[str, Any]:
    code, node = server.request("POST", "/api/v1/nodes", NODE)
    assert code == 201
    assert isinstance(node, dict)
    return node


def test_a_created_object_gets_uid_version_and_creation_time(api_server: LocalApiServer) -> None:
    node = create_node(api_server)

    meta = node["metadata"]
    assert len(meta["uid"]) == 36
    assert int(meta["resourceVersion"]) > 0
    assert meta["creationTimestamp"].endswith("Z")
    assert api_server.stored("v1/nodes", None, "node1") == node


def test_a_name_taken_is_a_409_already_exists(api_server: LocalApiServer) -> None:
    create_node(api_server)

    code, status = api_server.request("POST", "/api/v1/nodes", NODE)

    assert code == 409
    assert (status["reason"], status["message"]) == (
        "AlreadyExists",
        'nodes "node1" already exists',
    )


def test_an_update_with_a_stale_resource_version_is_a_409_conflict(
    api_server: LocalApiServer,
) -> None:
    lease = {
        "metadata": {"name": "node1", "namespace": "kube-node-lease"},
        "spec": {"holderIdentity": "node1", "leaseDurationSeconds": 40},
    }
    path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    code, created = api_server.request("POST", path, lease)
    assert code == 201
    renewed = {**created, "spec": {**created["spec"], "renewTime": "2026-12-03T08:00:00.000000Z"}}
    code, first = api_server.request("PUT", f"{path}/node1", renewed)
    assert code == 200

    code, status = api_server.request("PUT", f"{path}/node1", renewed)

    assert code == 409
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]
    assert int(first["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_a_namespace_that_does_not_exist_refuses_the_create(api_server: LocalApiServer) -> None:
    code, status = api_server.request(
        "POST", "/api/v1/namespaces/nowhere/events", {"metadata": {"name": "e1"}}
    )

    assert (code, status["message"]) == (404, 'namespaces "nowhere" not found')


def test_the_status_subresource_changes_the_status_and_nothing_else(
    api_server: LocalApiServer,
) -> None:
    create_node(api_server)
    patch = {
        "metadata": {"labels": {"extra": "yes"}},
        "spec": {"unschedulable": True},
        "status": {"nodeInfo": {"kubeletVersion": "v2"}},
    }

    code, node = api_server.request(
        "PATCH", "/api/v1/nodes/node1/status", patch, content_type="application/merge-patch+json"
    )

    assert code == 200
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v2"
    assert node["status"]["conditions"][0]["type"] == "Ready"  # merged, not replaced
    assert node["metadata"]["labels"]["extra"] == "yes"
    assert "unschedulable" not in node.get("spec", {})


def test_an_update_of_the_object_leaves_its_status_alone(api_server: LocalApiServer) -> None:
    create_node(api_server)

    code, node = api_server.request(
        "PATCH",
        "/api/v1/nodes/node1",
        {"spec": {"unschedulable": True}, "status": {"nodeInfo": {"kubeletVersion": "v2"}}},
        content_type="application/merge-patch+json",
    )

    assert code == 200
    assert node["spec"]["unschedulable"] is True
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.0-fastpod.0.1.0"


def test_a_mirror_pod_is_admitted_once_its_node_exists(api_server: LocalApiServer) -> None:
    path = "/api/v1/namespaces/kube-system/pods"
    code, status = api_server.request("POST", path, mirror_pod("no-such-uid"))
    assert (code, status["message"]) == (404, 'nodes "node1" not found')
    node = create_node(api_server)

    code, pod = api_server.request("POST", path, mirror_pod(node["metadata"]["uid"]))

    assert code == 201
    assert pod["status"] == {"phase": "Pending"}  # a new pod's status is the API server's
    assert pod["metadata"]["annotations"]["kubernetes.io/config.mirror"] == "abc123"


def test_mirror_pods_that_reference_api_objects_or_other_owners_are_forbidden(
    api_server: LocalApiServer,
) -> None:
    uid = create_node(api_server)["metadata"]["uid"]
    path = "/api/v1/namespaces/kube-system/pods"
    no_owner = mirror_pod(uid)
    no_owner["metadata"]["ownerReferences"] = []
    other_uid = mirror_pod("another-uid")
    cases = {
        "a mirror pod may not reference service accounts": mirror_pod(
            uid, serviceAccountName="default"
        ),
        "a mirror pod may not reference secrets": mirror_pod(
            uid, volumes=[{"name": "s", "secret": {"secretName": "token"}}]
        ),
        "a mirror pod may not use ServiceAccountToken volume projections": mirror_pod(
            uid,
            volumes=[
                {"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}
            ],
        ),
        'node "node1" can not create pods that reference configmaps': mirror_pod(
            uid, volumes=[{"name": "c", "configMap": {"name": "settings"}}]
        ),
        'node "node1" can only create pods with an owner reference set to itself': no_owner,
        f"node node1 UID mismatch: expected another-uid got {uid}": other_uid,
    }

    answers = {why: api_server.request("POST", path, pod) for why, pod in cases.items()}

    for why, (code, status) in answers.items():
        assert code == 403, why
        assert status["reason"] == "Forbidden"
        assert status["message"] == f'pods "web-node1" is forbidden: {why}'


def test_deleting_a_pod_bound_to_a_node_waits_for_its_grace_period(
    api_server: LocalApiServer,
) -> None:
    uid = create_node(api_server)["metadata"]["uid"]
    path = "/api/v1/namespaces/kube-system/pods"
    code, pod = api_server.request("POST", path, mirror_pod(uid))
    assert code == 201

    code, marked = api_server.request("DELETE", f"{path}/web-node1")
    assert code == 200
    assert marked["metadata"]["deletionGracePeriodSeconds"] == 30
    assert api_server.stored("v1/pods", "kube-system", "web-node1") is not None
    code, status = api_server.request(
        "DELETE",
        f"{path}/web-node1",
        {"gracePeriodSeconds": 0, "preconditions": {"uid": "another"}},
    )
    assert code == 409
    assert "Precondition failed: UID in precondition: another" in status["message"]
    code, _ = api_server.request(
        "DELETE",
        f"{path}/web-node1",
        {"gracePeriodSeconds": 0, "preconditions": {"uid": pod["metadata"]["uid"]}},
    )

    assert code == 200
    assert api_server.stored("v1/pods", "kube-system", "web-node1") is None


def test_a_watch_resumes_after_a_resource_version_until_it_is_compacted(
    api_server: LocalApiServer,
) -> None:
    node = create_node(api_server)
    since = node["metadata"]["resourceVersion"]
    api_server.request(
        "PATCH",
        "/api/v1/nodes/node1/status",
        {"status": {"nodeInfo": {"kubeletVersion": "v2"}}},
        content_type="application/merge-patch+json",
    )

    code, events = api_server.request(
        "GET", f"/api/v1/nodes?watch=true&resourceVersion={since}&timeoutSeconds=1"
    )
    api_server.call(api_server.emulator.compact)
    _, expired = api_server.request(
        "GET", f"/api/v1/nodes?watch=true&resourceVersion={since}&timeoutSeconds=1"
    )

    assert code == 200
    assert [(e["type"], e["object"]["status"]["nodeInfo"]["kubeletVersion"]) for e in events] == [
        ("MODIFIED", "v2")
    ]
    assert expired[0]["type"] == "ERROR"
    assert (expired[0]["object"]["code"], expired[0]["object"]["reason"]) == (410, "Expired")


def test_discovery_and_lists_read_as_the_api_servers(api_server: LocalApiServer) -> None:
    _, core = api_server.request("GET", "/api/v1")
    _, nodes = api_server.request("GET", "/api/v1/nodes")

    assert core["groupVersion"] == "v1"
    assert {"nodes", "pods", "pods/status"} <= {r["name"] for r in core["resources"]}
    assert (nodes["kind"], nodes["apiVersion"]) == ("NodeList", "v1")
    assert int(nodes["metadata"]["resourceVersion"]) > 0


def test_kubectl_lists_nodes_and_pods_as_on_a_cluster(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    uid = create_node(api_server)["metadata"]["uid"]
    api_server.request("POST", "/api/v1/namespaces/kube-system/pods", mirror_pod(uid))
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubeconfig")

    nodes = kubectl(kubeconfig, "get", "nodes").splitlines()
    pods = kubectl(kubeconfig, "get", "pods", "-A", "-o", "wide").splitlines()

    assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert nodes[1].split()[:3] == ["node1", "Ready", "<none>"]
    assert pods[0].split()[:6] == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert pods[1].split()[:5] == ["kube-system", "web-node1", "0/1", "Pending", "0"]
    assert "node1" in pods[1].split()


def test_kubectl_reaches_the_server_over_https_with_a_client_certificate(
    tls_api_server: LocalApiServer, tmp_path: Path
) -> None:
    create_node(tls_api_server)
    kubeconfig = tls_api_server.write_kubeconfig(tmp_path / "kubeconfig", embedded=False)

    nodes = kubectl(kubeconfig, "get", "nodes", "-o", "name")

    assert nodes.split() == ["node/node1"]


def test_a_strategic_merge_patch_merges_conditions_by_type(api_server: LocalApiServer) -> None:
    """As ``patchMergeKey: type``: a writer's conditions leave the others' alone."""
    create_node(api_server)
    network = {"type": "NetworkUnavailable", "status": "False", "reason": "RouteCreated"}
    api_server.request(
        "PATCH",
        "/api/v1/nodes/node1/status",
        {"status": {"conditions": [network]}},
        content_type="application/strategic-merge-patch+json",
    )

    code, node = api_server.request(
        "PATCH",
        "/api/v1/nodes/node1/status",
        {"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        content_type="application/strategic-merge-patch+json",
    )

    assert code == 200
    assert {c["type"]: c["status"] for c in node["status"]["conditions"]} == {
        "Ready": "False",
        "NetworkUnavailable": "False",
    }
    assert node["status"]["conditions"][0]["reason"] == "KubeletReady"  # merged into


def test_the_https_server_refuses_a_client_without_a_certificate(
    tls_api_server: LocalApiServer,
) -> None:
    assert tls_api_server.credentials is not None
    context = ssl.create_default_context(cadata=tls_api_server.credentials.ca.decode())

    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(tls_api_server.url + "/api/v1/nodes", context=context, timeout=10)
