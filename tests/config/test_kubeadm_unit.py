"""kubeadm's own files, unchanged: the command line kubeadm's kubelet unit runs with
fastpod's drop-in (or contrib's unit), read as fastpod reads it."""

from __future__ import annotations

from pathlib import Path

from tests.support.kubeadm_node import KubeadmNode
from tests.support.run_options import config_of

KUBEADM_COMMAND = [
    "/usr/local/bin/fastpod",
    "run",
    "--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf",
    "--kubeconfig=/etc/kubernetes/kubelet.conf",
    "--config=/var/lib/kubelet/config.yaml",
    "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock",
    "--node-ip=10.0.0.5",
    "--pod-infra-container-image=registry.k8s.io/pause:3.10",
    "--hostname-override=node1",
    "--read-only-port=10255",
]


def test_kubeadms_unit_with_fastpods_drop_in_runs_fastpod_with_kubeadms_arguments(
    tmp_path: Path,
) -> None:
    """``$KUBELET_*_ARGS`` expanded from 10-kubeadm.conf, kubeadm-flags.env and
    /etc/default/kubelet, then ``$FASTPOD_EXTRA_ARGS`` from /etc/default/fastpod, word by
    word, as systemd expands them."""
    node = KubeadmNode.lay_out(tmp_path, "--hostname-override=node1", "--read-only-port=10255")
    assert node.drop_in_command() == KUBEADM_COMMAND


def test_contribs_unit_runs_the_same_command_line(tmp_path: Path) -> None:
    """``fastpod-kubelet.service`` (which conflicts with kubelet.service) reads the same
    files into the same arguments."""
    node = KubeadmNode.lay_out(tmp_path, "--hostname-override=node1", "--read-only-port=10255")
    assert node.unit_command() == node.drop_in_command()


def test_without_the_operators_files_the_command_line_is_kubeadms_alone(tmp_path: Path) -> None:
    """``EnvironmentFile=-/etc/default/kubelet`` and ``-/etc/default/fastpod``: optional."""
    node = KubeadmNode.lay_out(tmp_path, "")
    (tmp_path / "etc/default/kubelet").unlink()
    (tmp_path / "etc/default/fastpod").unlink()
    assert node.drop_in_command() == KUBEADM_COMMAND[:-2]


def test_kubeadms_command_line_is_read_with_every_argument_honoured_or_named(
    tmp_path: Path,
) -> None:
    """The config file at kubeadm's path (its relative paths would resolve there), the CRI
    endpoint, the node's address; the bootstrap kubeconfig is a named warning."""
    node = KubeadmNode.lay_out(tmp_path, "")
    config_path = tmp_path / "var/lib/kubelet/config.yaml"
    arguments = [
        f"--config={config_path}" if argument.startswith("--config=") else argument
        for argument in node.drop_in_command()[2:]
    ]
    config = config_of(*arguments)
    assert config.pod_manifest_path == "/etc/kubernetes/manifests"
    assert (config.runtime, config.container_runtime_endpoint) == (
        "cri",
        "unix:///var/run/containerd/containerd.sock",
    )
    assert config.node_ip == "10.0.0.5"
    assert (config.healthz_bind_address, config.healthz_port, config.read_only_port) == (
        "127.0.0.1",
        10248,
        0,
    )
    assert any("--bootstrap-kubeconfig ignored" in w for w in config.startup_warnings)
