"""Changes made after a run of unchanged re-lists, when a tick is one comparison in C."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from fastpod.sources import files
from fastpod.sources.files import DirectorySource


def settled(path: Path, body: bytes) -> str:
    """``path`` written with ``body`` and dated back past the window of untrusted stats."""
    path.write_bytes(body)
    status = os.stat(path)
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns - 2 * files.RACY_WINDOW_NS))
    return str(path)


def quiet_source(directory: Path) -> DirectorySource:
    """A source over three settled manifests, re-listed until its ticks find nothing."""
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        settled(directory / name, name.encode())
    source = DirectorySource(str(directory))
    assert len(list(source.relist())) == 3
    for _ in range(3):
        assert list(source.relist()) == []
    return source


def rewrite_keeping_size_and_mtime(directory: Path) -> dict[str, bytes | None]:
    path = directory / "b.yaml"
    before = os.stat(path)
    path.write_bytes(b"B.yaml")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    return {str(path): b"B.yaml"}


def add_a_file(directory: Path) -> dict[str, bytes | None]:
    return {settled(directory / "d.yaml", b"d"): b"d"}


def remove_a_file(directory: Path) -> dict[str, bytes | None]:
    os.unlink(directory / "a.yaml")
    return {str(directory / "a.yaml"): None}


def turn_a_file_into_a_directory(directory: Path) -> dict[str, bytes | None]:
    os.unlink(directory / "c.yaml")
    os.mkdir(directory / "c.yaml")
    return {str(directory / "c.yaml"): None}


def replace_a_file_by_a_symlink_to_new_bytes(directory: Path) -> dict[str, bytes | None]:
    settled(directory / ".target", b"linked")
    os.unlink(directory / "a.yaml")
    (directory / "a.yaml").symlink_to(".target")
    return {str(directory / "a.yaml"): b"linked"}


@pytest.mark.parametrize(
    "change",
    [
        rewrite_keeping_size_and_mtime,
        add_a_file,
        remove_a_file,
        turn_a_file_into_a_directory,
        replace_a_file_by_a_symlink_to_new_bytes,
    ],
)
def test_a_change_after_unchanged_relists_is_reported_once(
    tmp_path: Path, change: Callable[[Path], dict[str, bytes | None]]
) -> None:
    source = quiet_source(tmp_path)
    expected = change(tmp_path)
    assert dict(source.relist()) == expected
    assert list(source.relist()) == []
    assert list(source.relist()) == []


def test_a_hidden_entry_appearing_changes_nothing(tmp_path: Path) -> None:
    source = quiet_source(tmp_path)
    settled(tmp_path / ".pod.yaml.swp", b"x")
    assert list(source.relist()) == []
    assert list(source.relist()) == []
    assert source.known_paths() == [str(tmp_path / name) for name in ("a.yaml", "b.yaml", "c.yaml")]


def test_a_change_seen_by_a_hint_and_the_next_change_by_a_relist(tmp_path: Path) -> None:
    source = quiet_source(tmp_path)
    path = tmp_path / "a.yaml"
    path.write_bytes(b"hinted")
    assert dict((change.path, change.body) for change in source.look(["a.yaml"])) == {
        str(path): b"hinted"
    }
    # read within the window of untrusted stats: read again, the same bytes, nothing to say
    assert list(source.relist()) == []
    settled(path, b"relisted")
    assert dict(source.relist()) == {str(path): b"relisted"}
    assert list(source.relist()) == []


def test_a_symlink_appearing_among_unchanged_files_sets_has_symlinks(tmp_path: Path) -> None:
    source = quiet_source(tmp_path)
    assert not source.has_symlinks
    (tmp_path / "e.yaml").symlink_to("a.yaml")
    assert dict(source.relist()) == {str(tmp_path / "e.yaml"): b"a.yaml"}
    assert source.has_symlinks
