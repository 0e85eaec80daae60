"""A downward API volume's files written at a pod's start, beside a bare write of the same
files; and the check at a later sync whose labels did not change, beside a bare read.

The volume is the kubelet documentation's ``dapi-volume`` grown to six items (labels,
annotations, name, namespace, uid, a container's memory limit). fastpod's write is
:func:`volume_payload` (the files' contents) and :func:`write_payload` (the atomic writer:
a timestamped directory, ``..data`` swapped in by a rename, a link per top-level name); the
floor opens, writes and closes the same six files with the same contents, nothing else.
Both write into a tmpfs (the medium of such a volume) when the bench runs as root, else into
the temporary directory. ``conftest.py`` prints each median beside its floor.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fastpod.model import Pod, Volume
from fastpod.runtime.atomic_writer import write_payload
from fastpod.runtime.projection import FileProjection, volume_payload
from fastpod.runtime.spec import NodeAllocatable, PodContext
from fastpod.runtime.tmpfs import mount_tmpfs, unmount
from tests.support import FILE
from tests.support.pods import decoded, pod_document

FIRST_WRITE_GROUP = "downward API: first write vs bare write of the files"
UNCHANGED_GROUP = "downward API: unchanged at a sync vs bare read of the files"
TMPFS_GROUP = "tmpfs: mount + unmount of a memory volume vs mkdir + rmdir"
CONTEXT = PodContext(
    "127.0.0.1", "127.0.0.1", "/nonexistent", allocatable=NodeAllocatable(memory=8 * 2**30)
)


def _field(path: str, field_path: str) -> dict[str, object]:
    return {"path": path, "fieldRef": {"fieldPath": field_path}}


def _pod() -> Pod:
    items = [
        _field("labels", "metadata.labels"),
        _field("annotations", "metadata.annotations"),
        _field("name", "metadata.name"),
        _field("namespace", "metadata.namespace"),
        _field("uid", "metadata.uid"),
        {
            "path": "limits/memory",
            "resourceFieldRef": {"containerName": "app", "resource": "limits.memory"},
        },
    ]
    document = pod_document(
        "dapi-volume",
        labels={"zone": "us-est-coast", "cluster": "test-cluster1", "rack": "rack-22"},
        annotations={"build": "two", "builder": "john-doe"},
        extra_spec={"volumes": [{"name": "podinfo", "downwardAPI": {"items": items}}]},
    )
    document["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "podinfo", "mountPath": "/etc/podinfo"}
    ]
    return decoded(json.dumps(document).encode(), FILE)


POD = _pod()
VOLUME: Volume = (POD.spec.volumes or [])[0]
FILES: dict[str, FileProjection] = volume_payload(VOLUME, POD, CONTEXT)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where the volumes are written: a tmpfs when the bench may mount one."""
    directory = tmp_path_factory.mktemp("volumes")
    mounted = False
    if os.geteuid() == 0:
        mount_tmpfs(str(directory), 512 * 2**20)
        mounted = True
    try:
        yield directory
    finally:
        if mounted:
            unmount(str(directory))


def _fresh_dirs(parent: Path) -> Iterator[str]:
    """A new empty directory at each step, as a pod's volume directory is at its start."""
    parent.mkdir()
    for number in itertools.count():
        path = os.path.join(parent, f"v{number}")
        os.mkdir(path)
        yield path


def _bare_write(directory: str) -> None:
    for path, projection in FILES.items():
        full = os.path.join(directory, path)
        if "/" in path:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as file:
            file.write(projection.data)


def _bare_read(directory: str) -> None:
    for path in FILES:
        with open(os.path.join(directory, path), "rb") as file:
            file.read()


def _fastpod_write(directory: str) -> bool:
    return write_payload(directory, volume_payload(VOLUME, POD, CONTEXT))


@pytest.mark.benchmark(group=FIRST_WRITE_GROUP)
def test_first_write_of_a_downward_api_volume(benchmark: BenchmarkFixture, scratch: Path) -> None:
    benchmark.extra_info.update(role="subject", label="mkdir + volume_payload + write_payload")
    directories = _fresh_dirs(scratch / "fastpod")
    benchmark(lambda: _fastpod_write(next(directories)))


@pytest.mark.benchmark(group=FIRST_WRITE_GROUP)
def test_first_write_floor_bare_files(benchmark: BenchmarkFixture, scratch: Path) -> None:
    benchmark.extra_info.update(role="floor", label="mkdir + bare write of the same files")
    directories = _fresh_dirs(scratch / "bare")
    benchmark(lambda: _bare_write(next(directories)))


@pytest.mark.benchmark(group=UNCHANGED_GROUP)
def test_unchanged_downward_api_volume(benchmark: BenchmarkFixture, scratch: Path) -> None:
    """What a sync of a pod whose spec object changed, but not its files, costs."""
    benchmark.extra_info.update(role="subject", label="volume_payload + write_payload")
    directory = scratch / "unchanged"
    directory.mkdir()
    assert _fastpod_write(str(directory))
    written = benchmark(_fastpod_write, str(directory))
    assert not written


@pytest.mark.benchmark(group=UNCHANGED_GROUP)
def test_unchanged_floor_bare_read(benchmark: BenchmarkFixture, scratch: Path) -> None:
    benchmark.extra_info.update(role="floor", label="bare read of the same files")
    directory = scratch / "read"
    directory.mkdir()
    _bare_write(str(directory))
    benchmark(_bare_read, str(directory))


def _mount_cycle(directory: str) -> None:
    mount_tmpfs(directory, 64 * 2**20)
    unmount(directory)


def _directory_cycle(directory: str) -> None:
    os.mkdir(directory)
    os.rmdir(directory)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
@pytest.mark.benchmark(group=TMPFS_GROUP)
def test_tmpfs_mount_and_unmount(benchmark: BenchmarkFixture, scratch: Path) -> None:
    """What the memory under a downwardAPI, projected or memory emptyDir volume adds to its
    pod's start and removal."""
    benchmark.extra_info.update(role="subject", label="mount(2) + umount2(2)")
    directory = scratch / "mounted"
    directory.mkdir()
    benchmark(_mount_cycle, str(directory))


@pytest.mark.benchmark(group=TMPFS_GROUP)
def test_tmpfs_floor_directory(benchmark: BenchmarkFixture, scratch: Path) -> None:
    benchmark.extra_info.update(role="floor", label="mkdir + rmdir")
    benchmark(_directory_cycle, str(scratch / "plain"))
