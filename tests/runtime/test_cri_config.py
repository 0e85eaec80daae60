"""PURE: pods and containers as the CRI configs the kubelet would send a CRI runtime."""

from __future__ import annotations

from typing import Any

import pytest
from cri_api.v1 import api_pb2 as cri

from fastpod.runtime.cri.configs import (
    MASKED_PATHS,
    READONLY_PATHS,
    container_config,
    namespace_options,
    sandbox_config,
    security_profile,
)
from fastpod.runtime.dns import DnsConfig
from fastpod.runtime.labels import sandbox_labels
from fastpod.runtime.resources import Resources
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import Profile, SandboxSecurity, SELinux
from fastpod.runtime.spec import ContainerSpec, Mount, Security
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

LOGS = "/var/log/pods"


def pod(**spec: Any) -> Any:
    return decoded(
        pod_manifest("web", namespace="kube-system", labels={"app": "web"}, extra_spec=spec),
        FILE,
    )


def spec_of(**fields: Any) -> ContainerSpec:
    values: dict[str, Any] = {
        "name": "app",
        "image": "fastpod.local/busybox:1.36",
        "entrypoint": ["sh", "-c"],
        "arguments": ["sleep 1"],
        "env": {"A": "1"},
        "working_dir": None,
        "mounts": [],
        "resources": Resources(),
        "security": Security(),
        "stdin": False,
        "tty": False,
        "restart_count": 2,
        "termination_grace_period": 30,
        "labels": {
            "io.kubernetes.pod.name": "web-node1",
            "io.kubernetes.pod.namespace": "kube-system",
            "io.kubernetes.pod.uid": "u1",
            "io.kubernetes.container.name": "app",
            "io.fastpod.managed": "true",
        },
        "annotations": {
            "io.kubernetes.container.hash": "abc",
            "io.kubernetes.container.restartCount": "2",
            "io.fastpod.container.kind": "regular",
        },
    }
    values.update(fields)
    return ContainerSpec(**values)


def test_a_sandbox_carries_the_pods_identity_attempt_log_directory_and_labels() -> None:
    the_pod = pod()
    config = sandbox_config(the_pod, 3, LOGS, sandbox_labels(the_pod))
    metadata = the_pod.metadata
    assert (config.metadata.name, config.metadata.namespace) == ("web-node1", "kube-system")
    assert (config.metadata.uid, config.metadata.attempt) == (metadata.uid, 3)
    assert config.log_directory == f"{LOGS}/kube-system_web-node1_{metadata.uid}"
    assert config.labels["app"] == "web"
    assert config.labels["io.kubernetes.pod.uid"] == metadata.uid
    assert config.annotations["kubernetes.io/config.source"] == "file"


def test_a_sandbox_gets_the_hostname_and_resolver_configuration_worked_out_for_it() -> None:
    dns = DnsConfig(("10.96.0.10",), ("kube-system.svc.cluster.local",), ("ndots:5",))
    config = sandbox_config(pod(), 0, LOGS, {}, sandbox=SandboxSpec("web.sub", dns))
    assert config.hostname == "web.sub"
    assert list(config.dns_config.servers) == ["10.96.0.10"]
    assert list(config.dns_config.searches) == ["kube-system.svc.cluster.local"]
    assert list(config.dns_config.options) == ["ndots:5"]


def test_without_the_nodes_word_a_sandbox_is_named_after_its_pod_unless_on_the_host() -> None:
    assert sandbox_config(pod(), 0, LOGS, {}).hostname == "web-node1"
    assert sandbox_config(pod(hostNetwork=True), 0, LOGS, {}).hostname == ""


@pytest.mark.parametrize(
    ("spec", "network", "pid", "ipc"),
    [
        ({}, "POD", "CONTAINER", "POD"),
        ({"hostNetwork": True}, "NODE", "CONTAINER", "POD"),
        ({"hostPID": True, "hostIPC": True}, "POD", "NODE", "NODE"),
        ({"shareProcessNamespace": True}, "POD", "POD", "POD"),
    ],
)
def test_the_host_namespaces_are_used_where_the_pod_asks(
    spec: dict[str, Any], network: str, pid: str, ipc: str
) -> None:
    options = namespace_options(pod(**spec))
    name = cri.NamespaceMode.Name
    assert (name(options.network), name(options.pid), name(options.ipc)) == (network, pid, ipc)


def test_a_container_carries_the_kubelets_labels_and_annotations_apart() -> None:
    config = container_config(pod(), spec_of())
    assert dict(config.labels) == {
        "io.kubernetes.pod.name": "web-node1",
        "io.kubernetes.pod.namespace": "kube-system",
        "io.kubernetes.pod.uid": "u1",
        "io.kubernetes.container.name": "app",
        "io.fastpod.managed": "true",
    }
    assert dict(config.annotations) == {
        "io.kubernetes.container.hash": "abc",
        "io.kubernetes.container.restartCount": "2",
        "io.fastpod.container.kind": "regular",
    }
    assert (config.metadata.name, config.metadata.attempt) == ("app", 2)
    assert config.log_path == "app/2.log"


def test_a_container_has_its_command_environment_and_mounts() -> None:
    mounts = [Mount("/etc/kubernetes", "/etc/kubernetes", read_only=True)]
    config = container_config(pod(), spec_of(mounts=mounts, working_dir="/srv"))
    assert (list(config.command), list(config.args)) == (["sh", "-c"], ["sleep 1"])
    assert [(kv.key, kv.value) for kv in config.envs] == [("A", "1")]
    assert config.working_dir == "/srv"
    (mount,) = config.mounts
    assert (mount.host_path, mount.container_path, mount.readonly) == (
        "/etc/kubernetes",
        "/etc/kubernetes",
        True,
    )


def test_limits_become_cfs_quota_shares_and_memory_as_the_kubelet_sets_them() -> None:
    resources = Resources(memory_bytes=64 << 20, nano_cpus=250_000_000, cpu_shares=256)
    limits = container_config(pod(), spec_of(resources=resources)).linux.resources
    assert (limits.cpu_period, limits.cpu_quota) == (100_000, 25_000)
    assert (limits.cpu_shares, limits.memory_limit_in_bytes) == (256, 64 << 20)
    unlimited = container_config(pod(), spec_of()).linux.resources
    assert (unlimited.cpu_period, unlimited.cpu_quota, unlimited.memory_limit_in_bytes) == (0, 0, 0)


def test_security_maps_user_group_capabilities_and_read_only_root() -> None:
    security = Security(
        privileged=False,
        run_as_user=1000,
        run_as_group=2000,
        capabilities_add=("NET_ADMIN",),
        capabilities_drop=("ALL",),
        read_only_root=True,
        no_new_privileges=True,
    )
    context = container_config(pod(), spec_of(security=security)).linux.security_context
    assert (context.run_as_user.value, context.run_as_group.value) == (1000, 2000)
    assert list(context.capabilities.add_capabilities) == ["NET_ADMIN"]
    assert list(context.capabilities.drop_capabilities) == ["ALL"]
    assert context.readonly_rootfs
    assert context.no_new_privs
    plain = container_config(pod(), spec_of()).linux.security_context
    assert not plain.HasField("run_as_user")


def test_a_privileged_container_makes_its_sandbox_privileged() -> None:
    privileged = pod(
        containers=[
            {"name": "app", "image": "busybox:1.36", "securityContext": {"privileged": True}}
        ]
    )
    assert sandbox_config(privileged, 0, LOGS, {}).linux.security_context.privileged
    assert not sandbox_config(pod(), 0, LOGS, {}).linux.security_context.privileged


@pytest.mark.parametrize(
    ("profile", "kind", "ref"),
    [
        (Profile("Unconfined"), "Unconfined", ""),
        (Profile("RuntimeDefault"), "RuntimeDefault", ""),
        (
            Profile("Localhost", "/var/lib/kubelet/seccomp/a.json"),
            "Localhost",
            "/var/lib/kubelet/seccomp/a.json",
        ),
    ],
)
def test_seccomp_profiles_become_the_cris_security_profiles(
    profile: Profile, kind: str, ref: str
) -> None:
    """For the container, and for the sandbox from the pod's own profile."""
    context = container_config(pod(), spec_of(security=Security(seccomp=profile)))
    seccomp = context.linux.security_context.seccomp
    assert (cri.SecurityProfile.ProfileType.Name(seccomp.profile_type), seccomp.localhost_ref) == (
        kind,
        ref,
    )
    sandbox = sandbox_config(pod(), 0, LOGS, {}, SandboxSecurity(seccomp=profile))
    assert sandbox.linux.security_context.seccomp == seccomp


def test_apparmor_goes_as_the_field_and_the_old_string() -> None:
    for profile, name in (
        (Profile("RuntimeDefault"), "runtime/default"),
        (Profile("Unconfined"), "unconfined"),
        (Profile("Localhost", "k8s-deny"), "localhost/k8s-deny"),
    ):
        security = Security(apparmor=profile)
        context = container_config(pod(), spec_of(security=security)).linux.security_context
        assert context.apparmor == security_profile(profile)
        assert context.apparmor_profile == name
    plain = container_config(pod(), spec_of()).linux.security_context
    assert not plain.HasField("apparmor")
    assert plain.apparmor_profile == ""


def test_selinux_options_reach_the_container_and_the_sandbox() -> None:
    label = SELinux(user="system_u", level="s0:c1")
    context = container_config(pod(), spec_of(security=Security(selinux=label)))
    options = context.linux.security_context.selinux_options
    assert (options.user, options.role, options.type, options.level) == (
        "system_u",
        "",
        "",
        "s0:c1",
    )
    sandbox = sandbox_config(pod(), 0, LOGS, {}, SandboxSecurity(selinux=label))
    assert sandbox.linux.security_context.selinux_options == options
    assert not sandbox_config(pod(), 0, LOGS, {}).linux.security_context.HasField("selinux_options")


def test_the_sandbox_carries_the_pods_sysctls() -> None:
    security = SandboxSecurity(sysctls=(("net.core.somaxconn", "1024"),))
    sandbox = sandbox_config(pod(), 0, LOGS, {}, security)
    assert dict(sandbox.linux.sysctls) == {"net.core.somaxconn": "1024"}


def test_proc_is_masked_as_the_kubelet_masks_it_unless_unmasked() -> None:
    context = container_config(pod(), spec_of()).linux.security_context
    assert list(context.masked_paths) == list(MASKED_PATHS)
    assert list(context.readonly_paths) == list(READONLY_PATHS)
    unmasked = Security(unmasked_proc=True)
    context = container_config(pod(), spec_of(security=unmasked)).linux.security_context
    assert (list(context.masked_paths), list(context.readonly_paths)) == ([], [])


def test_groups_and_the_oom_score_adjustment_reach_the_container() -> None:
    spec = spec_of(
        security=Security(supplemental_groups=(2000, 3000)),
        resources=Resources(oom_score_adj=750),
    )
    config = container_config(pod(), spec).linux
    assert list(config.security_context.supplemental_groups) == [2000, 3000]
    assert config.resources.oom_score_adj == 750
