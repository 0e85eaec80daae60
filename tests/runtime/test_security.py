"""PURE: a pod's effective security, resolved as the kubelet resolves it."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.security import (
    RUNTIME_DEFAULT,
    UNCONFINED,
    NodeSecurity,
    Profile,
    sandbox_security,
    seccomp_profile,
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
