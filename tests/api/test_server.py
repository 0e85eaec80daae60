"""The read-only API of a real ``fastpod run`` (fake runtime): what a kubelet user's tools read.

``/pods`` is parsed by the official Kubernetes client, ``/metrics`` by prometheus-client's
parser; ``/healthz`` is asked while processes are stopped and the runtime is missing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import V1PodList

from fastpod.api.discovery import read_record
from tests.support.kubernetes_client import parse_as_the_client_does
from tests.support.pods import NODE, pod_manifest
from tests.support.prometheus_text import samples
from tests.support.running import RunningFastpod, free_port

pytestmark = pytest.mark.e2e

PODS = ("web", "db", "cache")


def pod_list(body: bytes) -> V1PodList:
    """``body`` read exactly as the Kubernetes client reads an API server's answer."""
    parsed = parse_as_the_client_does(body)
    assert isinstance(parsed, V1PodList)
    return parsed


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    for name in PODS:
        (directory / f"{name}.yaml").write_bytes(pod_manifest(name, namespace="kube-system"))
    return directory


def start(manifests: Path, tmp_path: Path, *extra: str, **options: Any) -> RunningFastpod:
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(manifests), "--root-dir", str(tmp_path / "root"), *extra],
        api_port=free_port(),
        **options,
    )
    fastpod.wait_for_api()
    return fastpod


@pytest.fixture
def fastpod(manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(manifests, tmp_path)
    running.wait_for_event("container started", count=len(PODS))
    # a start is logged before the pod loop next observes the pod; /pods shows what it observed
    running.wait_for(
        lambda: (
            [pod["status"].get("phase") for pod in running.served_pods().values()]
            == ["Running"] * len(PODS)
        )
    )
    yield running
    running.stop()


def test_pods_is_a_v1_pod_list_with_live_status_that_the_kubernetes_client_reads(
    fastpod: RunningFastpod,
) -> None:
    status, body = fastpod.get("/pods")
    assert status == 200
    document = json.loads(body)
    assert (document["kind"], document["apiVersion"]) == ("PodList", "v1")
    pods = {pod.metadata.name: pod for pod in pod_list(body).items}
    assert set(pods) == {f"{name}-{NODE}" for name in PODS}
    for pod in pods.values():
        assert pod.metadata.namespace == "kube-system"
        assert len(pod.metadata.uid or "") == 32
        assert pod.metadata.annotations["kubernetes.io/config.source"] == "file"
        assert pod.spec.node_name == NODE
        assert pod.status.phase == "Running"
        assert pod.status.start_time is not None
        (container,) = pod.status.container_statuses or []
        assert container.name == "app"
        assert container.state.running is not None
        assert container.ready is True
        assert container.restart_count == 0
        assert container.container_id.startswith("fake://")
        ready = {c.type: c.status for c in pod.status.conditions}
        assert ready["Ready"] == "True"


def test_a_pod_removed_from_the_directory_leaves_the_pod_list(
    fastpod: RunningFastpod, manifests: Path
) -> None:
    (manifests / "db.yaml").unlink()
    fastpod.wait_for_event("pod stopped")
    names = {pod.metadata.name for pod in pod_list(fastpod.get("/pods")[1]).items}
    assert names == {f"web-{NODE}", f"cache-{NODE}"}


def test_healthz_is_ok_while_every_process_answers(fastpod: RunningFastpod) -> None:
    assert fastpod.get("/healthz") == (200, b"ok")


def test_healthz_names_a_worker_that_does_not_answer_and_recovers_with_it(
    fastpod: RunningFastpod,
) -> None:
    worker = fastpod.child_pid("worker-1")
    os.kill(worker, signal.SIGSTOP)
    try:
        status, body = fastpod.get("/healthz")
    finally:
        os.kill(worker, signal.SIGCONT)
    assert status == 500
    assert b"[-]syncloop failed: worker-1: no answer within 2s" in body
    assert fastpod.get("/healthz") == (200, b"ok")


def test_healthz_fails_with_the_reason_while_the_runtime_is_unreachable(
    manifests: Path, tmp_path: Path
) -> None:
    fastpod = start(
        manifests,
        tmp_path,
        "--docker-socket",
        str(tmp_path / "no-docker.sock"),
        "--pod-logs-dir",
        str(tmp_path / "logs"),
        runtime="docker",
    )
    try:
        fastpod.wait_for_event("runtime call failed")
        status, body = fastpod.get("/healthz")
    finally:
        fastpod.stop()
    assert status == 500
    assert b"[-]runtime failed: " in body
    assert b"Docker unreachable" in body


def test_metrics_carry_the_kubelet_names_and_fastpod_s_own(fastpod: RunningFastpod) -> None:
    status, body = fastpod.get("/metrics")
    assert status == 200
    found = samples(body)
    assert found[("kubelet_running_pods", ())] == len(PODS)
    assert found[("kubelet_desired_pods", (("static", "true"),))] == len(PODS)
    running = (("container_state", "running"),)
    assert found[("kubelet_running_containers", running)] == len(PODS)
    started = ("kubelet_started_containers_total", (("container_type", "container"),))
    assert found[started] == len(PODS)
    assert found[("kubelet_started_pods_total", ())] == len(PODS)
    assert found[("kubelet_pod_start_duration_seconds_count", ())] == len(PODS)
    changed = (("kind", "changed"), ("source", "file"))
    assert found[("fastpod_manifest_events_total", changed)] == len(PODS)
    assert found[("kubelet_node_name", (("node", NODE),))] == 1
    processes = {
        dict(labels)["process"]
        for name, labels in found
        if name == "fastpod_process_resident_memory_bytes"
    }
    assert processes == {"supervisor", "watcher", "worker-0", "worker-1"}
    assert found[("fastpod_relist_duration_seconds_count", ())] >= 1


def test_inspect_gives_one_pod_with_its_source_file_and_its_events(
    fastpod: RunningFastpod, manifests: Path
) -> None:
    status, body = fastpod.get(f"/fastpod/v1/pods/kube-system/web-{NODE}")
    assert status == 200
    document = json.loads(body)
    assert document["source"] == str(manifests / "web.yaml")
    assert document["pod"]["metadata"]["name"] == f"web-{NODE}"
    assert document["pod"]["status"]["phase"] == "Running"
    reasons = [event["reason"] for event in document["events"]]
    assert "Started" in reasons


def test_an_unknown_pod_is_not_found(fastpod: RunningFastpod) -> None:
    status, body = fastpod.get(f"/fastpod/v1/pods/kube-system/nothing-{NODE}")
    assert status == 404
    assert b"no pod kube-system/nothing-node1" in body


def test_the_daemon_records_where_its_api_listens_until_it_stops(
    manifests: Path, tmp_path: Path
) -> None:
    fastpod = start(manifests, tmp_path)
    record = read_record(str(tmp_path / "root"))
    assert record is not None
    assert record.url == f"http://127.0.0.1:{fastpod.api_port}"
    assert record.pid == fastpod.process.pid
    assert fastpod.stop() == 0
    assert read_record(str(tmp_path / "root")) is None


def test_a_taken_port_is_retried_while_fastpod_runs_its_pods(
    manifests: Path, tmp_path: Path
) -> None:
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(manifests), "--root-dir", str(tmp_path / "root")],
        api_port=port,
    )
    try:
        (refused,) = fastpod.wait_for_event("API cannot listen")
        assert refused["port"] == port
        fastpod.wait_for_event("container started", count=len(PODS))
        squatter.close()
        fastpod.wait_for_api()
        assert fastpod.get("/healthz") == (200, b"ok")
    finally:
        squatter.close()
        fastpod.stop()


def test_systemd_is_told_ready_once_every_pod_has_synced(manifests: Path, tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(address)
    listener.settimeout(20)
    fastpod = start(manifests, tmp_path, environment={"NOTIFY_SOCKET": address})
    try:
        message = listener.recv(4096)
        assert message.startswith(b"READY=1")
        (ready,) = fastpod.wait_for_event("fastpod ready")
        started = fastpod.wait_for_event("container started", count=len(PODS))
        # the first sync of every pod (which starts its containers) came before readiness
        assert max(record["time"] for record in started) <= ready["time"]
    finally:
        fastpod.stop()
        listener.close()


def test_a_kubelet_config_file_names_the_manifests_and_the_port_flags_do_not_override(
    manifests: Path, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "kubelet" / "config.yaml"
    config.parent.mkdir()
    config.write_text(
        "apiVersion: kubelet.config.k8s.io/v1beta1\n"
        "kind: KubeletConfiguration\n"
        "staticPodPath: ../manifests\n"
        f"readOnlyPort: {port}\n"
        "fileCheckFrequency: 0s\n"
    )
    fastpod = RunningFastpod(
        ["--config", str(config), "--root-dir", str(tmp_path / "root")], api_port=None
    )
    fastpod.api_port = port
    try:
        fastpod.wait_for_api()
        fastpod.wait_for_event("container started", count=len(PODS))
        names = {pod.metadata.name for pod in pod_list(fastpod.get("/pods")[1]).items}
    finally:
        fastpod.stop()
    assert names == {f"{name}-{NODE}" for name in PODS}
    (started,) = fastpod.events("fastpod started")
    assert started["manifest_path"] == str(manifests)
