"""Taking over the kubelet's pods: adopt what runs as fastpod would run it, replace the rest,
remove what no source wants, leave the API server's pods alone."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from fastpod.manifest.defaults import CONFIG_HASH
from fastpod.model import Capabilities, Container, EnvVar, Pod, PodSource, SecurityContext
from fastpod.runtime.base import ContainerInfo, ForeignPod, SandboxInfo
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces
from fastpod.runtime.labels import CONTAINER_NAME, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.runtime.spec import (
    CONTAINER_HASH,
    RESTART_COUNT,
    TERMINATION_GRACE,
    ContainerSpec,
    Mount,
    PodContext,
    container_hash,
    container_spec,
)
from fastpod.takeover.plan import (
    DELETION_GRACE,
    MINIMUM_GRACE_SECONDS,
    Decision,
    decide,
    foreign_grace,
    held_names,
    sort_out,
    with_uid,
)
from tests.support.pods import decoded, pod_key, pod_manifest

SOURCE = PodSource("file", "/etc/kubernetes/manifests/web.yaml")
KUBELET_UID = "6f1c2a3e4b5d6c7e8f9a0b1c2d3e4f50"
IMAGE = ImageDefaults(
    id="sha256:" + "b" * 64,
    cmd=["/bin/sh"],
    env={"PATH": "/usr/bin:/bin"},
)
POD_DIR = f"/var/lib/kubelet/pods/{KUBELET_UID}"
HOST_NETWORK = Namespaces(network="node", pid="container", ipc="pod")


def desired(**spec: Any) -> Pod:
    """The pod fastpod decodes from a manifest ``web`` (busybox, ``sleep 3600``)."""
    extra_spec = {"hostNetwork": True, **spec.pop("extra_spec", {})}
    document = pod_manifest("web", image="busybox:1.36", extra_spec=extra_spec, **spec)
    pod = decoded(document, SOURCE)
    pod.spec.containers[0].command = ["sleep", "3600"]  # type: ignore[index]
    return pod


def specs_of(pod: Pod, uid: str = KUBELET_UID) -> dict[str, ContainerSpec]:
    """What fastpod would run for each container, under the kubelet's UID."""
    adopted = with_uid(pod, uid)
    context = PodContext("10.0.0.5", "10.0.0.5", f"/var/lib/kubelet/pods/{uid}/volumes")
    return {
        container.name or "": container_spec(adopted, container, 0, "regular", context)
        for container in pod.spec.containers or ()
    }


def as_containerd_keeps(spec: ContainerSpec, **changes: Any) -> CreatedContainer:
    """The container as the kubelet asked containerd for it (its verbose status keeps the
    CRI config): the node's own files mounted besides the volumes."""
    created = CreatedContainer(
        image_id=IMAGE.id,
        command=spec.entrypoint,
        args=spec.arguments,
        env=dict(spec.env),
        working_dir=spec.working_dir or "",
        mounts=[
            *spec.mounts,
            Mount(f"{POD_DIR}/etc-hosts", "/etc/hosts"),
            Mount(f"{POD_DIR}/containers/{spec.name}/1a2b3c4d", "/dev/termination-log"),
        ],
        privileged=spec.security.privileged,
        capabilities_add=spec.security.capabilities_add,
        capabilities_drop=spec.security.capabilities_drop,
        user="",
        read_only_root=spec.security.read_only_root,
        no_new_privileges=spec.security.no_new_privileges,
        pid="container",
    )
    return msgspec.structs.replace(created, **changes)


def as_docker_keeps(spec: ContainerSpec) -> CreatedContainer:
    """The same container as Docker keeps it: the image's environment merged in."""
    created = as_containerd_keeps(spec)
    return msgspec.structs.replace(created, env={**IMAGE.env, **created.env})


def kubelet_pod(
    *,
    name: str = "web-node1",
    uid: str = KUBELET_UID,
    source: str = "file",
    ready: bool = True,
    containers: dict[str, str] | None = None,
    grace: str | None = "30",
    attempt: int = 0,
) -> ForeignPod:
    """A pod the kubelet left: a sandbox and a running container per name (with the image
    named in ``containers``), labelled as the kubelet labels them."""
    sandbox_id = f"sandbox-{uid[:6]}-{attempt}"
    identity = {POD_NAME: name, POD_NAMESPACE: "default", POD_UID: uid}
    infos = []
    for index, (container, image) in enumerate((containers or {"app": "busybox:1.36"}).items()):
        labels = {
            **identity,
            CONTAINER_NAME: container,
            CONTAINER_HASH: container_hash_of(container, image),
            RESTART_COUNT: "0",
        }
        if grace is not None:
            labels[TERMINATION_GRACE] = grace
        infos.append(ContainerInfo(f"container-{uid[:6]}-{index}", sandbox_id, labels, "running"))
    sandbox = SandboxInfo(sandbox_id, identity, ready, 1000.0 + attempt, attempt)
    return ForeignPod(uid, name, "default", source, [sandbox], infos)


def container_hash_of(name: str, image: str) -> str:
    return container_hash(Container(name=name, image=image))


def decision(pod: Pod, foreign: ForeignPod, **created_changes: Any) -> Decision:
    specs = specs_of(pod, foreign.uid)
    created = {
        info.id: as_containerd_keeps(specs[info.name], **created_changes)
        for info in foreign.containers
        if info.name in specs
    }
    return decide(pod, foreign, specs, created, HOST_NETWORK, {"busybox:1.36": IMAGE})


def test_a_pod_running_as_fastpod_would_run_it_is_adopted() -> None:
    result = decision(desired(), kubelet_pod())

    assert result.action == "adopt"
    assert result.reasons == []


def test_dockers_merged_image_defaults_read_as_what_the_kubelet_asked() -> None:
    pod, foreign = desired(), kubelet_pod()
    specs = specs_of(pod)
    created = {foreign.containers[0].id: as_docker_keeps(specs["app"])}

    result = decide(pod, foreign, specs, created, HOST_NETWORK, {"busybox:1.36": IMAGE})

    assert result.action == "adopt"


def test_an_image_given_by_the_image_defaults_matches_an_explicit_one() -> None:
    pod = desired()
    pod.spec.containers[0].command = None  # type: ignore[index]
    # the kubelet asked for the image's own command explicitly
    result = decision(pod, kubelet_pod(), command=["/bin/sh"], args=None)

    assert result.action == "adopt"


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        ({"image_id": "sha256:" + "c" * 64}, "image: runs sha256:ccc"),
        ({"args": ["60"], "command": ["sleep"]}, 'command: runs ["sleep", "60"]'),
        ({"env": {"MODE": "debug"}}, "env MODE: set in the running container"),
        ({"working_dir": "/tmp"}, "working directory: runs '/tmp'"),
        ({"privileged": True}, "privileged: runs yes, the manifest says no"),
        ({"user": "1000"}, "user: runs '1000', the manifest says ''"),
        ({"pid": "pod"}, "PID namespace: runs in the pod's, the manifest says its own"),
        ({"capabilities_add": ("NET_ADMIN",)}, 'capabilities added: runs ["NET_ADMIN"]'),
        ({"no_new_privileges": True}, "no new privileges: runs yes"),
        (
            {"mounts": [Mount("/srv/data", "/data", read_only=True)]},
            "mount /data: runs /srv/data (read-only), not in the manifest",
        ),
    ],
)
def test_a_container_that_differs_is_replaced_saying_what_differs(
    changes: dict[str, Any], said: str
) -> None:
    result = decision(desired(), kubelet_pod(), **changes)

    assert result.action == "replace"
    ((container, reason),) = result.reasons
    assert container == "app"
    assert reason.startswith(said)


def test_the_network_namespace_of_the_sandbox_counts() -> None:
    pod, foreign = desired(), kubelet_pod()
    specs = specs_of(pod)
    created = {foreign.containers[0].id: as_containerd_keeps(specs["app"])}
    pod_network = Namespaces(network="pod", pid="container", ipc="pod")

    result = decide(pod, foreign, specs, created, pod_network, {"busybox:1.36": IMAGE})

    assert result.reasons == [
        ("app", "network namespace: runs in the pod's, the manifest says the host's")
    ]


def test_the_kubelets_service_variables_and_own_files_are_not_differences() -> None:
    service_links = {
        "KUBERNETES_SERVICE_HOST": "10.96.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "KUBERNETES_SERVICE_PORT_HTTPS": "443",
        "KUBERNETES_PORT": "tcp://10.96.0.1:443",
        "KUBERNETES_PORT_443_TCP_ADDR": "10.96.0.1",
    }

    result = decision(desired(), kubelet_pod(), env=service_links)

    assert result.action == "adopt"


def test_a_service_variable_the_manifest_sets_is_compared() -> None:
    pod = desired()
    pod.spec.containers[0].env = [EnvVar(name="WEB_PORT", value="80")]  # type: ignore[index]

    result = decision(pod, kubelet_pod(), env={"WEB_PORT": "8080"})

    assert result.reasons == [("app", "env WEB_PORT: runs '8080', the manifest says '80'")]


def test_capabilities_compare_as_sets_with_or_without_the_prefix() -> None:
    pod = desired()
    context = SecurityContext(capabilities=Capabilities(add=["NET_ADMIN", "SYS_TIME"]))
    pod.spec.containers[0].security_context = context  # type: ignore[index]

    result = decision(pod, kubelet_pod(), capabilities_add=("CAP_SYS_TIME", "net_admin"))

    assert result.action == "adopt"


def test_a_container_made_by_an_older_kubelets_hash_is_replaced() -> None:
    foreign = kubelet_pod()
    labels = {**foreign.containers[0].labels, CONTAINER_HASH: "9a8b7c6d"}
    info = msgspec.structs.replace(foreign.containers[0], labels=labels)

    result = decision(desired(), msgspec.structs.replace(foreign, containers=[info]))

    assert result.action == "replace"
    assert "container hash is 9a8b7c6d" in result.reasons[0][1]


def test_containers_missing_or_extra_are_differences() -> None:
    pod = desired()
    foreign = kubelet_pod(containers={"sidecar": "busybox:1.36"})

    result = decision(pod, foreign)

    assert result.reasons == [
        ("app", "the manifest's container does not run"),
        ("sidecar", "runs, but the manifest has no such container"),
    ]


def test_a_pod_whose_sandbox_is_down_is_replaced() -> None:
    result = decision(desired(), kubelet_pod(ready=False))

    assert result.action == "replace"
    assert result.reasons == [("", "its sandbox is not running")]


def test_an_image_not_on_the_node_cannot_be_the_running_one() -> None:
    pod, foreign = desired(), kubelet_pod()
    specs = specs_of(pod)
    created = {foreign.containers[0].id: as_containerd_keeps(specs["app"])}

    result = decide(pod, foreign, specs, created, HOST_NETWORK, {"busybox:1.36": None})

    assert result.reasons == [("app", "the manifest's image busybox:1.36 is not on the node")]


def test_a_container_the_runtime_says_nothing_of_is_replaced() -> None:
    pod, foreign = desired(), kubelet_pod()

    result = decide(pod, foreign, specs_of(pod), {}, HOST_NETWORK, {"busybox:1.36": IMAGE})

    assert result.reasons == [("app", "the runtime does not say what it was created with")]


def test_api_pods_are_left_alone_and_unwanted_static_pods_removed() -> None:
    api = kubelet_pod(name="kube-proxy-x1", uid="a" * 32, source="api")
    unwanted = kubelet_pod(name="old-node1", uid="b" * 32)
    wanted_pod = kubelet_pod()

    result = sort_out({pod_key("web"): "f" * 32}, [api, unwanted, wanted_pod], (), enabled=True)

    assert result.api == [api]
    assert result.to_compare == {pod_key("web"): wanted_pod}
    assert [(d.action, d.pod, d.reasons) for d in result.removals] == [
        ("remove", unwanted, [("", "no source wants this pod")])
    ]


def test_a_pod_adopted_before_and_still_wanted_is_ours() -> None:
    adopted = kubelet_pod()

    result = sort_out({pod_key("web"): KUBELET_UID}, [adopted], {KUBELET_UID}, enabled=True)

    assert result.ours == [adopted]
    assert not result.to_compare
    assert not result.removals


def test_a_pod_adopted_before_whose_manifest_changed_is_compared_again() -> None:
    adopted = kubelet_pod()

    result = sort_out({pod_key("web"): "f" * 32}, [adopted], {KUBELET_UID}, enabled=True)

    assert result.to_compare == {pod_key("web"): adopted}


def test_of_two_copies_the_running_one_is_compared_and_the_other_removed() -> None:
    dead = kubelet_pod(uid="c" * 32, ready=False, attempt=3)
    alive = kubelet_pod(uid="d" * 32)

    result = sort_out({pod_key("web"): "f" * 32}, [dead, alive], (), enabled=True)

    assert result.to_compare == {pod_key("web"): alive}
    assert [(d.pod, d.reasons) for d in result.removals] == [
        (dead, [("", "an older copy of the pod")])
    ]


def test_with_taking_over_off_static_pods_are_untouched_and_their_names_refused() -> None:
    held = kubelet_pod()
    unwanted = kubelet_pod(name="old-node1", uid="b" * 32)

    result = sort_out({pod_key("web"): "f" * 32}, [held, unwanted], (), enabled=False)

    assert result.untouched == [held, unwanted]
    assert result.refused == {pod_key("web"): held}
    assert not result.removals
    assert not result.to_compare


def test_names_are_held_for_static_pods_not_already_fastpods() -> None:
    pods = [
        kubelet_pod(),
        kubelet_pod(name="proxy-node1", uid="a" * 32, source="api"),
        kubelet_pod(name="db-node1", uid="e" * 32),
        kubelet_pod(name="cache-node1", uid="9" * 32),
    ]
    # db was adopted before and is still what its source wants; cache was, but changed
    desired = {"default/db-node1": "e" * 32, "default/cache-node1": "f" * 32}

    assert held_names(pods, desired, {"e" * 32, "9" * 32}) == {
        pod_key("web"),
        "default/cache-node1",
    }


def test_the_grace_period_is_the_pods_own_as_the_kubelet_restores_it() -> None:
    foreign = kubelet_pod(grace="45")
    deleting = msgspec.structs.replace(
        foreign.containers[0], labels={**foreign.containers[0].labels, DELETION_GRACE: "5"}
    )

    assert foreign_grace(foreign) == 45
    assert foreign_grace(msgspec.structs.replace(foreign, containers=[deleting])) == 5
    assert foreign_grace(kubelet_pod(grace=None)) == MINIMUM_GRACE_SECONDS


def test_an_adopted_pod_takes_the_kubelets_uid_and_config_hash() -> None:
    pod = desired()
    own_uid = pod.metadata.uid

    adopted = with_uid(pod, KUBELET_UID)

    assert adopted.metadata.uid == KUBELET_UID
    assert (adopted.metadata.annotations or {})[CONFIG_HASH] == KUBELET_UID
    assert pod.metadata.uid == own_uid
    assert adopted.spec is pod.spec
