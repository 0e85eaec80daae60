"""Which files of a manifest directory are read, by the kubelet's rules."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.sources.listing import list_manifests, read_manifest


def test_dotfiles_are_never_read_and_every_other_name_is(tmp_path: Path) -> None:
    """No extension filter: backups and editor leftovers count, dotfiles do not."""
    for name in ("b.yaml", "a.json", "c.yaml.bak", "d~", ".e.swp", "..data", "f"):
        (tmp_path / name).write_text("x")
    listing = list_manifests(str(tmp_path))
    assert [Path(path).name for path in listing.files] == [
        "a.json",
        "b.yaml",
        "c.yaml.bak",
        "d~",
        "f",
    ]


def test_subdirectories_are_skipped_with_a_reason(tmp_path: Path) -> None:
    """No recursion; the skip is reported, as the kubelet logs it."""
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "pod.yaml").write_text("x")
    listing = list_manifests(str(tmp_path))
    assert listing.files == []
    assert listing.skipped == [(str(tmp_path / "nested"), "is a directory: not recursing")]


def test_symlinks_to_files_are_followed_and_to_directories_skipped(tmp_path: Path) -> None:
    """os.stat follows links; a dangling link is skipped, not fatal."""
    target = tmp_path / "target.yaml"
    target.write_text("x")
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "linked.yaml").symlink_to(target)
    (manifests / "dir-link").symlink_to(tmp_path)
    (manifests / "dangling").symlink_to(tmp_path / "missing")
    listing = list_manifests(str(manifests))
    assert listing.files == [str(manifests / "linked.yaml")]
    assert [reason for _, reason in listing.skipped] == [
        "cannot stat: No such file or directory",
        "is a directory: not recursing",
    ]


def test_sockets_and_fifos_are_skipped(tmp_path: Path) -> None:
    """Only regular files are manifests."""
    os.mkfifo(tmp_path / "fifo")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        listing = list_manifests(str(tmp_path))
    assert listing.files == []
    assert [reason for _, reason in listing.skipped] == ["is not a regular file"] * 2


def test_a_path_naming_a_file_is_the_only_manifest(tmp_path: Path) -> None:
    """Single-file mode; a trailing slash on a directory is stripped."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("x")
    assert list_manifests(str(manifest)).files == [str(manifest)]
    assert list_manifests(f"{tmp_path}/").files == [str(manifest)]


def test_a_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    """The caller decides: the watcher waits for it, validate reports it."""
    with pytest.raises(FileNotFoundError):
        list_manifests(str(tmp_path / "missing"))


def test_reading_stops_one_byte_past_the_limit(tmp_path: Path) -> None:
    """A huge file is never read whole: one byte more than 10 MiB proves it is too big."""
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.truncate(MAX_MANIFEST_BYTES * 3)
    assert len(read_manifest(str(big))) == MAX_MANIFEST_BYTES + 1
