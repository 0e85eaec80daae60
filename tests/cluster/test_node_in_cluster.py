"""fastpod with a kubeconfig, end to end: a real ``fastpod run`` (fake runtime) against the
test API server, read back with the real kubectl. The Node registers and stays Ready, its
Lease is renewed, and an API server gone for a while changes nothing for the pods."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support import docker_engine
from tests.support.cluster_api import LocalApiServer, kubectl, wait_for
from tests.support.docker_engine import BUSYBOX
from tests.support.engine_lock import engines_held
from tests.support.pods import pod_document
from tests.support.running import RunningFastpod, free_port

pytestmark = pytest.mark.e2e

LEASE = ("coordination.k8s.io/v1/leases", "kube-node-lease", "node1")


def start(tmp_path: Path, kubeconfig: Path, *extra: str, runtime: str = "fake") -> RunningFastpod:
    manifests = tmp_path / "manifests"
    manifests.mkdir(exist_ok=True)
    document = pod_document("web", image=BUSYBOX, extra_spec={"terminationGracePeriodSeconds": 1})
    document["spec"]["containers"][0]["command"] = ["sleep", "3600"]
    (manifests / "web.json").write_text(json.dumps(document))
    return RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--kubeconfig",
            str(kubeconfig),
            *extra,
        ],
        workers=1,
        runtime=runtime,
        api_port=free_port(),
    )


def wait_for_record(fastpod: RunningFastpod, event: str, timeout: float, **fields: str) -> None:
    fastpod.wait_for(lambda: bool(fastpod.events(event, **fields)), timeout=timeout)


def renew_time(server: LocalApiServer) -> datetime.datetime:
    """When the Lease was last renewed; the epoch while there is none."""
    lease = server.stored(*LEASE)
    if lease is None:
        return datetime.datetime.fromtimestamp(0, datetime.UTC)
    return datetime.datetime.fromisoformat(lease["spec"]["renewTime"])


def test_kubectl_sees_the_node_ready_with_its_labels_taints_and_lease(
    tls_api_server: LocalApiServer, tmp_path: Path
) -> None:
    """Over HTTPS with a client certificate in files beside the kubeconfig, as kubeadm has it."""
    kubeconfig = tls_api_server.write_kubeconfig(tmp_path / "kubelet.conf", embedded=False)
    fastpod = start(
        tmp_path,
        kubeconfig,
        "--node-labels=node.kubernetes.io/pool=infra",
        "--register-with-taints=dedicated=infra:NoSchedule",
        "--max-pods=64",
    )
    try:
        wait_for_record(fastpod, "node registered", timeout=20)
        nodes = kubectl(kubeconfig, "get", "nodes", "-o", "wide").splitlines()
        node = json.loads(kubectl(kubeconfig, "get", "node", "node1", "-o", "json"))
        leases = kubectl(kubeconfig, "get", "leases", "-n", "kube-node-lease", "-o", "name")
        fastpod.wait_for_event("container started", pod="default/web-node1")
    finally:
        assert fastpod.stop() == 0
    columns = nodes[1].split()
    assert columns[:2] == ["node1", "Ready"]
    assert columns[4] == "v1.32.0-fastpod.0.1.0"
    assert columns[-1] == "fake://0.1.0"
    assert node["metadata"]["labels"]["node.kubernetes.io/pool"] == "infra"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "node1"
    assert node["spec"]["taints"] == [
        {"key": "dedicated", "value": "infra", "effect": "NoSchedule"}
    ]
    assert node["status"]["capacity"]["pods"] == "64"
    assert leases.split() == ["lease.coordination.k8s.io/node1"]


def test_an_api_server_gone_for_a_while_leaves_the_pods_alone_and_is_caught_up_with(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n"
        "nodeLeaseDurationSeconds: 2\n"  # renewed every 0.5 s
        "nodeStatusUpdateFrequency: 1s\n"
    )
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    fastpod = start(tmp_path, kubeconfig, "--config", str(config))
    try:
        wait_for_record(fastpod, "node registered", timeout=20)
        fastpod.wait_for_event("container started", pod="default/web-node1")
        wait_for(lambda: api_server.stored(*LEASE))
        first_renewal = renew_time(api_server)
        wait_for(lambda: renew_time(api_server) > first_renewal)
        before = fastpod.served_pods()["web-node1"]["status"]["containerStatuses"][0]

        api_server.pause()
        wait_for_record(fastpod, "API server call failed", call="lease", timeout=20)
        wait_for_record(fastpod, "API server call failed", call="node status", timeout=20)
        paused_at = datetime.datetime.now(datetime.UTC)
        health = fastpod.get("/healthz")
        during = fastpod.served_pods()["web-node1"]["status"]["containerStatuses"][0]
        api_server.resume()

        wait_for_record(fastpod, "API server call succeeded again", call="lease", timeout=30)
        wait_for(lambda: renew_time(api_server) > paused_at)
        failures = fastpod.events("API server call failed")
    finally:
        assert fastpod.stop() == 0
    assert health == (200, b"ok")
    assert during["containerID"] == before["containerID"]
    assert during["restartCount"] == before["restartCount"] == 0
    assert sorted(record["call"] for record in failures) == ["lease", "list pods", "node status"]
    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    assert [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"] == ["True"]


def test_a_kubeconfig_written_after_the_start_registers_the_node(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubelet.conf"
    fastpod = start(tmp_path, kubeconfig)
    try:
        fastpod.wait_for_event("kubeconfig not usable")
        fastpod.wait_for_event("container started", pod="default/web-node1")
        api_server.write_kubeconfig(kubeconfig)
        wait_for_record(fastpod, "node registered", timeout=30)
        warnings = [record["warning"] for record in fastpod.events("configuration warning")]
    finally:
        assert fastpod.stop() == 0
    assert any("does not exist (yet)" in warning for warning in warnings)
    assert api_server.stored("v1/nodes", None, "node1") is not None


@pytest.mark.docker
def test_on_docker_the_node_names_the_engine_and_its_version(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    server = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with engines_held():
        docker_engine.remove_all()
        fastpod = start(tmp_path, kubeconfig, runtime="docker")
        try:
            wait_for_record(fastpod, "node registered", timeout=30)
            fastpod.wait_for_event("container started", pod="default/web-node1")
            nodes = kubectl(kubeconfig, "get", "nodes", "-o", "wide").splitlines()
        finally:
            assert fastpod.stop() == 0
            docker_engine.remove_all()
    assert nodes[1].split()[:2] == ["node1", "Ready"]
    assert nodes[1].split()[-1] == f"docker://{server}"


def test_a_cluster_process_killed_is_restarted_and_finds_its_node_again(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    fastpod = start(tmp_path, kubeconfig)
    try:
        wait_for_record(fastpod, "node registered", timeout=20)
        fastpod.wait_for_event("container started", pod="default/web-node1")
        uid = fastpod.events("node registered")[0]["uid"]
        os.kill(fastpod.child_pid("cluster"), signal.SIGKILL)
        fastpod.wait_for_event("process restarted", child="cluster")
        wait_for_record(fastpod, "node updated", timeout=20)
        updated = fastpod.events("node updated")
        restarts = fastpod.events("container started")
    finally:
        assert fastpod.stop() == 0
    assert updated[0]["uid"] == uid
    assert len(restarts) == 1  # the pods never noticed
