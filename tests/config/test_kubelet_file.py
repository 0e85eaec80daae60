"""``--config``: a KubeletConfiguration read as the kubelet reads it; one line per problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fastpod.config.kubelet_file import IGNORED_FIELDS, load_kubelet_config
from fastpod.config.settings import ConfigError
from tests.support import DATA
from tests.support.running import fastpod_command

CONFIG = DATA / "config"
BAD = CONFIG / "bad"

EVERY_USED_FIELD = {
    "pod_manifest_path": "/srv/manifests",
    "manifest_url": "http://127.0.0.1:8080/pods",
    "manifest_url_headers": (("Authorization", "Bearer abc"), ("X-Node", "one"), ("X-Node", "two")),
    "file_check_frequency": 90.0,
    "http_check_frequency": 0.5,
    "read_only_port": 10255,
    "address": "0.0.0.0",
    "pod_logs_dir": "/srv/logs/pods",
    "seccomp_default": True,
    "healthz_port": 0,
    "healthz_bind_address": "127.0.0.2",
    "cluster_dns": ("10.96.0.10", "fd00::10"),
    "cluster_domain": "cluster.local",
    "resolv_conf": "/run/systemd/resolve/resolv.conf",
    "allowed_unsafe_sysctls": ("net.core.somaxconn", "kernel.msg*"),
}


@pytest.mark.parametrize("name", ["static-pods.yaml", "static-pods.json"])
def test_each_field_fastpod_runs_with_sets_its_config_field(name: str) -> None:
    """YAML or JSON, the same settings: every field fastpod takes, and nothing else."""
    assert load_kubelet_config(str(CONFIG / name)).settings == EVERY_USED_FIELD


def test_a_kubeadm_config_sets_its_manifests_and_dns_and_zero_durations_set_nothing() -> None:
    """kubeadm writes ``fileCheckFrequency: 0s``: v1beta1 defaulting makes that 20 s."""
    config_file = load_kubelet_config(str(CONFIG / "kubeadm.yaml"))
    assert config_file.settings == {
        "pod_manifest_path": "/etc/kubernetes/manifests",
        "healthz_port": 10248,
        "healthz_bind_address": "127.0.0.1",
        "cluster_dns": ("10.96.0.10",),
        "cluster_domain": "cluster.local",
        "resolv_conf": "/run/systemd/resolve/resolv.conf",
    }


def test_an_empty_resolv_conf_is_a_setting_no_resolver_file() -> None:
    """Unlike the other strings, where ``""`` sets nothing (the kubelet's ``*string``)."""
    settings = load_kubelet_config(str(CONFIG / "no-resolv-conf.yaml")).settings
    assert settings["resolv_conf"] == ""


def test_fields_fastpod_does_not_use_are_named_in_one_warning() -> None:
    """A kubeadm file has two dozen of them: one line, not two dozen."""
    (warning,) = load_kubelet_config(str(CONFIG / "kubeadm.yaml")).warnings
    assert warning.startswith(f"{CONFIG / 'kubeadm.yaml'}: fields fastpod does not use, ignored: ")
    named = warning.split("ignored: ")[1].split(", ")
    assert named[:3] == ["authentication", "authorization", "cgroupDriver"]
    assert "syncFrequency" in named
    assert set(named) <= IGNORED_FIELDS


def test_a_field_the_kubelet_type_lacks_warns_with_its_line() -> None:
    """``podInfraContainerImage`` is a flag only: the kubelet's lenient decoding ignores it."""
    (warning,) = load_kubelet_config(str(CONFIG / "static-pods.yaml")).warnings
    assert warning.startswith(
        f"{CONFIG / 'static-pods.yaml'}:22: unknown field 'podInfraContainerImage'"
    )


@pytest.mark.parametrize("working_directory", [CONFIG.parent, Path("/")])
def test_relative_paths_resolve_against_the_config_files_directory(
    working_directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not the working directory (the kubelet's KubeletConfigurationPathRefs), and absolute."""
    monkeypatch.chdir(working_directory)
    given = os.path.relpath(CONFIG / "relative-paths.yaml", working_directory)
    settings = load_kubelet_config(given).settings
    assert settings["pod_manifest_path"] == str(CONFIG / "manifests")
    assert settings["pod_logs_dir"] == str(CONFIG.parent / "logs" / "pods")
    assert settings["resolv_conf"] == str(CONFIG / "resolv.conf")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wrong-api-version.yaml", ":1: apiVersion: 'kubelet.config.k8s.io/v1alpha1', expected"),
        ("wrong-kind.yaml", ":2: kind: 'KubeProxyConfiguration', expected 'KubeletConfiguration'"),
        ("no-api-version.yaml", ": apiVersion: missing"),
        (
            "port-not-a-number.yaml",
            ":4: readOnlyPort: must be a port number from 0 (off) to 65535, not 'abc'",
        ),
        (
            "port-out-of-range.yaml",
            ":4: readOnlyPort: must be a port number from 0 (off) to 65535, not 70000",
        ),
        ("bad-duration.yaml", ":4: fileCheckFrequency: not a duration: '20 seconds'"),
        ("duration-not-a-string.yaml", ":4: httpCheckFrequency: must be a string, not 20"),
        ("negative-duration.yaml", ":4: fileCheckFrequency: '-5s' must not be negative"),
        ("path-not-a-string.yaml", ":3: staticPodPath: must be a string"),
        ("address-not-an-ip.yaml", ":4: address: 'localhost' is not an IP address"),
        ("seccomp-default-a-string.yaml", ":4: seccompDefault: must be true or false, not 'yes'"),
        ("cluster-dns-not-an-ip.yaml", ":4: clusterDNS: 'kube-dns' is not an IP address"),
        (
            "sysctl-not-namespaced.yaml",
            ':4: allowedUnsafeSysctls: the sysctl "vm.swappiness" are not known to be namespaced',
        ),
        (
            "header-not-a-list.yaml",
            ":4: staticPodURLHeader: Authorization: must be a list of strings",
        ),
        ("not-yaml.yaml", ":4: not YAML or JSON: "),
        ("empty.yaml", ": expected a KubeletConfiguration mapping, found an empty file"),
        ("a-list.yaml", ": expected a KubeletConfiguration mapping, found a list"),
    ],
)
def test_a_config_file_fastpod_cannot_use_is_one_line_naming_file_line_and_field(
    name: str, expected: str
) -> None:
    """The file, the line where the problem is (when there is one), the field, the problem."""
    with pytest.raises(ConfigError) as error:
        load_kubelet_config(str(BAD / name))
    message = str(error.value)
    assert message.startswith(f"{BAD / name}{expected}")
    assert "\n" not in message


def test_a_missing_config_file_is_named() -> None:
    """The path and the system's reason."""
    with pytest.raises(
        ConfigError, match=r"cannot read config file /nonexistent.yaml: No such file"
    ):
        load_kubelet_config("/nonexistent.yaml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("port-not-a-number.yaml", "readOnlyPort"),
        ("not-yaml.yaml", "not YAML or JSON"),
        ("wrong-kind.yaml", "kind"),
    ],
)
def test_fastpod_run_with_a_bad_config_file_exits_2_without_a_traceback(
    name: str, expected: str
) -> None:
    """What an operator sees: one line on stderr, exit status 2."""
    completed = fastpod_command("run", "--config", str(BAD / name))
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith(f"fastpod: {BAD / name}:")
    assert expected in completed.stderr


def test_an_unreadable_config_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """A directory given as the file, for instance."""
    completed = fastpod_command("run", "--config", str(tmp_path))
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr == f"fastpod: cannot read config file {tmp_path}: Is a directory\n"
