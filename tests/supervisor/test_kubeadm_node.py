"""fastpod run with exactly the command line kubeadm's kubelet unit produces (with fastpod's
drop-in), kubeadm's files at their real paths in private namespaces: the fake runtime,
chosen in /etc/default/fastpod, the operator's file for fastpod's own flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.kubeadm_node import KubeadmNode, get_inside

pytestmark = pytest.mark.e2e

KUBELET_EXTRA = "--hostname-override=node1 --config-dir=/etc/kubernetes/kubelet.conf.d"
"""The operator's kubelet flags (/etc/default/kubelet)."""


def test_kubeadms_unit_runs_fastpod_with_its_pods_health_port_and_node_ip(
    tmp_path: Path,
) -> None:
    node = KubeadmNode.lay_out(
        tmp_path,
        KUBELET_EXTRA,
        f"--runtime=fake --log-format=json --read-only-port=10255 --root-dir={tmp_path}/root",
    )
    command = node.drop_in_command()
    fastpod = node.start(command)
    try:
        fastpod.wait_for_event("container started", pod="kube-system/web-node1")
        fastpod.wait_for_event("health server listening")
        health = get_inside(fastpod, "http://127.0.0.1:10248/healthz")
        pods = get_inside(fastpod, "http://127.0.0.1:10255/pods")
    finally:
        assert fastpod.stop() == 0
    assert health == (200, "ok")
    (pod,) = json.loads(pods[1])["items"]
    assert pod["status"]["hostIP"] == "10.0.0.5"  # kubeadm-flags.env's --node-ip
    (started,) = fastpod.events("fastpod started")
    assert started["manifest_path"] == "/etc/kubernetes/manifests"  # from config.yaml
    warnings = [record["warning"] for record in fastpod.events("configuration warning")]
    assert any("--bootstrap-kubeconfig ignored" in warning for warning in warnings)
    assert not fastpod.events("API cannot listen")
