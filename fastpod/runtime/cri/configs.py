"""PURE: a pod and its containers as the CRI's PodSandboxConfig and ContainerConfig.

What the kubelet sends a CRI runtime (``kuberuntime_sandbox.go``, ``kuberuntime_container.go``):
the pod's identity and attempt, a hostname for pod-network sandboxes only and the resolver
configuration (:mod:`fastpod.runtime.sandbox`), the log directory
``<pod-logs-dir>/<ns>_<pod>_<uid>`` and each container's ``<name>/<restartCount>.log`` in
it (the runtime writes the logs there itself), namespace options, and the kubelet's labels
and annotations split as it splits them, so ``crictl`` shows fastpod's pods as a kubelet's.
"""

from __future__ import annotations

import os

from cri_api.v1 import api_pb2 as cri

from fastpod.model import Pod
from fastpod.runtime.created import pod_namespaces
from fastpod.runtime.sandbox import SandboxSpec, pod_own_sandbox
from fastpod.runtime.security import DEFAULT_SANDBOX, Profile, SandboxSecurity, SELinux
from fastpod.runtime.spec import ContainerSpec

CPU_PERIOD = 100_000
"""The CFS period the kubelet sets (100 ms), in microseconds."""


def pod_log_directory(pod_logs_dir: str, pod: Pod) -> str:
    """``<pod-logs-dir>/<namespace>_<name>_<uid>``, where the runtime writes the pod's logs."""
    metadata = pod.metadata
    return os.path.join(pod_logs_dir, f"{metadata.namespace}_{metadata.name}_{metadata.uid}")


_NAMESPACE_MODES = {
    "node": cri.NamespaceMode.NODE,
    "pod": cri.NamespaceMode.POD,
    "container": cri.NamespaceMode.CONTAINER,
}


def namespace_options(pod: Pod) -> cri.NamespaceOption:
    """The host's namespaces where the pod asks for them, the pod's own otherwise
    (:func:`~fastpod.runtime.created.pod_namespaces`)."""
    namespaces = pod_namespaces(pod)
    return cri.NamespaceOption(
        network=_NAMESPACE_MODES[namespaces.network],
        pid=_NAMESPACE_MODES[namespaces.pid],
        ipc=_NAMESPACE_MODES[namespaces.ipc],
    )


_PROFILE_TYPES = {
    "RuntimeDefault": cri.SecurityProfile.ProfileType.RuntimeDefault,
    "Unconfined": cri.SecurityProfile.ProfileType.Unconfined,
    "Localhost": cri.SecurityProfile.ProfileType.Localhost,
}


MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
"""The paths the kubelet masks and makes read-only in every container but one with
``procMount: Unmasked`` (``securitycontext/util.go``)."""

_APPARMOR_NAMES = {"RuntimeDefault": "runtime/default", "Unconfined": "unconfined"}


def security_profile(profile: Profile) -> cri.SecurityProfile:
    """A seccomp or AppArmor profile as the CRI's ``SecurityProfile``."""
    return cri.SecurityProfile(
        profile_type=_PROFILE_TYPES[profile.kind], localhost_ref=profile.localhost
    )


def selinux_option(selinux: SELinux | None) -> cri.SELinuxOption | None:
    """An SELinux label as the CRI's ``SELinuxOption``; None leaves the runtime's."""
    if selinux is None:
        return None
    return cri.SELinuxOption(
        user=selinux.user, role=selinux.role, type=selinux.type, level=selinux.level
    )


def sandbox_config(
    pod: Pod,
    attempt: int,
    pod_logs_dir: str,
    labels: dict[str, str],
    security: SandboxSecurity = DEFAULT_SANDBOX,
    *,
    sandbox: SandboxSpec | None = None,
) -> cri.PodSandboxConfig:
    """The PodSandboxConfig of ``pod``'s ``attempt``-th sandbox: with ``sandbox``'s hostname
    (none under hostNetwork: the node's stays) and resolver configuration, from which the
    runtime writes the ``resolv.conf`` every container of the pod mounts."""
    if sandbox is None:
        sandbox = pod_own_sandbox(pod)
    metadata = pod.metadata
    containers = [*(pod.spec.init_containers or ()), *(pod.spec.containers or ())]
    privileged = any(
        c.security_context is not None and c.security_context.privileged for c in containers
    )
    return cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(
            name=metadata.name or "",
            uid=metadata.uid or "",
            namespace=metadata.namespace or "",
            attempt=attempt,
        ),
        log_directory=pod_log_directory(pod_logs_dir, pod),
        labels=labels,
        annotations=dict(metadata.annotations or {}),
        linux=cri.LinuxPodSandboxConfig(
            security_context=cri.LinuxSandboxSecurityContext(
                namespace_options=namespace_options(pod),
                privileged=privileged,
                seccomp=security_profile(security.seccomp),
                selinux_options=selinux_option(security.selinux),
            ),
            sysctls=dict(security.sysctls),
        ),
        hostname=sandbox.hostname or "",
        dns_config=cri.DNSConfig(
            servers=sandbox.dns.servers,
            searches=sandbox.dns.searches,
            options=sandbox.dns.options,
        ),
    )


def container_config(pod: Pod, spec: ContainerSpec) -> cri.ContainerConfig:
    """The ContainerConfig of one container, its ``spec.restart_count``-th instance."""
    security, resources = spec.security, spec.resources
    context = cri.LinuxContainerSecurityContext(
        capabilities=cri.Capability(
            add_capabilities=list(security.capabilities_add),
            drop_capabilities=list(security.capabilities_drop),
        ),
        privileged=security.privileged,
        namespace_options=namespace_options(pod),
        readonly_rootfs=security.read_only_root,
        no_new_privs=security.no_new_privileges,
        seccomp=security_profile(security.seccomp),
        selinux_options=selinux_option(security.selinux),
        masked_paths=() if security.unmasked_proc else MASKED_PATHS,
        readonly_paths=() if security.unmasked_proc else READONLY_PATHS,
        supplemental_groups=security.supplemental_groups,
    )
    if security.apparmor is not None:
        # the field, and the old string for runtimes that read only that
        context.apparmor.CopyFrom(security_profile(security.apparmor))
        context.apparmor_profile = _APPARMOR_NAMES.get(
            security.apparmor.kind, f"localhost/{security.apparmor.localhost}"
        )
    if security.run_as_user is not None:
        context.run_as_user.value = security.run_as_user
    if security.run_as_group is not None:
        context.run_as_group.value = security.run_as_group
    limits = cri.LinuxContainerResources(
        cpu_period=CPU_PERIOD if resources.nano_cpus is not None else 0,
        cpu_quota=_quota(resources.nano_cpus),
        cpu_shares=resources.cpu_shares,
        oom_score_adj=resources.oom_score_adj or 0,
        memory_limit_in_bytes=resources.memory_bytes or 0,
    )
    return cri.ContainerConfig(
        metadata=cri.ContainerMetadata(name=spec.name, attempt=spec.restart_count),
        image=cri.ImageSpec(image=spec.image),
        command=spec.entrypoint or [],
        args=spec.arguments or [],
        working_dir=spec.working_dir or "",
        envs=[cri.KeyValue(key=key, value=value) for key, value in spec.env.items()],
        mounts=[
            cri.Mount(
                container_path=mount.container_path,
                host_path=mount.host_path,
                readonly=mount.read_only,
            )
            for mount in spec.mounts
        ],
        labels=spec.labels,
        annotations=spec.annotations,
        log_path=f"{spec.name}/{spec.restart_count}.log",
        stdin=spec.stdin,
        tty=spec.tty,
        linux=cri.LinuxContainerConfig(resources=limits, security_context=context),
    )


def _quota(nano_cpus: int | None) -> int:
    if nano_cpus is None:
        return 0
    # the kubelet's milliCPUToQuota, with its 1 ms minimum
    return max(nano_cpus * CPU_PERIOD // 1_000_000_000, 1000)
