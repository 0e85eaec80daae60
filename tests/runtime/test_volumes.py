"""Volumes on the host: hostPath types created or checked, emptyDir made, the pod dir removed."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.spec import PodContext
from fastpod.runtime.volumes import VolumeError, prepare_volumes, remove_pod_dir
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest


def pod_with(*volumes: dict[str, Any]) -> Pod:
    return decoded(pod_manifest("web", extra_spec={"volumes": list(volumes)}), FILE)


def host_path(name: str, path: Path | str, kind: str | None = None) -> dict[str, Any]:
    source: dict[str, Any] = {"path": str(path)}
    if kind is not None:
        source["type"] = kind
    return {"name": name, "hostPath": source}


def context(tmp_path: Path) -> PodContext:
    return PodContext("127.0.0.1", "127.0.0.1", str(tmp_path / "pods" / "uid" / "volumes"))


def prepare(tmp_path: Path, *volumes: dict[str, Any]) -> None:
    prepare_volumes(pod_with(*volumes), context(tmp_path))


def failure(tmp_path: Path, *volumes: dict[str, Any]) -> str:
    with pytest.raises(VolumeError) as raised:
        prepare(tmp_path, *volumes)
    return str(raised.value)


@pytest.fixture
def unix_socket() -> Iterator[Path]:
    # a short directory: socket paths are limited to about 100 bytes
    with tempfile.TemporaryDirectory(dir="/tmp") as directory:
        path = Path(directory) / "s.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        try:
            yield path
        finally:
            server.close()


def block_device() -> Path | None:
    for entry in sorted(Path("/dev").iterdir()):
        try:
            if stat.S_ISBLK(entry.lstat().st_mode):
                return entry
        except OSError:
            continue
    return None


def test_directory_or_create_makes_a_missing_directory_with_its_parents(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b"

    prepare(tmp_path, host_path("data", path, "DirectoryOrCreate"))

    assert path.is_dir()


def test_directory_or_create_keeps_an_existing_directory_and_its_content(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.mkdir()
    (path / "kept").write_text("x")

    prepare(tmp_path, host_path("data", path, "DirectoryOrCreate"))

    assert (path / "kept").read_text() == "x"


def test_directory_or_create_on_a_file_names_the_volume_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("x")

    message = failure(tmp_path, host_path("data", path, "DirectoryOrCreate"))

    assert "volume data" in message
    assert str(path) in message
    # the kubelet's wording: "hostPath type check failed: <path> is not a directory"
    assert "is not a directory" in message
    assert path.read_text() == "x"


def test_file_or_create_makes_an_empty_file_0644(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"

    prepare(tmp_path, host_path("config", path, "FileOrCreate"))

    assert path.is_file()
    assert path.read_bytes() == b""
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_file_or_create_in_a_missing_directory_blocks_the_pod_and_creates_nothing(
    tmp_path: Path,
) -> None:
    """The kubelet's ``makeFile`` opens the file with ``O_CREATE`` and no parents: the
    directory must exist (unlike ``DirectoryOrCreate``'s ``MkdirAll``)."""
    path = tmp_path / "missing" / "kubeconfig"

    message = failure(tmp_path, host_path("config", path, "FileOrCreate"))

    assert message == f"volume config: hostPath {path}: No such file or directory"
    assert not (tmp_path / "missing").exists()


def test_file_or_create_keeps_an_existing_file_and_its_content(tmp_path: Path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\n")
    path.chmod(0o600)

    prepare(tmp_path, host_path("config", path, "FileOrCreate"))

    assert path.read_text() == "apiVersion: v1\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_or_create_on_a_directory_names_the_volume_and_the_path(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.mkdir()

    message = failure(tmp_path, host_path("config", path, "FileOrCreate"))

    assert "volume config" in message
    assert str(path) in message
    assert "is not a file" in message


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("Directory", lambda path: path.mkdir()),
        ("File", lambda path: path.write_text("x")),
    ],
)
def test_a_checked_type_passes_when_the_path_is_of_that_type(
    tmp_path: Path, kind: str, make: Any
) -> None:
    path = tmp_path / "thing"
    make(path)

    prepare(tmp_path, host_path("thing", path, kind))


def test_socket_passes_on_a_unix_socket(tmp_path: Path, unix_socket: Path) -> None:
    prepare(tmp_path, host_path("sock", unix_socket, "Socket"))


def test_char_device_passes_on_dev_null(tmp_path: Path) -> None:
    prepare(tmp_path, host_path("null", "/dev/null", "CharDevice"))


def test_block_device_passes_on_a_block_device(tmp_path: Path) -> None:
    device = block_device()
    if device is None:
        pytest.skip("no block device in /dev")

    prepare(tmp_path, host_path("disk", device, "BlockDevice"))


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("Directory", "a directory"),
        ("File", "a file"),
        ("Socket", "a socket"),
        ("CharDevice", "a character device"),
        ("BlockDevice", "a block device"),
    ],
)
def test_a_checked_type_on_a_missing_path_names_the_volume_the_path_and_the_type(
    tmp_path: Path, kind: str, what: str
) -> None:
    path = tmp_path / "missing"

    message = failure(tmp_path, host_path("thing", path, kind))

    assert "volume thing" in message
    assert f"{path} does not exist" in message
    assert kind in message
    assert what in message
    assert not path.exists()


@pytest.mark.parametrize(
    ("kind", "what"),
    [
        ("Directory", "a directory"),
        ("Socket", "a socket"),
        ("CharDevice", "a character device"),
        ("BlockDevice", "a block device"),
    ],
)
def test_a_checked_type_on_a_regular_file_says_what_it_is_not(
    tmp_path: Path, kind: str, what: str
) -> None:
    path = tmp_path / "plain"
    path.write_text("x")

    message = failure(tmp_path, host_path("thing", path, kind))

    assert message == f"volume thing: hostPath type check failed: {path} is not {what}"


def test_file_on_a_directory_says_it_is_not_a_file(tmp_path: Path) -> None:
    message = failure(tmp_path, host_path("thing", tmp_path, "File"))

    assert message == f"volume thing: hostPath type check failed: {tmp_path} is not a file"


@pytest.mark.parametrize("kind", [None, ""])
def test_a_host_path_without_a_type_is_neither_checked_nor_created(
    tmp_path: Path, kind: str | None
) -> None:
    path = tmp_path / "missing"

    prepare(tmp_path, host_path("thing", path, kind))

    assert not path.exists()


def test_the_first_failing_volume_is_the_one_named(tmp_path: Path) -> None:
    good = tmp_path / "good"
    bad = tmp_path / "bad"

    message = failure(
        tmp_path,
        host_path("good", good, "DirectoryOrCreate"),
        host_path("bad", bad, "Directory"),
    )

    assert message.startswith("volume bad:")
    assert good.is_dir()


def test_an_empty_dir_is_made_world_writable_under_the_volumes_dir(tmp_path: Path) -> None:
    where = context(tmp_path)

    prepare_volumes(pod_with({"name": "scratch", "emptyDir": {}}), where)

    path = Path(where.volumes_dir) / "empty-dir" / "scratch"
    assert path.is_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o777


def test_preparing_twice_keeps_what_an_empty_dir_holds(tmp_path: Path) -> None:
    where = context(tmp_path)
    pod = pod_with({"name": "scratch", "emptyDir": {}})
    prepare_volumes(pod, where)
    kept = Path(where.volumes_dir) / "empty-dir" / "scratch" / "kept"
    kept.write_text("x")

    prepare_volumes(pod, where)

    assert kept.read_text() == "x"


def test_removing_the_pod_dir_removes_its_volumes_and_files_and_leaves_the_host_paths(
    tmp_path: Path,
) -> None:
    where = context(tmp_path)
    pod_dir = os.path.dirname(where.volumes_dir)
    host_dir = tmp_path / "host" / "dir"
    host_file = tmp_path / "host" / "file"
    pod = pod_with(
        {"name": "scratch", "emptyDir": {}},
        host_path("dir", host_dir, "DirectoryOrCreate"),
        host_path("file", host_file, "FileOrCreate"),
    )
    prepare_volumes(pod, where)
    (Path(where.volumes_dir) / "empty-dir" / "scratch" / "data").write_text("x")
    (host_dir / "data").write_text("y")
    messages = Path(pod_dir) / "containers" / "main"
    messages.mkdir(parents=True)
    (messages / "0123abcd").write_text("last words")

    remove_pod_dir(pod_dir)

    assert not os.path.exists(pod_dir)
    assert (host_dir / "data").read_text() == "y"
    assert host_file.is_file()


def test_removing_the_dir_of_a_pod_that_has_none_does_nothing(tmp_path: Path) -> None:
    remove_pod_dir(os.path.dirname(context(tmp_path).volumes_dir))

    assert list(tmp_path.iterdir()) == []
