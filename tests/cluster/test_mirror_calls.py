"""The pod calls mirror pods need, against the test API server: a mirror created once its
Node exists, listed by node, its status patched alone, deleted only while it has its UID."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fastpod.cluster.client import ApiClient, ApiFailure
from fastpod.cluster.mirror_object import mirror_pod
from fastpod.manifest.defaults import CONFIG_HASH
from tests.support.cluster_api import LocalApiServer

STATIC = {
    "metadata": {
        "name": "web-node1",
        "namespace": "kube-system",
        "annotations": {CONFIG_HASH: "h1"},
    },
    "spec": {"containers": [{"name": "c", "image": "fastpod.local/busybox:1.36"}]},
}


def test_a_mirror_is_created_listed_patched_and_deleted_by_uid(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    code, node = api_server.request("POST", "/api/v1/nodes", {"metadata": {"name": "node1"}})
    assert code == 201
    path = api_server.write_kubeconfig(tmp_path / "kubelet.conf")

    async def main() -> None:
        client = ApiClient(str(path), qps=50, burst=100)
        try:
            created = await client.create_pod(mirror_pod(STATIC, "node1", node["metadata"]["uid"]))
            pods, version = await client.list_node_pods("node1")
            assert [p["metadata"]["name"] for p in pods] == ["web-node1"]
            assert version
            uid = created["metadata"]["uid"]
            patched = await client.patch_pod_status(
                "web-node1", "kube-system", uid, {"phase": "Running"}
            )
            assert patched["status"]["phase"] == "Running"
            assert patched["spec"]["nodeName"] == "node1"
            with pytest.raises(ApiFailure) as another:
                await client.patch_pod_status(
                    "web-node1", "kube-system", "another-uid", {"phase": "Failed"}
                )
            assert another.value.kind == "conflict"
            with pytest.raises(ApiFailure) as stale:
                await client.delete_pod("web-node1", "kube-system", "another-uid")
            assert stale.value.kind == "conflict"
            await client.delete_pod("web-node1", "kube-system", created["metadata"]["uid"])
            await client.delete_pod("web-node1", "kube-system", created["metadata"]["uid"])
        finally:
            await client.close()

    asyncio.run(main())

    assert api_server.stored("v1/pods", "kube-system", "web-node1") is None
