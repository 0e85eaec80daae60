"""PURE: a pod's effective security, resolved as the kubelet resolves it."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.security import (
    RUNTIME_DEFAULT,
    UNCONFINED,
    ImageUser,
    NodeSecurity,
    Profile,
    SELinux,
    apparmor_profile,
    dotted,
    needs_image_user,
    run_as_non_root_problem,
    sandbox_security,
    seccomp_profile,
    selinux_options,
    supplemental_groups,
)
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

NODE = NodeSecurity(seccomp_root="/var/lib/kubelet/seccomp")
SECCOMP_DEFAULT = NodeSecurity(seccomp_default=True, seccomp_root="/var/lib/kubelet/seccomp")


def pod_with(
    pod_context: dict[str, Any] | None = None,
    container_context: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
) -> Pod:
    """Pod ``web`` with one container ``app``, with these security contexts and annotations."""
    spec: dict[str, Any] = {}
    if pod_context is not None:
        spec["securityContext"] = pod_context
    if container_context is not None:
        spec["containers"] = [
            {"name": "app", "image": "busybox", "securityContext": container_context}
        ]
    return decoded(pod_manifest("web", annotations=annotations, extra_spec=spec), FILE)


def the_container_profile(pod: Pod, node: NodeSecurity = NODE) -> Profile:
    (container,) = pod.spec.containers or []
    return seccomp_profile(pod, container, node)


LOCAL = Profile("Localhost", "/var/lib/kubelet/seccomp/profiles/audit.json")
RUNTIME = {"seccompProfile": {"type": "RuntimeDefault"}}
FREE = {"seccompProfile": {"type": "Unconfined"}}
AUDIT = {"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"}}
CONTAINER_KEY = "container.seccomp.security.alpha.kubernetes.io/app"
POD_KEY = "seccomp.security.alpha.kubernetes.io/pod"


@pytest.mark.parametrize(
    ("pod_context", "container_context", "annotations", "expected"),
    [
        pytest.param(None, None, None, UNCONFINED, id="nothing-is-unconfined"),
        pytest.param(RUNTIME, None, None, RUNTIME_DEFAULT, id="pod-field"),
        pytest.param(None, AUDIT, None, LOCAL, id="container-localhost-under-root"),
        pytest.param(RUNTIME, FREE, None, UNCONFINED, id="container-field-over-pod-field"),
        pytest.param(FREE, RUNTIME, None, RUNTIME_DEFAULT, id="container-field-over-pod-field-2"),
        pytest.param(
            RUNTIME,
            None,
            {CONTAINER_KEY: "unconfined"},
            UNCONFINED,
            id="container-annotation-over-pod-field",
        ),
        pytest.param(
            None, None, {POD_KEY: "docker/default"}, RUNTIME_DEFAULT, id="pod-annotation-docker"
        ),
        pytest.param(
            None,
            None,
            {CONTAINER_KEY: "localhost/profiles/audit.json", POD_KEY: "unconfined"},
            LOCAL,
            id="container-annotation-localhost",
        ),
        pytest.param(
            None,
            None,
            {"container.seccomp.security.alpha.kubernetes.io/other": "runtime/default"},
            UNCONFINED,
            id="another-containers-annotation",
        ),
    ],
)
def test_the_seccomp_profile_is_resolved_in_the_kubelets_order(
    pod_context: dict[str, Any] | None,
    container_context: dict[str, Any] | None,
    annotations: dict[str, str] | None,
    expected: Profile,
) -> None:
    """Container field, container annotation, pod field, pod annotation, then the node (an
    annotation and its own field that disagree are refused by validation)."""
    pod = pod_with(pod_context, container_context, annotations)
    assert the_container_profile(pod) == expected


def test_seccomp_default_makes_a_pod_naming_no_profile_runtime_default() -> None:
    assert the_container_profile(pod_with(), SECCOMP_DEFAULT) == RUNTIME_DEFAULT
    assert the_container_profile(pod_with(FREE), SECCOMP_DEFAULT) == UNCONFINED


def test_the_sandbox_takes_the_pods_profile_never_a_containers() -> None:
    pod = pod_with(AUDIT, RUNTIME, {CONTAINER_KEY: "runtime/default"})
    assert sandbox_security(pod, NODE).seccomp == LOCAL
    assert sandbox_security(pod_with(None, RUNTIME), NODE).seccomp == UNCONFINED
    assert sandbox_security(pod_with(), SECCOMP_DEFAULT).seccomp == RUNTIME_DEFAULT


# --- AppArmor, SELinux, sysctls --------------------------------------------------------

APPARMOR_KEY = "container.apparmor.security.beta.kubernetes.io/app"


@pytest.mark.parametrize(
    ("pod_context", "container_context", "annotations", "expected"),
    [
        pytest.param(None, None, None, None, id="nothing-is-the-runtimes-default"),
        pytest.param(
            {"appArmorProfile": {"type": "RuntimeDefault"}},
            None,
            None,
            RUNTIME_DEFAULT,
            id="pod-field",
        ),
        pytest.param(
            {"appArmorProfile": {"type": "RuntimeDefault"}},
            {"appArmorProfile": {"type": "Localhost", "localhostProfile": "k8s-deny"}},
            None,
            Profile("Localhost", "k8s-deny"),
            id="container-field-over-pod-field",
        ),
        pytest.param(None, None, {APPARMOR_KEY: "unconfined"}, UNCONFINED, id="annotation"),
    ],
)
def test_the_apparmor_profile_is_the_kubelets_get_profile(
    pod_context: dict[str, Any] | None,
    container_context: dict[str, Any] | None,
    annotations: dict[str, str] | None,
    expected: Profile | None,
) -> None:
    """Container field, container annotation, pod field; nothing leaves the runtime's (an
    annotation that disagrees with the field it stands beside is refused by validation)."""
    pod = pod_with(pod_context, container_context, annotations)
    (container,) = pod.spec.containers or []
    assert apparmor_profile(pod, container) == expected


def test_the_containers_selinux_options_replace_the_pods_as_a_whole() -> None:
    pod_level = {"seLinuxOptions": {"user": "system_u", "level": "s0:c1"}}
    pod = pod_with(pod_level, {"seLinuxOptions": {"type": "spc_t"}})
    (container,) = pod.spec.containers or []
    assert selinux_options(pod, container) == SELinux(type="spc_t")
    alone = pod_with(pod_level)
    (container,) = alone.spec.containers or []
    assert selinux_options(alone, container) == SELinux(user="system_u", level="s0:c1")
    assert sandbox_security(pod, NODE).selinux == SELinux(user="system_u", level="s0:c1")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("net.ipv4.tcp_syncookies", "net.ipv4.tcp_syncookies"),
        ("net/ipv4/tcp_syncookies", "net.ipv4.tcp_syncookies"),
        ("net/ipv4/conf/eno2.100/rp_filter", "net.ipv4.conf.eno2/100.rp_filter"),
        ("net.ipv4.conf.eno2/100.rp_filter", "net.ipv4.conf.eno2/100.rp_filter"),
        ("kernel", "kernel"),
    ],
)
def test_sysctl_names_with_slashes_get_dots_as_the_kubelet_converts_them(
    name: str, expected: str
) -> None:
    assert dotted(name) == expected


def test_the_sandbox_sets_the_pods_sysctls_with_dots() -> None:
    pod = pod_with({"sysctls": [{"name": "net/core/somaxconn", "value": "1024"}]})
    assert sandbox_security(pod, NODE).sysctls == (("net.core.somaxconn", "1024"),)


# --- groups, runAsNonRoot --------------------------------------------------------------


def test_fs_group_comes_first_then_the_supplemental_groups() -> None:
    pod = pod_with({"fsGroup": 2000, "supplementalGroups": [3000, 4000]})
    assert supplemental_groups(pod) == (2000, 3000, 4000)
    assert supplemental_groups(pod_with()) == ()


ROOT = ImageUser(0)
NAMED = ImageUser(username="nginx")
NUMERIC = ImageUser(101)
NO_USER = ImageUser()


@pytest.mark.parametrize(
    ("pod_context", "container_context", "image", "problem"),
    [
        pytest.param(None, None, ROOT, None, id="not-asked"),
        pytest.param({"runAsNonRoot": True}, None, NUMERIC, None, id="numeric-image-user"),
        pytest.param(
            {"runAsNonRoot": True},
            None,
            ROOT,
            "container has runAsNonRoot and image will run as root",
            id="root-image",
        ),
        pytest.param(
            None,
            {"runAsNonRoot": True},
            NO_USER,
            "container has runAsNonRoot and image will run as root",
            id="no-user-is-root",
        ),
        pytest.param(
            {"runAsNonRoot": True},
            None,
            NAMED,
            "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify "
            "user is non-root",
            id="named-image-user",
        ),
        pytest.param(
            {"runAsNonRoot": True}, {"runAsUser": 1000}, ROOT, None, id="run-as-user-decides"
        ),
        pytest.param(
            {"runAsNonRoot": True, "runAsUser": 1000},
            {"runAsUser": 0},
            NUMERIC,
            "container's runAsUser breaks non-root policy",
            id="run-as-root",
        ),
        pytest.param({"runAsNonRoot": True}, {"runAsNonRoot": False}, ROOT, None, id="opted-out"),
    ],
)
def test_run_as_non_root_is_checked_against_the_images_user(
    pod_context: dict[str, Any] | None,
    container_context: dict[str, Any] | None,
    image: ImageUser,
    problem: str | None,
) -> None:
    """``verifyRunAsNonRoot``, with the pod and container in its messages."""
    pod = pod_with(pod_context, container_context)
    (container,) = pod.spec.containers or []
    found = run_as_non_root_problem(pod, container, image)
    if problem is None:
        assert found is None
    else:
        where = f'(pod: "web-node1_default({pod.metadata.uid})", container: app)'
        assert found == f"{problem} {where}"


def test_the_image_is_asked_only_when_no_run_as_user_decides() -> None:
    def needs(pod: Pod) -> bool:
        (container,) = pod.spec.containers or []
        return needs_image_user(pod, container)

    assert needs(pod_with({"runAsNonRoot": True}))
    assert not needs(pod_with({"runAsNonRoot": True, "runAsUser": 1000}))
    assert not needs(pod_with())
