"""A volume given to the pod's fsGroup, as the kubelet's SetVolumeOwnership gives it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastpod.runtime.ownership import set_volume_ownership
from fastpod.runtime.spec import PodContext
from fastpod.runtime.volumes import prepare_volumes
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

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


def test_an_empty_dir_is_given_the_fs_group_once_when_it_is_set_up(tmp_path: Path) -> None:
    """As the kubelet's emptyDir: what the pod changes later is left as it is, also when a
    new sandbox sets the pod's volumes up again."""
    pod = decoded(
        pod_manifest(
            "web",
            extra_spec={
                "securityContext": {"fsGroup": GROUP},
                "volumes": [{"name": "scratch", "emptyDir": {}}],
            },
        ),
        FILE,
    )
    context = PodContext("127.0.0.1", "127.0.0.1", str(tmp_path / "volumes"))
    prepare_volumes(pod, context)
    (scratch,) = (tmp_path / "volumes").glob("*/scratch")
    assert scratch.stat().st_gid == GROUP
    assert stat.S_IMODE(scratch.stat().st_mode) == 0o2777
    os.chown(scratch, -1, 0)
    prepare_volumes(pod, context)
    assert scratch.stat().st_gid == 0
