"""PURE: the node's admit handlers: sysctls, AppArmor, user namespaces."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.runtime.admission import (
    Rejection,
    admit,
    safe_sysctls,
    sysctl_pattern_problem,
)
from fastpod.runtime.security import HostFacts, NodeSecurity
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

NEW_KERNEL = HostFacts(kernel_version=(6, 1, 0))
NODE = NodeSecurity(host=NEW_KERNEL)


def pod_of(spec: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> Any:
    return decoded(pod_manifest("web", annotations=annotations, extra_spec=spec or {}), FILE)


def with_sysctls(*names: str, **spec: Any) -> Any:
    sysctls = [{"name": name, "value": "1"} for name in names]
    return pod_of({"securityContext": {"sysctls": sysctls}, **spec})


def forbidden(problem: str) -> Rejection:
    return Rejection("SysctlForbidden", f"forbidden sysctl: {problem}")


def test_a_pod_asking_for_nothing_special_is_admitted() -> None:
    assert admit(pod_of(), NODE) is None


@pytest.mark.parametrize(
    "name",
    ["kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net/ipv4/tcp_syncookies"],
)
def test_safe_sysctls_are_admitted(name: str) -> None:
    assert admit(with_sysctls(name), NODE) is None


def test_an_unsafe_sysctl_is_refused_unless_the_node_allows_it() -> None:
    pod = with_sysctls("net.core.somaxconn")
    assert admit(pod, NODE) == forbidden('"net.core.somaxconn" not allowlisted')
    allowing = NodeSecurity(allowed_unsafe_sysctls=("net.core.somaxconn",), host=NEW_KERNEL)
    assert admit(pod, allowing) is None
    pattern = NodeSecurity(allowed_unsafe_sysctls=("net.core.*",), host=NEW_KERNEL)
    assert admit(pod, pattern) is None
    other = NodeSecurity(allowed_unsafe_sysctls=("kernel.msg*",), host=NEW_KERNEL)
    assert admit(pod, other) is not None


def test_the_first_forbidden_sysctl_is_named() -> None:
    pod = with_sysctls("kernel.shm_rmid_forced", "kernel.msgmax", "net.core.somaxconn")
    assert admit(pod, NODE) == forbidden('"kernel.msgmax" not allowlisted')


@pytest.mark.parametrize(
    ("name", "spec", "host"),
    [
        ("net.ipv4.tcp_syncookies", {"hostNetwork": True}, "net"),
        ("kernel.shm_rmid_forced", {"hostIPC": True}, "ipc"),
    ],
)
def test_a_sysctl_of_a_namespace_the_pod_shares_with_the_host_is_refused(
    name: str, spec: dict[str, Any], host: str
) -> None:
    """Even a safe one: it would change the node's own."""
    expected = forbidden(f'"{name}" not allowed with host {host} enabled')
    assert admit(with_sysctls(name, **spec), NODE) == expected


def test_safe_sysctls_newer_than_the_kernel_are_left_out() -> None:
    """As the kubelet, which cannot set what the kernel does not namespace."""
    assert "net.ipv4.tcp_fin_timeout" in safe_sysctls((4, 6))
    assert "net.ipv4.tcp_fin_timeout" not in safe_sysctls((4, 5, 7))
    assert "net.ipv4.tcp_keepalive_time" in safe_sysctls((4, 5))
    unknown = safe_sysctls(())
    assert "net.ipv4.ip_local_reserved_ports" not in unknown
    assert "net.ipv4.tcp_syncookies" in unknown
    old = NodeSecurity(host=HostFacts(kernel_version=(4, 4)))
    assert admit(with_sysctls("net.ipv4.tcp_keepalive_time"), old) is not None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("net.core.somaxconn", None),
        ("net.*", None),
        ("kernel.msg*", None),
        ("kernel.sem", None),
        ("net/ipv4/ip_forward", None),
        ("vm.swappiness", 'the sysctl "vm.swappiness" are not known to be namespaced'),
        ("kernel.*", 'the sysctls "kernel.*" are not known to be namespaced'),
        ("Net.Core", "must have at most 253 characters and match regex"),
    ],
)
def test_allowed_unsafe_sysctls_must_be_namespaced_patterns(
    pattern: str, problem: str | None
) -> None:
    """What the kubelet's ``NewAllowlist`` refuses to start with."""
    found = sysctl_pattern_problem(pattern)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


APPARMOR_REFUSAL = Rejection(
    "AppArmor", "Cannot enforce AppArmor: AppArmor is not enabled on the host"
)
ARMORED = NodeSecurity(host=HostFacts(apparmor_enabled=True))


@pytest.mark.parametrize(
    ("spec", "annotations"),
    [
        ({"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}, None),
        (
            {
                "containers": [
                    {
                        "name": "app",
                        "image": "busybox",
                        "securityContext": {
                            "appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}
                        },
                    }
                ]
            },
            None,
        ),
        (None, {"container.apparmor.security.beta.kubernetes.io/app": "runtime/default"}),
    ],
)
def test_a_pod_asking_for_an_apparmor_profile_needs_a_host_with_apparmor(
    spec: dict[str, Any] | None, annotations: dict[str, str] | None
) -> None:
    pod = pod_of(spec, annotations)
    assert admit(pod, NODE) == APPARMOR_REFUSAL
    assert admit(pod, ARMORED) is None


def test_an_unconfined_apparmor_profile_needs_no_apparmor() -> None:
    pod = pod_of(
        {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
        {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"},
    )
    assert admit(pod, NODE) is None


def test_a_pod_without_the_hosts_user_namespace_is_refused() -> None:
    refused = admit(pod_of({"hostUsers": False}), NODE)
    assert refused is not None
    assert refused.reason == "UserNamespacesNotSupported"
    assert admit(pod_of({"hostUsers": True}), NODE) is None
