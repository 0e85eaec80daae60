"""Mirror pods end to end: a real ``fastpod run`` with a kubeconfig against the test API
server, read back with the real kubectl. A mirror per static pod, replaced when its
manifest changes, made again when deleted, an orphan removed, a refused creation logged
once and retried, an API server gone for a while caught up with; the local pods never
touched."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from fastpod.cluster.mirror_object import MIRROR, mirror_pod
from fastpod.manifest.defaults import CONFIG_HASH
from tests.support import docker_engine
from tests.support.cluster_api import LocalApiServer, kubectl, wait_for
from tests.support.docker_engine import BUSYBOX
from tests.support.engine_lock import engines_held
from tests.support.pods import pod_document
from tests.support.running import RunningFastpod, fastpod_cli, free_port, write_atomically

pytestmark = pytest.mark.e2e

PODS = "v1/pods"


def manifest(directory: Path, name: str, namespace: str = "default", **labels: str) -> Path:
    document = pod_document(name, image=BUSYBOX, extra_spec={"terminationGracePeriodSeconds": 1})
    document["metadata"]["namespace"] = namespace
    if labels:
        document["metadata"]["labels"] = labels
    document["spec"]["containers"][0]["command"] = ["sleep", "3600"]
    path = directory / f"{name}.json"
    write_atomically(str(path), json.dumps(document).encode())
    return path


def node_with_web(api_server: LocalApiServer, tmp_path: Path) -> Path:
    """The kubeconfig for ``api_server``, with the static pod ``web`` in the manifest directory."""
    kubeconfig = api_server.write_kubeconfig(tmp_path / "kubelet.conf")
    (tmp_path / "manifests").mkdir()
    manifest(tmp_path / "manifests", "web")
    return kubeconfig


def kubelet_config(tmp_path: Path, fields: str) -> Path:
    """A KubeletConfiguration file holding ``fields`` (YAML lines)."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + fields
    )
    return config


def start(tmp_path: Path, kubeconfig: Path, *extra: str, runtime: str = "fake") -> RunningFastpod:
    manifests = tmp_path / "manifests"
    manifests.mkdir(exist_ok=True)
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
        workers=2,
        runtime=runtime,
        api_port=free_port(),
    )


def wait_for_record(
    fastpod: RunningFastpod, event: str, count: int = 1, timeout: float = 20, **fields: str
) -> list[dict[str, Any]]:
    fastpod.wait_for(lambda: len(fastpod.events(event, **fields)) >= count, timeout=timeout)
    return fastpod.events(event, **fields)


def mirror(server: LocalApiServer, key: str) -> dict[str, Any] | None:
    namespace, name = key.split("/")
    return server.stored(PODS, namespace, name)


def running_mirror(server: LocalApiServer, key: str) -> dict[str, Any] | None:
    """The mirror under ``key`` once its status says Running."""
    found = mirror(server, key)
    if found is None or found.get("status", {}).get("phase") != "Running":
        return None
    return found


def another_mirror(
    server: LocalApiServer, key: str, earlier: dict[str, Any]
) -> dict[str, Any] | None:
    """The running mirror under ``key`` once it is not ``earlier`` (deleted, made again)."""
    found = running_mirror(server, key)
    if found is None or found["metadata"]["uid"] == earlier["metadata"]["uid"]:
        return None
    if found["metadata"].get("deletionTimestamp"):
        return None
    return found


def wait_for_mirror(
    server: LocalApiServer,
    key: str,
    timeout: float = 20,
    replacing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The running mirror under ``key`` (once it is not ``replacing``: deleted, made again)."""
    if replacing is None:
        found = wait_for(lambda: running_mirror(server, key), timeout)
    else:
        earlier = replacing
        found = wait_for(lambda: another_mirror(server, key, earlier), timeout)
    assert found is not None
    return found


def test_kubectl_sees_a_mirror_pod_for_every_static_pod_with_its_status(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = node_with_web(api_server, tmp_path)
    manifest(tmp_path / "manifests", "etcd", namespace="kube-system", tier="control-plane")
    fastpod = start(tmp_path, kubeconfig)
    try:
        wait_for_record(fastpod, "mirror pod created", count=2, timeout=30)
        web = wait_for_mirror(api_server, "default/web-node1")
        etcd = wait_for_mirror(api_server, "kube-system/etcd-node1")
        listing = kubectl(kubeconfig, "get", "pods", "-A", "-o", "wide").splitlines()
        described = kubectl(kubeconfig, "describe", "pod", "-n", "kube-system", "etcd-node1")
        local = fastpod.served_pods()
        inspected = fastpod_cli(tmp_path / "root", "inspect", "-n", "kube-system", "etcd-node1")
    finally:
        assert fastpod.stop() == 0
    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    for found, name in ((web, "web-node1"), (etcd, "etcd-node1")):
        annotations = found["metadata"]["annotations"]
        assert annotations[MIRROR] == annotations[CONFIG_HASH]
        assert annotations[CONFIG_HASH] == local[name]["metadata"]["annotations"][CONFIG_HASH]
        assert found["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "name": "node1",
                "uid": node["metadata"]["uid"],
                "controller": True,
            }
        ]
        assert found["spec"]["nodeName"] == "node1"
        ours = local[name]["status"]["containerStatuses"][0]
        assert found["status"]["containerStatuses"][0]["containerID"] == ours["containerID"]
    rows = {tuple(line.split()[:2]): line.split() for line in listing[1:]}
    assert rows[("default", "web-node1")][2:4] == ["1/1", "Running"]
    assert rows[("kube-system", "etcd-node1")][2:4] == ["1/1", "Running"]
    assert rows[("kube-system", "etcd-node1")][7] == "node1"
    assert "tier=control-plane" in described
    assert f"Mirror Pod:     created (uid {etcd['metadata']['uid']})" in inspected.stdout
    assert re.search(r"^Status:\s+Running$", described, re.MULTILINE)
    assert re.search(r"^Controlled By:\s+Node/node1$", described, re.MULTILINE)


def test_an_edited_manifest_replaces_its_mirror_and_a_deleted_mirror_comes_back(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig)
    try:
        first = wait_for_mirror(api_server, "default/web-node1")
        started = fastpod.wait_for_event("container started", pod="default/web-node1")

        manifest(tmp_path / "manifests", "web", version="2")
        wait_for_record(fastpod, "mirror pod replaced", pod="default/web-node1", timeout=30)
        second = wait_for_mirror(api_server, "default/web-node1")

        kubectl(kubeconfig, "delete", "pod", "web-node1", "--wait=false")
        third = wait_for_mirror(api_server, "default/web-node1", replacing=second)
        restarts = fastpod.events("container started", pod="default/web-node1")
    finally:
        assert fastpod.stop() == 0
    uids = {found["metadata"]["uid"] for found in (first, second, third)}
    assert len(uids) == 3
    assert first["metadata"]["annotations"][MIRROR] != second["metadata"]["annotations"][MIRROR]
    assert second["metadata"]["labels"] == {"version": "2"}
    assert third["metadata"]["annotations"][MIRROR] == second["metadata"]["annotations"][MIRROR]
    # one start for the first pod, one for the edited one: the deletion restarted nothing
    assert len(restarts) == len(started) + 1


def test_a_mirror_status_someone_else_wrote_is_put_back_and_their_condition_kept(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    """The status manager's ``needsReconcile``: a mirror whose status is no longer the
    static pod's gets it back; a condition another owner added stays."""
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig)
    try:
        wait_for_mirror(api_server, "default/web-node1")
        theirs = {"type": "example.com/Drained", "status": "True"}
        patch = {"status": {"phase": "Failed", "conditions": [theirs]}}
        kubectl(
            kubeconfig,
            *("patch", "pod", "web-node1", "--subresource=status", "--type=merge"),
            *("-p", json.dumps(patch)),
        )
        corrected = wait_for_mirror(api_server, "default/web-node1")
        started = fastpod.events("container started", pod="default/web-node1")
    finally:
        assert fastpod.stop() == 0
    assert corrected["status"]["phase"] == "Running"
    assert theirs in corrected["status"]["conditions"]
    assert {"Ready", "ContainersReady"} <= {c["type"] for c in corrected["status"]["conditions"]}
    assert len(started) == 1, "the local pod untouched"


def test_a_watch_resumed_after_its_version_was_compacted_lists_again(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    """The watch ends and its resource version is gone (410): a list, then a new watch;
    a mirror deleted afterwards is still seen and made again."""
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig)
    try:
        first = wait_for_mirror(api_server, "default/web-node1")
        watches = api_server.call(lambda: api_server.emulator.watches_opened)
        # a change the watch does not see, then compaction: its version is too old now
        leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        lease = {"metadata": {"name": "elsewhere"}, "spec": {}}
        assert api_server.request("POST", leases, lease)[0] == 201
        api_server.call(api_server.emulator.compact)
        api_server.call(api_server.emulator.close_watches)
        wait_for(lambda: api_server.call(lambda: api_server.emulator.watches_opened) > watches + 1)
        kubectl(kubeconfig, "delete", "pod", "web-node1", "--wait=false")
        second = wait_for_mirror(api_server, "default/web-node1", replacing=first)
    finally:
        assert fastpod.stop() == 0
    assert second["metadata"]["uid"] != first["metadata"]["uid"]


def test_a_cluster_process_started_again_is_told_every_static_pod_again(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    """Killed, then a manifest removed while it is down: the new process learns the pods
    that remain (a deleted mirror comes back) and which are gone (their mirror deleted)."""
    kubeconfig = node_with_web(api_server, tmp_path)
    gone = manifest(tmp_path / "manifests", "db")
    fastpod = start(tmp_path, kubeconfig)
    try:
        first = wait_for_mirror(api_server, "default/web-node1")
        wait_for_mirror(api_server, "default/db-node1")
        os.kill(fastpod.child_pid("cluster"), signal.SIGKILL)
        gone.unlink()
        fastpod.wait_for_event("pod removed", pod="default/db-node1")
        wait_for_record(fastpod, "process restarted", child="cluster")
        wait_for_record(fastpod, "orphan mirror pod deleted", pod="default/db-node1")
        kubectl(kubeconfig, "delete", "pod", "web-node1", "--wait=false")
        second = wait_for_mirror(api_server, "default/web-node1", replacing=first)
        started = fastpod.events("container started", pod="default/web-node1")
    finally:
        assert fastpod.stop() == 0
    assert mirror(api_server, "default/db-node1") is None
    assert second["metadata"]["annotations"][MIRROR] == first["metadata"]["annotations"][MIRROR]
    assert len(started) == 1


def test_an_orphan_mirror_is_removed_and_other_pods_are_left_alone(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    """A mirror left by an earlier run, for a manifest since removed, and a pod that is not
    a mirror, both bound to this node."""
    code, node = api_server.request("POST", "/api/v1/nodes", {"metadata": {"name": "node1"}})
    assert code == 201
    static = {
        "metadata": {
            "name": "gone-node1",
            "namespace": "default",
            "annotations": {CONFIG_HASH: "x"},
        },
        "spec": {"containers": [{"name": "c", "image": BUSYBOX}]},
    }
    code, _ = api_server.request(
        "POST",
        "/api/v1/namespaces/default/pods",
        mirror_pod(static, "node1", node["metadata"]["uid"]),
    )
    assert code == 201
    regular = {
        "metadata": {"name": "scheduled", "namespace": "default"},
        "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": BUSYBOX}]},
    }
    assert api_server.request("POST", "/api/v1/namespaces/default/pods", regular)[0] == 201
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig)
    try:
        wait_for_record(fastpod, "orphan mirror pod deleted", pod="default/gone-node1", timeout=30)
        wait_for_mirror(api_server, "default/web-node1")
    finally:
        assert fastpod.stop() == 0
    assert mirror(api_server, "default/gone-node1") is None
    assert mirror(api_server, "default/scheduled") is not None


def test_a_refused_mirror_creation_is_logged_once_and_retried(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    api_server.call(lambda: api_server.emulator.refuse("POST", r"/pods$", 403))
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig)
    try:
        wait_for_record(fastpod, "API server call failed", call="create mirror pod", timeout=30)
        wait_for(lambda: _posts(api_server) >= 4, timeout=30)  # retried, with its back-off
        inspected = fastpod_cli(tmp_path / "root", "inspect", "web-node1", "-o", "json")
        api_server.call(api_server.emulator.lift)
        wait_for_mirror(api_server, "default/web-node1", timeout=30)
        failures = fastpod.events("API server call failed", call="create mirror pod")
        again = fastpod.events("API server call succeeded again", call="create mirror pod")
    finally:
        assert fastpod.stop() == 0
    assert len(failures) == 1
    assert "403" in failures[0]["error"]
    assert again[0]["failures"] >= 4
    mirror_state = json.loads(inspected.stdout)["mirror"]
    assert mirror_state["state"] == "failing"
    assert "create mirror pod: 403 Forbidden" in mirror_state["reason"]


def _posts(server: LocalApiServer) -> int:
    return sum(1 for method, path in server.requests() if method == "POST" and "/pods" in path)


def test_an_api_server_gone_for_a_while_is_caught_up_with_and_the_pods_untouched(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    config = kubelet_config(
        tmp_path, "nodeLeaseDurationSeconds: 2\nnodeStatusUpdateFrequency: 1s\n"
    )
    kubeconfig = node_with_web(api_server, tmp_path)
    fastpod = start(tmp_path, kubeconfig, "--config", str(config))
    try:
        wait_for_mirror(api_server, "default/web-node1")
        before = fastpod.served_pods()["web-node1"]["status"]["containerStatuses"][0]

        api_server.pause()
        # while it is gone: a new static pod
        manifest(tmp_path / "manifests", "db")
        fastpod.wait_for_event("container started", pod="default/db-node1")
        wait_for_record(fastpod, "API server call failed", call="list pods", timeout=30)
        health = fastpod.get("/healthz")
        api_server.resume()

        db = wait_for_mirror(api_server, "default/db-node1", timeout=30)
        web = wait_for_mirror(api_server, "default/web-node1", timeout=30)
        after = fastpod.served_pods()["web-node1"]["status"]["containerStatuses"][0]
    finally:
        assert fastpod.stop() == 0
    assert health == (200, b"ok")
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == 0
    assert db["status"]["containerStatuses"][0]["ready"] is True
    assert web["metadata"]["annotations"][MIRROR]
    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    assert [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"] == ["True"]


@pytest.mark.docker
def test_on_docker_a_deleted_mirror_comes_back_and_the_container_keeps_its_id(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    kubeconfig = node_with_web(api_server, tmp_path)
    with engines_held():
        docker_engine.remove_all()
        fastpod = start(tmp_path, kubeconfig, runtime="docker")
        try:
            first = wait_for_mirror(api_server, "default/web-node1", timeout=60)
            before = _docker_container_ids()
            kubectl(kubeconfig, "delete", "pod", "web-node1", "--wait=false")
            second = wait_for_mirror(api_server, "default/web-node1", replacing=first)
            after = _docker_container_ids()
        finally:
            assert fastpod.stop() == 0
            docker_engine.remove_all()
    assert first["metadata"]["uid"] != second["metadata"]["uid"]
    assert before == after
    container_id = second["status"]["containerStatuses"][0]["containerID"]
    assert container_id.removeprefix("docker://") in after


@pytest.mark.docker
def test_on_docker_an_api_server_gone_a_minute_changes_no_pod_and_is_caught_up_with(
    api_server: LocalApiServer, tmp_path: Path
) -> None:
    config = kubelet_config(tmp_path, "nodeStatusUpdateFrequency: 1s\n")
    kubeconfig = node_with_web(api_server, tmp_path)
    with engines_held():
        docker_engine.remove_all()
        fastpod = start(tmp_path, kubeconfig, "--config", str(config), runtime="docker")
        try:
            wait_for_mirror(api_server, "default/web-node1", timeout=60)
            before = _docker_container_ids()
            api_server.pause()
            stopped_at = datetime.datetime.now(datetime.UTC)
            manifest(tmp_path / "manifests", "db")
            fastpod.wait_for_event("container started", pod="default/db-node1")
            time.sleep(60)  # the outage the issue names: a minute without an API server
            health = fastpod.get("/healthz")
            api_server.resume()
            db = wait_for_mirror(api_server, "default/db-node1", timeout=60)
            wait_for(lambda: _lease_renewed_since(api_server, stopped_at), timeout=30)
            after = _docker_container_ids()
            failures = fastpod.events("API server call failed")
        finally:
            assert fastpod.stop() == 0
            docker_engine.remove_all()
    assert health == (200, b"ok")
    assert before == after
    assert db["status"]["containerStatuses"][0]["ready"] is True
    # the first failure of a streak is said, not one line per retry for a minute
    assert 0 < len(failures) <= len({f["call"] for f in failures})
    node = api_server.stored("v1/nodes", None, "node1")
    assert node is not None
    assert [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"] == ["True"]


def _lease_renewed_since(server: LocalApiServer, moment: datetime.datetime) -> bool:
    lease = server.stored("coordination.k8s.io/v1/leases", "kube-node-lease", "node1")
    if lease is None:
        return False
    renewed = datetime.datetime.fromisoformat(lease["spec"]["renewTime"].replace("Z", "+00:00"))
    return renewed > moment


def _docker_container_ids() -> set[str]:
    listed = subprocess.run(
        ["docker", "ps", "-q", "--no-trunc", "--filter", "label=io.kubernetes.pod.name=web-node1"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(listed.stdout.split())
