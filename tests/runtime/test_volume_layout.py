"""Where a pod's volumes live, and the size of a memory volume's tmpfs, as the kubelet's
``calculateEmptyDirMemorySize`` and ``ResourceConfigForPod`` work it out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fastpod.model import Pod, Volume
from fastpod.runtime.volume_layout import (
    pod_memory_limit,
    tmpfs_size,
    volume_host_path,
    volume_in_memory,
)
from tests.support import FILE
from tests.support.pods import decoded, pod_document

MI = 2**20
NODE_MEMORY = 1024 * MI


def pod_with(
    *limits: str | None,
    init: tuple[tuple[str | None, bool], ...] = (),
    pod_limit: str | None = None,
    volume: dict[str, Any] | None = None,
) -> Pod:
    """A pod with a container per entry of ``limits`` (its memory limit, None for none),
    init containers ``(limit, is_sidecar)``, a pod-level limit and one volume."""

    def container(name: str, limit: str | None) -> dict[str, Any]:
        resources = {"limits": {"memory": limit}} if limit else {}
        return {"name": name, "image": "busybox:1.36", "resources": resources}

    document = pod_document("web", extra_spec={"volumes": [volume or {"name": "v"}]})
    spec = document["spec"]
    spec["containers"] = [container(f"c{index}", limit) for index, limit in enumerate(limits)]
    spec["initContainers"] = [
        {**container(f"i{index}", limit), **({"restartPolicy": "Always"} if sidecar else {})}
        for index, (limit, sidecar) in enumerate(init)
    ]
    if pod_limit is not None:
        spec["resources"] = {"limits": {"memory": pod_limit}}
    return decoded(json.dumps(document).encode(), FILE)


def only_volume(pod: Pod) -> Volume:
    return (pod.spec.volumes or [])[0]


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(pod_with("100Mi", "50Mi"), 150 * MI, id="sum-of-containers"),
        pytest.param(pod_with("100Mi", None), None, id="one-without-a-limit"),
        pytest.param(pod_with("100Mi", init=(("300Mi", False),)), 300 * MI, id="heavy-init"),
        pytest.param(
            pod_with("100Mi", init=(("20Mi", True), ("90Mi", False))),
            120 * MI,
            id="sidecar-beside-main-and-init",
        ),
        pytest.param(pod_with("100Mi", init=((None, False),)), None, id="init-without-limit"),
        pytest.param(pod_with(None, pod_limit="64Mi"), 64 * MI, id="pod-level-limit"),
    ],
)
def test_the_pods_memory_limit_is_its_cgroups(pod: Pod, expected: int | None) -> None:
    assert pod_memory_limit(pod) == expected


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(
            pod_with(None, volume={"name": "v", "emptyDir": {"medium": "Memory"}}),
            NODE_MEMORY,
            id="node-allocatable",
        ),
        pytest.param(
            pod_with("256Mi", volume={"name": "v", "emptyDir": {"medium": "Memory"}}),
            256 * MI,
            id="pod-limit-when-smaller",
        ),
        pytest.param(
            pod_with(
                "256Mi", volume={"name": "v", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}
            ),
            64 * MI,
            id="size-limit-when-smaller-still",
        ),
        pytest.param(
            pod_with(
                "256Mi", volume={"name": "v", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}
            ),
            256 * MI,
            id="size-limit-above-what-the-pod-may-use",
        ),
        pytest.param(
            pod_with("4Gi", volume={"name": "v", "emptyDir": {"medium": "Memory"}}),
            NODE_MEMORY,
            id="pod-limit-above-the-node",
        ),
        pytest.param(
            pod_with(
                None, volume={"name": "v", "emptyDir": {"medium": "Memory", "sizeLimit": "1.5Ki"}}
            ),
            1536,
            id="bytes-rounded-up",
        ),
    ],
)
def test_a_memory_volumes_size_is_the_smallest_of_node_pod_and_size_limit(
    pod: Pod, expected: int
) -> None:
    assert tmpfs_size(pod, only_volume(pod), NODE_MEMORY) == expected


def test_without_a_known_node_size_a_volume_without_limits_takes_the_kernels_default() -> None:
    pod = pod_with(None, volume={"name": "v", "emptyDir": {"medium": "Memory"}})

    assert tmpfs_size(pod, only_volume(pod), None) is None


@pytest.mark.parametrize(
    ("volume", "path", "in_memory"),
    [
        pytest.param({"name": "h", "hostPath": {"path": "/etc/x"}}, "/etc/x", False, id="host"),
        pytest.param({"name": "d", "emptyDir": {}}, "/p/volumes/empty-dir/d", False, id="disk"),
        pytest.param(
            {"name": "m", "emptyDir": {"medium": "Memory"}},
            "/p/volumes/empty-dir/m",
            True,
            id="memory",
        ),
        pytest.param(
            {"name": "i", "downwardAPI": {"items": []}},
            "/p/volumes/downward-api/i",
            True,
            id="downward-api",
        ),
        pytest.param(
            {"name": "b", "projected": {"sources": []}},
            "/p/volumes/projected/b",
            True,
            id="projected",
        ),
    ],
)
def test_each_volume_has_its_place_and_the_written_ones_are_memory(
    volume: dict[str, Any], path: str, in_memory: bool
) -> None:
    pod = pod_with(None, volume=volume)

    assert volume_host_path(only_volume(pod), "/p/volumes") == path
    assert volume_in_memory(only_volume(pod)) is in_memory
