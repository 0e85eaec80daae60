"""Memory volumes on the host: a tmpfs of the kubelet's size at a memory emptyDir and under
every downwardAPI and projected volume, their files written and rewritten, all unmounted
and removed with the pod. Mounting needs CAP_SYS_ADMIN: skipped without it."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.spec import NodeAllocatable, PodContext
from fastpod.runtime.volumes import (
    VolumeError,
    prepare_volumes,
    remove_pod_dir,
    update_projected_volumes,
)
from tests.support import FILE
from tests.support.mountinfo import mounted_at, mounts, unmount_under
from tests.support.pods import decoded, pod_document

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")

NODE_MEMORY = 512 * 2**20


@pytest.fixture
def pod_dir(tmp_path: Path) -> Iterator[Path]:
    """The pod's directory; anything a failed test left mounted under it is unmounted."""
    yield tmp_path / "pods" / "uid"
    unmount_under(str(tmp_path))


def context(pod_dir: Path) -> PodContext:
    return PodContext(
        "127.0.0.1",
        "127.0.0.1",
        str(pod_dir / "volumes"),
        allocatable=NodeAllocatable(memory=NODE_MEMORY),
    )


def pod_with(*volumes: dict[str, Any], labels: dict[str, str] | None = None) -> Pod:
    document = pod_document("web", uid="uid", labels=labels, extra_spec={"volumes": list(volumes)})
    document["spec"]["containers"][0]["volumeMounts"] = [
        {"name": volume["name"], "mountPath": f"/{volume['name']}"} for volume in volumes
    ]
    return decoded(json.dumps(document).encode(), FILE)


def labels_volume() -> dict[str, Any]:
    items = [
        {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
        {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o400},
    ]
    return {"name": "info", "downwardAPI": {"items": items}}


def test_a_memory_empty_dir_is_a_tmpfs_of_its_size_limit(pod_dir: Path) -> None:
    pod = pod_with({"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}})

    prepare_volumes(pod, context(pod_dir))

    path = pod_dir / "volumes" / "empty-dir" / "shm"
    (mount,) = mounted_at(str(path))
    assert mount.fs_type == "tmpfs"
    assert mount.super_options["size"] == f"{64 * 1024}k"
    assert stat.S_IMODE(path.stat().st_mode) == 0o1777, "a fresh tmpfs, as the kubelet's"


def test_a_memory_empty_dir_without_a_limit_is_as_large_as_the_node_allows(
    pod_dir: Path,
) -> None:
    pod = pod_with({"name": "shm", "emptyDir": {"medium": "Memory"}})

    prepare_volumes(pod, context(pod_dir))

    (mount,) = mounted_at(str(pod_dir / "volumes" / "empty-dir" / "shm"))
    assert mount.super_options["size"] == f"{NODE_MEMORY // 1024}k"


def test_preparing_again_keeps_the_tmpfs_and_what_it_holds(pod_dir: Path) -> None:
    pod = pod_with({"name": "shm", "emptyDir": {"medium": "Memory"}})
    prepare_volumes(pod, context(pod_dir))
    path = pod_dir / "volumes" / "empty-dir" / "shm"
    (path / "kept").write_text("x")

    prepare_volumes(pod, context(pod_dir))

    assert len(mounted_at(str(path))) == 1
    assert (path / "kept").read_text() == "x"


def test_a_downward_api_volume_is_a_tmpfs_holding_its_files(pod_dir: Path) -> None:
    pod = pod_with(labels_volume(), labels={"tier": "web"})

    prepare_volumes(pod, context(pod_dir))

    path = pod_dir / "volumes" / "downward-api" / "info"
    assert mounted_at(str(path))[0].fs_type == "tmpfs"
    assert (path / "labels").read_text() == 'tier="web"'
    assert (path / "name").read_text() == "web-node1"
    assert stat.S_IMODE((path / "name").stat().st_mode) == 0o400
    assert os.readlink(path / "labels") == "..data/labels"


def test_new_labels_rewrite_the_files_and_the_same_ones_write_nothing(pod_dir: Path) -> None:
    where = context(pod_dir)
    prepare_volumes(pod_with(labels_volume(), labels={"tier": "web"}), where)
    path = pod_dir / "volumes" / "downward-api" / "info"

    assert update_projected_volumes(pod_with(labels_volume(), labels={"tier": "db"}), where)
    assert (path / "labels").read_text() == 'tier="db"'
    assert not update_projected_volumes(pod_with(labels_volume(), labels={"tier": "db"}), where)


def test_a_projected_volume_is_written_like_a_downward_api_one(pod_dir: Path) -> None:
    source = {
        "downwardAPI": {"items": [{"path": "uid", "fieldRef": {"fieldPath": "metadata.uid"}}]}
    }
    pod = pod_with({"name": "bundle", "projected": {"defaultMode": 0o440, "sources": [source]}})

    prepare_volumes(pod, context(pod_dir))

    path = pod_dir / "volumes" / "projected" / "bundle"
    assert mounted_at(str(path))[0].fs_type == "tmpfs"
    assert (path / "uid").read_text() == "uid"
    assert stat.S_IMODE((path / "uid").stat().st_mode) == 0o440


def test_removing_the_pod_unmounts_every_tmpfs_and_removes_the_directory(pod_dir: Path) -> None:
    pod = pod_with({"name": "shm", "emptyDir": {"medium": "Memory"}}, labels_volume())
    prepare_volumes(pod, context(pod_dir))

    remove_pod_dir(str(pod_dir))

    assert not pod_dir.exists()
    assert [m for m in mounts() if m.mount_point.startswith(f"{pod_dir}/")] == []


def test_a_tmpfs_in_use_keeps_the_pod_directory_for_a_later_try(pod_dir: Path) -> None:
    pod = pod_with({"name": "shm", "emptyDir": {"medium": "Memory"}})
    prepare_volumes(pod, context(pod_dir))
    path = pod_dir / "volumes" / "empty-dir" / "shm"
    with (path / "open").open("w"):
        with pytest.raises(VolumeError, match="volume shm"):
            remove_pod_dir(str(pod_dir))
        assert mounted_at(str(path))

    remove_pod_dir(str(pod_dir))

    assert not pod_dir.exists()
