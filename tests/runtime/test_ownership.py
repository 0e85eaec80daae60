"""A volume given to the pod's fsGroup, as the kubelet's SetVolumeOwnership gives it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastpod.runtime.ownership import set_volume_ownership

GROUP = 4321


def test_everything_gets_the_group_group_write_and_directories_setgid(tmp_path: Path) -> None:
    volume = tmp_path / "scratch"
    (volume / "sub").mkdir(parents=True)
    (volume / "sub" / "file").write_text("x")
    os.chmod(volume / "sub" / "file", 0o600)
    (volume / "link").symlink_to("sub/file")
    os.chmod(volume, 0o777)

    set_volume_ownership(str(volume), GROUP)

    for path in (volume, volume / "sub", volume / "sub" / "file"):
        assert path.lstat().st_gid == GROUP, path
    assert stat.S_IMODE(volume.stat().st_mode) == 0o2777
    assert stat.S_IMODE((volume / "sub").stat().st_mode) & 0o2770 == 0o2770
    assert stat.S_IMODE((volume / "sub" / "file").stat().st_mode) == 0o660
    assert (volume / "link").lstat().st_gid == GROUP
    assert (volume / "link").is_symlink()


def test_a_read_only_volume_gets_group_read_only(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    os.chmod(tmp_path / "file", 0o600)
    set_volume_ownership(str(tmp_path), GROUP, read_only=True)
    assert stat.S_IMODE((tmp_path / "file").stat().st_mode) == 0o640
