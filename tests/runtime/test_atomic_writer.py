"""A volume's files written as the kubelet's ``AtomicWriter`` writes them: a timestamped
directory, the ``..data`` link swapped by a rename, top-level names linked into it."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from fastpod.runtime.atomic_writer import write_payload
from fastpod.runtime.projection import FileProjection

TIMESTAMPED = re.compile(r"^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+$")


def files(**contents: str) -> dict[str, FileProjection]:
    """Paths (``__`` for ``/``) to their content, mode 0644."""
    return {
        path.replace("__", "/"): FileProjection(text.encode(), 0o644)
        for path, text in contents.items()
    }


def timestamped_dirs(volume: Path) -> list[str]:
    return sorted(name for name in os.listdir(volume) if TIMESTAMPED.match(name))


def test_files_live_in_a_timestamped_directory_behind_the_data_link(tmp_path: Path) -> None:
    assert write_payload(str(tmp_path), files(name="web", k8s__labels='app="x"'))

    (timestamped,) = timestamped_dirs(tmp_path)
    assert os.readlink(tmp_path / "..data") == timestamped
    assert os.readlink(tmp_path / "name") == "..data/name"
    assert os.readlink(tmp_path / "k8s") == "..data/k8s"
    assert (tmp_path / "name").read_text() == "web"
    assert (tmp_path / "k8s" / "labels").read_text() == 'app="x"'
    assert stat.S_IMODE((tmp_path / timestamped).stat().st_mode) == 0o755
    assert sorted(os.listdir(tmp_path)) == sorted(["..data", timestamped, "name", "k8s"])


def test_each_file_has_its_mode_whatever_the_umask(tmp_path: Path) -> None:
    payload = {
        "secret": FileProjection(b"s", 0o400),
        "shared": FileProjection(b"x", 0o666),
    }
    previous = os.umask(0o077)
    try:
        write_payload(str(tmp_path), payload)
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "secret").stat().st_mode) == 0o400
    assert stat.S_IMODE((tmp_path / "shared").stat().st_mode) == 0o666


def test_an_update_swaps_the_data_link_and_removes_the_old_directory(tmp_path: Path) -> None:
    write_payload(str(tmp_path), files(name="web", labels='app="1"'))
    (old,) = timestamped_dirs(tmp_path)
    opened = (tmp_path / "labels").open()  # a reader holding the old version

    assert write_payload(str(tmp_path), files(name="web", labels='app="2"'))

    (new,) = timestamped_dirs(tmp_path)
    assert new != old
    assert os.readlink(tmp_path / "..data") == new
    assert (tmp_path / "labels").read_text() == 'app="2"'
    assert opened.read() == 'app="1"', "an open file keeps the version it opened"
    opened.close()


def test_the_same_contents_write_nothing(tmp_path: Path) -> None:
    write_payload(str(tmp_path), files(name="web"))
    before = timestamped_dirs(tmp_path)

    assert not write_payload(str(tmp_path), files(name="web"))
    assert timestamped_dirs(tmp_path) == before


def test_a_path_no_longer_in_the_payload_goes(tmp_path: Path) -> None:
    write_payload(str(tmp_path), files(name="web", old="x", k8s__gone="y"))

    write_payload(str(tmp_path), files(name="web"))

    assert sorted(name for name in os.listdir(tmp_path) if not name.startswith("..")) == ["name"]


def test_a_missing_top_level_link_is_made_again_without_a_write(tmp_path: Path) -> None:
    write_payload(str(tmp_path), files(name="web"))
    os.remove(tmp_path / "name")

    assert not write_payload(str(tmp_path), files(name="web"))
    assert (tmp_path / "name").read_text() == "web"


def test_a_data_tmp_link_left_by_an_interrupted_write_is_replaced(tmp_path: Path) -> None:
    write_payload(str(tmp_path), files(name="web"))
    os.symlink("..gone", tmp_path / "..data_tmp")

    assert write_payload(str(tmp_path), files(name="db"))

    assert (tmp_path / "name").read_text() == "db"
    assert not os.path.lexists(tmp_path / "..data_tmp")


@pytest.mark.parametrize("path", ["/abs", "a/../b", "..data", "..x/y", ""])
def test_a_path_leaving_the_volume_or_taking_a_reserved_name_is_refused(
    tmp_path: Path, path: str
) -> None:
    with pytest.raises(ValueError, match="invalid path"):
        write_payload(str(tmp_path), {path: FileProjection(b"x", 0o644)})
    assert os.listdir(tmp_path) == []
