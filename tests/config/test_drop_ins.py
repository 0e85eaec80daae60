"""``--config-dir``: drop-ins merged over ``--config`` as the kubelet v1.30+ merges them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fastpod.config.drop_ins import drop_in_files, merge_patch
from fastpod.config.kubelet_file import load_kubelet_config
from fastpod.config.settings import ConfigError
from tests.support import DATA
from tests.support.run_options import config_of

HEAD = "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"


def test_a_merge_patch_merges_mappings_and_replaces_lists_and_scalars() -> None:
    """RFC 7386, as ``jsonpatch.MergePatch``: maps key by key, the rest replaced whole."""
    base = {"a": 1, "headers": {"X": ["1"], "Y": ["2"]}, "dns": ["10.0.0.1", "10.0.0.2"]}
    patch = {"a": 2, "headers": {"X": ["3"]}, "dns": ["10.0.0.9"]}
    assert merge_patch(base, patch) == {
        "a": 2,
        "headers": {"X": ["3"], "Y": ["2"]},
        "dns": ["10.0.0.9"],
    }
    assert base["headers"] == {"X": ["1"], "Y": ["2"]}


def test_a_null_in_a_merge_patch_removes_the_field() -> None:
    """``field: null`` in a drop-in takes the field away (back to its default)."""
    assert merge_patch({"a": 1, "b": {"c": 2, "d": 3}}, {"a": None, "b": {"c": None}}) == {
        "b": {"d": 3}
    }


def _write(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def test_only_conf_files_count_in_lexical_order_subdirectories_where_they_sort(
    tmp_path: Path,
) -> None:
    """Go's ``filepath.WalkDir`` order, and ``filepath.Ext(name) == ".conf"``."""
    for name in ("20-b.conf", "10-a.conf", "15-dir/01-x.conf", "99-notes.txt", ".conf", "c.conf~"):
        _write(tmp_path / name, HEAD)
    (tmp_path / "30-empty-dir").mkdir()
    found = [str(Path(path).relative_to(tmp_path)) for path in drop_in_files(str(tmp_path))]
    assert found == [".conf", "10-a.conf", "15-dir/01-x.conf", "20-b.conf"]


def _kubeadm_node(root: Path) -> tuple[Path, Path]:
    """kubeadm's generated config at ``var/lib/kubelet/config.yaml`` and a drop-in directory
    at ``etc/kubernetes/kubelet.conf.d`` (the kubelet documentation's), under ``root``."""
    config = root / "var/lib/kubelet/config.yaml"
    config.parent.mkdir(parents=True)
    shutil.copy(DATA / "config" / "kubeadm.yaml", config)
    return config, root / "etc/kubernetes/kubelet.conf.d"


def test_drop_ins_override_kubeadms_config_in_lexical_order(tmp_path: Path) -> None:
    """A later file wins a field; fields no drop-in names keep the config file's value."""
    config, drop_ins = _kubeadm_node(tmp_path)
    _write(
        drop_ins / "20-static-pods.conf", HEAD + "staticPodPath: /srv/second\nreadOnlyPort: 10255\n"
    )
    _write(
        drop_ins / "10-static-pods.conf", HEAD + "staticPodPath: /srv/first\nhealthzPort: 10249\n"
    )
    _write(drop_ins / "30-ignored.conf.disabled", HEAD + "staticPodPath: /srv/never\n")
    settings = load_kubelet_config(str(config), str(drop_ins)).settings
    assert settings == {
        "pod_manifest_path": "/srv/second",
        "read_only_port": 10255,
        "healthz_port": 10249,
        "healthz_bind_address": "127.0.0.1",
        "cluster_dns": ("10.96.0.10",),
        "cluster_domain": "cluster.local",
        "resolv_conf": "/run/systemd/resolve/resolv.conf",
    }


def test_header_maps_merge_by_name_and_a_null_removes_a_field(tmp_path: Path) -> None:
    """``staticPodURLHeader`` merges per header; ``staticPodPath: null`` turns the file source
    off again."""
    config = _write(
        tmp_path / "config.yaml",
        HEAD + "staticPodPath: /srv/manifests\nstaticPodURL: http://127.0.0.1:1/pods\n"
        "staticPodURLHeader:\n  A: [one]\n  B: [two]\n",
    )
    _write(
        tmp_path / "d" / "10.conf",
        HEAD + "staticPodPath: null\nstaticPodURLHeader:\n  B: [three]\n",
    )
    settings = load_kubelet_config(str(config), str(tmp_path / "d")).settings
    assert "pod_manifest_path" not in settings
    assert settings["manifest_url_headers"] == (("A", "one"), ("B", "three"))


def test_a_relative_path_resolves_against_the_drop_ins_directory(tmp_path: Path) -> None:
    """As a config file's own relative paths resolve against its directory."""
    _write(tmp_path / "conf.d" / "10.conf", HEAD + "staticPodPath: manifests\n")
    settings = load_kubelet_config(None, str(tmp_path / "conf.d")).settings
    assert settings["pod_manifest_path"] == str(tmp_path / "conf.d" / "manifests")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("kind: KubeletConfiguration\nstaticPodPath: /x\n", ": apiVersion: missing"),
        (HEAD + "readOnlyPort: lots\n", ":3: readOnlyPort: must be a port number"),
        ("", ": expected a KubeletConfiguration mapping, found an empty file"),
    ],
)
def test_a_drop_in_fastpod_cannot_use_is_named_with_its_line(
    tmp_path: Path, body: str, expected: str
) -> None:
    """Every drop-in is a whole KubeletConfiguration, checked on its own (kubernetes#124796:
    the kubelet refuses to start on an invalid one)."""
    drop_in = _write(tmp_path / "d" / "50-bad.conf", body)
    with pytest.raises(ConfigError) as error:
        load_kubelet_config(None, str(tmp_path / "d"))
    assert str(error.value).startswith(f"{drop_in}{expected}")


def test_a_missing_drop_in_directory_stops_fastpod(tmp_path: Path) -> None:
    """The kubelet's walk of the directory fails, and so does its start."""
    with pytest.raises(ConfigError, match=r"cannot read config directory .*/nowhere: No such"):
        load_kubelet_config(None, str(tmp_path / "nowhere"))


def test_unused_fields_are_listed_once_per_file_that_sets_them(tmp_path: Path) -> None:
    """The warning names the file the operator would edit."""
    config, drop_ins = _kubeadm_node(tmp_path)
    drop_in = _write(drop_ins / "10.conf", HEAD + "podPidsLimit: 4096\n")
    warnings = load_kubelet_config(str(config), str(drop_ins)).warnings
    assert f"{drop_in}: fields fastpod does not use, ignored: podPidsLimit" in warnings
    assert any(w.startswith(f"{config}: fields fastpod does not use") for w in warnings)


def test_flags_given_beat_drop_ins(tmp_path: Path) -> None:
    """The kubelet re-parses the command line over the merged configuration."""
    config, drop_ins = _kubeadm_node(tmp_path)
    _write(drop_ins / "10.conf", HEAD + "readOnlyPort: 10255\nstaticPodPath: /srv/drop-in\n")
    run = config_of("--config", str(config), "--config-dir", str(drop_ins), "--read-only-port=0")
    assert (run.read_only_port, run.pod_manifest_path) == (0, "/srv/drop-in")


def test_a_drop_in_directory_alone_keeps_the_flag_defaults_under_it(tmp_path: Path) -> None:
    """Without ``--config`` the kubelet merges the drop-ins over its flag defaults, whose
    read-only port is 10255."""
    _write(tmp_path / "d" / "10.conf", HEAD + "staticPodPath: /srv/manifests\n")
    run = config_of("--config-dir", str(tmp_path / "d"))
    assert (run.pod_manifest_path, run.read_only_port) == ("/srv/manifests", 10255)
