"""The official Kubernetes Python client reads fastpod's ``GET /pods`` as a kubelet's: a
``v1.PodList`` of real manifests with their statuses parses, and reads back what was seen."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest
from kubernetes.client import V1ContainerStatus, V1Pod, V1PodList

from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod
from fastpod.probes import decisions
from fastpod.probes.decisions import ContainerProbes
from fastpod.status.compute import Observed, pod_status
from tests.support import DATA, FILE
from tests.support.kubernetes_client import parse_as_the_client_does

HOST_IP = "10.0.0.10"


class NodePod(msgspec.Struct, frozen=True):
    """One pod of ``tests/data/status/node.json``: its manifest and what its sync saw."""

    manifest: str
    observed: Observed | None


class Node(msgspec.Struct, frozen=True):
    """``tests/data/status/node.json``: the pods of one node, taken at ``start_time``."""

    start_time: float
    pods: list[NodePod]


def load_manifest(reference: str) -> Pod:
    """``file:<name>`` from tests/data/manifests or ``corpus:<path>`` from tests/data/corpus."""
    where, _, name = reference.partition(":")
    directory = DATA / ("manifests" if where == "file" else "corpus")
    return decode_pod((directory / name).read_bytes(), FILE, "node1").pod


def passing_probes(pod: Pod, observed: Observed | None) -> dict[str, ContainerProbes]:
    """The prober's states of the running instances once each probe has succeeded: the
    node in the fixture is one whose probes pass."""
    if observed is None:
        return {}
    specs = {c.name: c for c in [*(pod.spec.init_containers or ()), *(pod.spec.containers or ())]}
    probes = {}
    for info in observed.containers:
        container = specs.get(info.name)
        if info.state != "running" or container is None:
            continue
        instance = decisions.new_instance(container, info.id, info.started_at or 0.0, 0.0)
        for kind in decisions.PROBE_KINDS:
            probe = decisions.probe_of(container, kind)
            if probe is not None and instance.state(kind) is not None:
                timing = decisions.probe_timing(probe)
                for _ in range(timing.success_threshold):
                    instance, _ = decisions.record(instance, kind, timing, "success", 0.0)
        probes[info.name] = instance
    return probes


def pods_response(node: Node) -> bytes:
    """The body of ``GET /pods``: every pod with its status, as the kubelet lists them."""
    items = []
    for entry in node.pods:
        pod = load_manifest(entry.manifest)
        status = pod_status(
            pod,
            entry.observed,
            host_ip=HOST_IP,
            pod_ips=(),
            start_time=node.start_time,
            runtime_name="docker",
            probes=passing_probes(pod, entry.observed),
        )
        items.append(msgspec.structs.replace(pod, status=status))
    return msgspec.json.encode(
        {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}
    )


@pytest.fixture(scope="module")
def pod_list() -> dict[str, V1Pod]:
    node = msgspec.json.decode((DATA / "status" / "node.json").read_bytes(), type=Node)
    parsed = parse_as_the_client_does(pods_response(node))
    assert isinstance(parsed, V1PodList)
    assert parsed.kind == "PodList"
    return {str(pod.metadata.name): pod for pod in parsed.items}


def moment(seconds: float) -> datetime:
    """A time of node.json as the client gives it back: aware, at whole seconds."""
    return datetime.fromtimestamp(int(seconds), UTC)


def only_container(pod: V1Pod) -> V1ContainerStatus:
    (status,) = pod.status.container_statuses or []
    return status


def test_every_pod_of_the_list_parses_with_its_status(pod_list: dict[str, V1Pod]) -> None:
    assert {name: pod.status.phase for name, pod in pod_list.items()} == {
        "etcd-node1": "Running",
        "kube-apiserver-node1": "Running",
        "startup-coordination-example-node1": "Running",
        "velum-public-node1": "Pending",
        "dns-frontend-node1": "Succeeded",
        "init-demo-node1": "Pending",
    }
    for pod in pod_list.values():
        assert pod.status.start_time == moment(1_800_000_000)
        assert pod.status.host_ip == HOST_IP
        assert [condition.type for condition in pod.status.conditions] == [
            "PodReadyToStartContainers",
            "Initialized",
            "Ready",
            "ContainersReady",
            "PodScheduled",
        ]


def test_a_restarted_container_reads_back_running_with_its_oom_kill(
    pod_list: dict[str, V1Pod],
) -> None:
    etcd = pod_list["etcd-node1"]
    status = only_container(etcd)
    assert status.state.running.started_at == moment(1_800_000_031)
    assert (status.restart_count, status.ready, status.started) == (2, True, True)
    assert status.container_id == "docker://c9e2b7a4f1d0"
    assert status.image_id.startswith("sha256:3861cfcd")
    last = status.last_state.terminated
    assert (last.reason, last.exit_code, last.finished_at) == (
        "OOMKilled",
        137,
        moment(1_800_000_030),
    )
    assert (etcd.status.pod_ip, etcd.status.qos_class) == (HOST_IP, "Burstable")
    ready = {c.type: c for c in etcd.status.conditions}["Ready"]
    assert (ready.status, ready.last_transition_time) == ("True", moment(1_800_000_031))


def test_a_crash_loop_reads_back_waiting_with_the_last_termination(
    pod_list: dict[str, V1Pod],
) -> None:
    status = only_container(pod_list["kube-apiserver-node1"])
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.state.waiting.message.startswith("back-off 2m40s restarting failed")
    assert status.state.running is None
    assert status.last_state.terminated.exit_code == 1
    assert status.last_state.terminated.reason == "Error"
    assert (status.restart_count, status.ready, status.started) == (4, False, False)
    assert status.image == "registry.k8s.io/kube-apiserver:v1.32.0"


def test_a_sidecar_reads_back_among_the_init_containers(pod_list: dict[str, V1Pod]) -> None:
    pod = pod_list["startup-coordination-example-node1"]
    (sidecar,) = pod.status.init_container_statuses or []
    assert (sidecar.name, sidecar.ready, sidecar.started) == ("config-sidecar", True, True)
    assert sidecar.state.running.started_at == moment(1_800_000_002)
    assert all(condition.status == "True" for condition in pod.status.conditions)


def test_init_containers_in_progress_read_back_in_spec_order(
    pod_list: dict[str, V1Pod],
) -> None:
    status = pod_list["velum-public-node1"].status
    init = status.init_container_statuses
    assert [s.name for s in init[:3]] == [
        "mariadb-user-secrets",
        "openldap-secrets",
        "saltapi-secrets",
    ]
    assert init[0].state.terminated.reason == "Completed"
    assert init[0].state.terminated.exit_code == 0
    assert init[1].state.running is not None
    assert {s.state.waiting.reason for s in init[2:]} == {"PodInitializing"}
    assert {s.state.waiting.reason for s in status.container_statuses} == {"PodInitializing"}
    initialized = {c.type: c for c in status.conditions}["Initialized"]
    assert initialized.status == "False"
    assert initialized.reason == "ContainersNotInitialized"


def test_a_completed_pod_reads_back_succeeded(pod_list: dict[str, V1Pod]) -> None:
    pod = pod_list["dns-frontend-node1"]
    terminated = only_container(pod).state.terminated
    assert (terminated.reason, terminated.exit_code) == ("Completed", 0)
    assert (terminated.started_at, terminated.finished_at) == (
        moment(1_800_000_002),
        moment(1_800_000_009),
    )
    ready = {c.type: c for c in pod.status.conditions}["Ready"]
    assert (ready.status, ready.reason) == ("False", "PodCompleted")


def test_a_pod_not_synced_yet_reads_back_initializing(pod_list: dict[str, V1Pod]) -> None:
    status = pod_list["init-demo-node1"].status
    (init,) = status.init_container_statuses or []
    assert init.state.waiting.reason == "PodInitializing"
    assert (init.restart_count, init.image_id, init.container_id) == (0, "", None)
    assert status.pod_ip is None
    assert status.qos_class == "BestEffort"
