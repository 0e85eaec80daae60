"""Finding the pods another agent left among what a runtime lists."""

from __future__ import annotations

from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.runtime.foreign import docker_labels, docker_name_attempt, group_foreign
from fastpod.runtime.labels import (
    CONTAINER_NAME,
    CONTAINER_TYPE,
    MANAGED_BY,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
)

SOURCE = "kubernetes.io/config.source"


def identity(uid: str, name: str = "etcd-node1") -> dict[str, str]:
    return {POD_NAME: name, POD_NAMESPACE: "kube-system", POD_UID: uid}


def test_sandboxes_without_fastpods_label_are_grouped_by_pod_with_their_containers() -> None:
    old = SandboxInfo("s0", {**identity("u1"), SOURCE: "file"}, False, 10.0, 0)
    new = SandboxInfo("s1", {**identity("u1"), SOURCE: "http"}, True, 20.0, 1)
    ours = SandboxInfo("s2", {**identity("u2", "web-node1"), MANAGED_BY: "true"}, True, 5.0)
    theirs = ContainerInfo("c1", "s1", {**identity("u1"), CONTAINER_NAME: "etcd"}, "running")
    restarted_by_fastpod = ContainerInfo(
        "c2", "s1", {**identity("u1"), CONTAINER_NAME: "etcd", MANAGED_BY: "true"}, "running"
    )
    other = ContainerInfo("c3", "s2", {**identity("u2"), CONTAINER_NAME: "web"}, "running")

    (pod,) = group_foreign([old, new, ours], [theirs, restarted_by_fastpod, other])

    assert (pod.uid, pod.key, pod.source) == ("u1", "kube-system/etcd-node1", "http")
    assert pod.sandboxes == [old, new]
    assert pod.containers == [theirs, restarted_by_fastpod]


def test_a_sandbox_without_the_kubelets_pod_uid_is_nobodys_pod() -> None:
    assert group_foreign([SandboxInfo("s", {"app": "x"}, True)], []) == []


def test_cri_dockerds_annotation_labels_read_as_annotations() -> None:
    labels = {
        POD_UID: "u1",
        "annotation.io.kubernetes.container.hash": "1a2b3c4d",
        "annotation.kubernetes.io/config.source": "file",
        "io.kubernetes.docker.type": "container",
    }

    assert docker_labels(labels) == {
        POD_UID: "u1",
        "io.kubernetes.container.hash": "1a2b3c4d",
        "kubernetes.io/config.source": "file",
        "io.kubernetes.docker.type": "container",
    }


def test_a_docker_names_attempt_is_read_with_or_without_the_random_suffix() -> None:
    assert docker_name_attempt("/k8s_POD_etcd-node1_kube-system_u1_3") == 3
    assert docker_name_attempt("/k8s_POD_etcd-node1_kube-system_u1_3_1a2b3c4d") == 3
    assert docker_name_attempt("/k8s_etcd_etcd-node1_kube-system_u1_12_00000042") == 12
    assert docker_name_attempt("/registry") is None


def test_a_kubelets_init_container_is_known_by_its_type_annotation() -> None:
    labels = {**identity("u1"), CONTAINER_NAME: "setup"}

    assert ContainerInfo("c", "s", {**labels, CONTAINER_TYPE: "init"}, "exited").kind == "init"
    assert ContainerInfo("c", "s", {**labels, CONTAINER_TYPE: "container"}, "exited").kind == (
        "regular"
    )
