"""Downward API, projected and memory volumes on every real runtime, end to end through
``fastpod run``, read from inside the container (``/proc/<pid>/root``, its mountinfo).

Each test runs once per runtime (the ``engine`` fixture). A label edit of a manifest with a
fixed ``metadata.uid`` keeps the pod and its container hash: the container keeps running and
only the files of its downward API volume change, as on a kubelet.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import BUSYBOX, ContainerView, Engine, start, wait_until
from tests.support.mountinfo import MountEntry, mounted_at, mounts, unmount_under
from tests.support.pods import pod_key

UID = "9a7c1e52-0d8b-4c3e-9f61-2b5d7e8a4c10"


@pytest.fixture(autouse=True)
def no_mounts_left(tmp_path: Path) -> Iterator[None]:
    """fastpod leaves its pods running when it stops, and their volumes mounted: once the
    engine fixture has removed the containers, what is still mounted goes too."""
    yield
    unmount_under(str(tmp_path))


def manifest(
    name: str, volumes: list[dict[str, Any]], labels: dict[str, str] | None = None
) -> bytes:
    """A pod whose busybox container ``main`` sleeps with each volume at ``/<its name>``."""
    document = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "uid": UID, "labels": labels or {}},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "main",
                    "image": BUSYBOX,
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                    "resources": {"limits": {"memory": "256Mi"}},
                    "volumeMounts": [
                        {"name": volume["name"], "mountPath": f"/{volume['name']}"}
                        for volume in volumes
                    ],
                }
            ],
            "volumes": volumes,
        },
    }
    return json.dumps(document).encode()


def downward_volume() -> dict[str, Any]:
    return {
        "name": "podinfo",
        "downwardAPI": {
            "items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
                {"path": "tier", "fieldRef": {"fieldPath": "metadata.labels['tier']"}},
                {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o400},
                {
                    "path": "limits/memory",
                    "resourceFieldRef": {
                        "containerName": "main",
                        "resource": "limits.memory",
                        "divisor": "1Mi",
                    },
                },
            ]
        },
    }


def main_container(engine: Engine, pod: str) -> ContainerView:
    (container,) = engine.containers(pod, "main", running_only=True)
    return container


def running(engine: Engine, pod: str) -> bool:
    return len(engine.containers(pod, "main", running_only=True)) == 1


def inside(container: ContainerView, path: str) -> Path:
    """``path`` as the container sees it."""
    return Path(f"/proc/{container.pid}/root{path}")


def seen_at(container: ContainerView, path: str) -> MountEntry:
    """What the container has mounted at ``path``."""
    return mounted_at(path, container.pid)[-1]


def host_mounts_under(directory: Path) -> list[str]:
    return [
        entry.mount_point for entry in mounts() if entry.mount_point.startswith(f"{directory}/")
    ]


def test_a_label_edit_rewrites_the_downward_api_files_of_the_running_container(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    path = manifests / "info.yaml"
    path.write_bytes(manifest("info", [downward_volume()], {"tier": "web", "app": "shop"}))
    fastpod = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: running(engine, "info"))
        container = main_container(engine, "info")
        assert inside(container, "/podinfo/labels").read_text() == 'app="shop"\ntier="web"'
        assert inside(container, "/podinfo/tier").read_text() == "web"
        assert inside(container, "/podinfo/name").read_text() == "info-node1"
        assert inside(container, "/podinfo/limits/memory").read_text() == "256"
        name_mode = inside(container, "/podinfo/name").stat().st_mode
        assert stat.S_IMODE(name_mode) == 0o400
        assert stat.S_IMODE(inside(container, "/podinfo/tier").stat().st_mode) == 0o644
        volume = seen_at(container, "/podinfo")
        assert volume.fs_type == "tmpfs"
        assert "ro" in volume.mount_options, "a downward API volume is read-only"

        path.write_bytes(manifest("info", [downward_volume()], {"tier": "db", "app": "shop"}))
        fastpod.wait_for_event("pod updated", pod=pod_key("info"))
        wait_until(lambda: inside(container, "/podinfo/tier").read_text() == "db")

        assert inside(container, "/podinfo/labels").read_text() == 'app="shop"\ntier="db"'
        assert main_container(engine, "info").id == container.id, "not restarted"
        assert len(fastpod.events("container started", pod=pod_key("info"))) == 1
    finally:
        fastpod.stop()


def test_a_projected_volume_of_downward_api_sources_holds_their_files(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    bundle = {
        "name": "bundle",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {
                    "downwardAPI": {
                        "items": [{"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}}]
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "meta/namespace",
                                "fieldRef": {"fieldPath": "metadata.namespace"},
                                "mode": 0o444,
                            }
                        ]
                    }
                },
            ],
        },
    }
    (manifests / "bundle.yaml").write_bytes(manifest("bundle", [bundle]))
    fastpod = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: running(engine, "bundle"))
        container = main_container(engine, "bundle")

        assert inside(container, "/bundle/uid").read_text() == UID
        assert inside(container, "/bundle/meta/namespace").read_text() == "default"
        assert stat.S_IMODE(inside(container, "/bundle/uid").stat().st_mode) == 0o440
        namespace_mode = inside(container, "/bundle/meta/namespace").stat().st_mode
        assert stat.S_IMODE(namespace_mode) == 0o444
        assert os.readlink(inside(container, "/bundle/..data")).startswith("..")
    finally:
        fastpod.stop()


def test_a_memory_empty_dir_is_a_tmpfs_of_its_size_and_goes_with_the_pod(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    cache = {"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "32Mi"}}
    shm = {"name": "shm", "emptyDir": {"medium": "Memory"}}
    (manifests / "memory.yaml").write_bytes(manifest("memory", [cache, shm]))
    pods_dir = tmp_path / "root" / "pods"
    fastpod = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: running(engine, "memory"))
        container = main_container(engine, "memory")
        sized = seen_at(container, "/cache")
        assert sized.fs_type == "tmpfs"
        assert sized.super_options["size"] == f"{32 * 1024}k"
        unsized = seen_at(container, "/shm")
        assert unsized.super_options["size"] == f"{256 * 1024}k", "the pod's memory limit"
        inside(container, "/cache/data").write_text("kept in memory")
        assert len(host_mounts_under(pods_dir)) == 2

        (manifests / "memory.yaml").unlink()
        fastpod.wait_for_event("pod stopped", pod=pod_key("memory"))
        wait_until(lambda: not (pods_dir / container.pod_uid).exists())

        assert host_mounts_under(pods_dir) == []
    finally:
        fastpod.stop()


def test_an_orphan_found_after_a_restart_has_its_tmpfs_unmounted(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    volumes = [{"name": "cache", "emptyDir": {"medium": "Memory"}}, downward_volume()]
    (manifests / "orphan.yaml").write_bytes(manifest("orphan", volumes, {"tier": "web"}))
    pods_dir = tmp_path / "root" / "pods"
    first = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: running(engine, "orphan"))
    finally:
        first.stop()
    assert len(host_mounts_under(pods_dir)) == 2, "the pod keeps running, its volumes too"
    (manifests / "orphan.yaml").unlink()

    second = start(engine, manifests, tmp_path)
    try:
        second.wait_for_event("orphan pod removed", pod=pod_key("orphan"))
        wait_until(lambda: not (pods_dir / UID).exists())

        assert host_mounts_under(pods_dir) == []
        assert engine.containers("orphan") == []
    finally:
        second.stop()
