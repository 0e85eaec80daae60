"""Manifest paths other users can write: judged as OpenSSH's StrictModes judges a key's
path, and said once per path and state."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from fastpod.sources.exposure import ExposureCheck, exposure
from fastpod.sources.files import DirectorySource
from tests.support.logs import LogCapture

ME = 1000
EVENT = "manifest path writable by others"


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "expected"),
    [
        (0o755, 0, 0, ""),
        (0o775, 0, 0, ""),  # group root: the administrators already
        (0o700, ME, 50, ""),  # fastpod's own user
        (0o777, 0, 0, "writable by every user"),
        (0o1777, 0, 0, "writable by every user"),  # the sticky bit does not stop a new file
        (0o775, 0, 50, "writable by group 50"),
        (0o755, 1001, 0, "owned by user 1001"),
        (0o644, 0, 0, ""),
        (0o646, 0, 0, "writable by every user"),
        (0o664, 0, 27, "writable by group 27"),
    ],
)
def test_a_manifest_path_is_exposed_when_others_than_root_and_fastpod_can_write_it(
    mode: int, uid: int, gid: int, expected: str
) -> None:
    assert exposure(mode, uid, gid, ME) == expected


def test_a_sticky_directory_above_the_manifests_is_not_exposed_but_its_owner_counts() -> None:
    """Under /tmp only an entry's owner may rename it: the entry's owner is judged next."""
    assert exposure(stat.S_IFDIR | 0o1777, 0, 0, ME, sticky_protects=True) == ""
    assert exposure(stat.S_IFDIR | 0o777, 0, 0, ME, sticky_protects=True) != ""
    assert exposure(stat.S_IFDIR | 0o1777, 1001, 0, ME, sticky_protects=True) != ""


def relist(source: DirectorySource) -> None:
    list(source.relist())


def test_a_world_writable_manifest_directory_is_warned_about_once_naming_path_and_mode(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    manifests.chmod(0o777)
    source = DirectorySource(str(manifests))

    relist(source)
    relist(source)

    (warning,) = captured_logs.records(EVENT)
    assert warning["level"] == "warning"
    assert warning["path"] == str(manifests)
    assert warning["mode"] == "0777 (drwxrwxrwx)"
    assert warning["problem"] == "writable by every user"
    assert "privileged containers as root" in warning["reason"]


def test_the_warning_comes_again_when_the_path_is_exposed_again(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    source = DirectorySource(str(tmp_path))
    tmp_path.chmod(0o777)
    relist(source)
    tmp_path.chmod(0o755)
    relist(source)
    tmp_path.chmod(0o757)
    relist(source)

    assert [r["mode"] for r in captured_logs.records(EVENT)] == [
        "0777 (drwxrwxrwx)",
        "0757 (drwxr-xrwx)",
    ]


def test_a_manifest_file_others_can_write_is_warned_about_when_its_mode_changes(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    tmp_path.chmod(0o755)
    manifest = tmp_path / "web.yaml"
    manifest.write_bytes(b"a: 1\n")
    manifest.chmod(0o644)
    source = DirectorySource(str(tmp_path))
    relist(source)
    assert captured_logs.records(EVENT) == []

    manifest.chmod(0o666)  # a chmod changes the ctime: the file is looked at again
    relist(source)

    (warning,) = captured_logs.records(EVENT)
    assert warning["path"] == str(manifest)
    assert warning["kind"] == "manifest file"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the directory away")
def test_a_directory_above_that_others_can_write_is_named(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    """Its writer could rename the manifest directory away and put their own in its place."""
    above = tmp_path / "etc"
    manifests = above / "manifests"
    manifests.mkdir(parents=True)
    os.chown(above, 1001, 0)
    check = ExposureCheck()

    check.path(str(manifests))

    (warning,) = captured_logs.records(EVENT)
    assert warning["path"] == str(above)
    assert warning["kind"] == "directory above the manifests"
    assert warning["problem"] == "owned by user 1001"
