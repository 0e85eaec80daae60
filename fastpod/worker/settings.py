"""The settings a worker's pods run with: the lifecycle's numbers and the node's places.

Built from :class:`~fastpod.config.settings.Config` by :func:`worker_settings`, which holds
every default: the pod loops, the container starter and the teardown only read them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from fastpod.config.node import (
    allocatable_cpu_millis,
    allocatable_ephemeral_storage,
    allocatable_memory,
)
from fastpod.config.settings import Config
from fastpod.model import Pod
from fastpod.runtime.hosts import HOSTS_FILE_NAME
from fastpod.runtime.logrotation import RotationPolicy
from fastpod.runtime.security import DEFAULT_HOST, DEFAULT_NODE, HostFacts, NodeSecurity
from fastpod.runtime.spec import NodeAllocatable, PodContext


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """The numbers of the lifecycle: back-off, resync, and where pods keep their files."""

    backoff_initial: float
    backoff_max: float
    backoff_reset: float
    resync_period: float
    root_dir: str
    pod_logs_dir: str
    host_ip: str
    prepare_host: bool
    """Create volumes and log links on this host; off for the fake runtime, which runs nothing."""
    cluster_dns: tuple[str, ...]
    cluster_domain: str
    resolv_conf: str
    """The node's DNS settings (``clusterDNS``, ``clusterDomain``, ``resolvConf``), which
    every sandbox's resolver configuration starts from (:mod:`fastpod.runtime.dns`)."""
    allocatable: NodeAllocatable
    """What the node gives its pods: unset limits in the downward API, memory volumes' size."""
    node_security: NodeSecurity = DEFAULT_NODE
    """The node's security settings and the host's facts that pods are run with."""
    log_rotation: RotationPolicy | None = None
    """How this worker rotates its containers' logs; None when it does not (Docker rotates
    its own, the fake writes none, or rotation is off)."""
    log_monitor_interval: float = 10.0
    """Seconds between two looks at the logs for rotation (``containerLogMonitorInterval``)."""

    def pod_dir(self, uid: str) -> str:
        """The directory of the pod with this UID (the kubelet's ``pods/<uid>``): its
        volumes and its containers' files, removed with the pod."""
        return os.path.join(self.root_dir, "pods", uid)

    def volumes_dir(self, uid: str) -> str:
        """Where the pod with this UID keeps its volumes other than hostPath."""
        return os.path.join(self.pod_dir(uid), "volumes")

    def hosts_file(self, uid: str) -> str:
        """The pod's managed ``/etc/hosts`` (the kubelet's ``pods/<uid>/etc-hosts``)."""
        return os.path.join(self.pod_dir(uid), HOSTS_FILE_NAME)

    def container_dir(self, uid: str, container: str) -> str:
        """Where the pod with this UID keeps a container's termination message files."""
        return os.path.join(self.pod_dir(uid), "containers", container)

    def pod_context(self, pod: Pod, pod_ips: tuple[str, ...] = ()) -> PodContext:
        """What a container spec needs to know of the node and the pod's place on it;
        ``pod_ips`` are the pod's addresses (:meth:`PodState.pod_ips
        <fastpod.worker.pod_state.PodState.pod_ips>`), none before its sandbox runs."""
        return PodContext(
            host_ip=self.host_ip,
            pod_ip=pod_ips[0] if pod_ips else "",
            volumes_dir=self.volumes_dir(pod.metadata.uid or ""),
            pod_ips=pod_ips,
            node=self.node_security,
            allocatable=self.allocatable,
        )


def worker_settings(config: Config, host_ip: str, host: HostFacts = DEFAULT_HOST) -> WorkerSettings:
    """The settings of a worker of the run ``config`` describes, on the node at ``host_ip``
    whose facts are ``host``."""
    policy = RotationPolicy(config.container_log_max_size, config.container_log_max_files)
    return WorkerSettings(
        backoff_initial=config.backoff_initial,
        backoff_max=config.backoff_max,
        backoff_reset=config.backoff_reset,
        resync_period=config.resync_period,
        root_dir=config.root_dir,
        pod_logs_dir=config.pod_logs_dir,
        host_ip=host_ip,
        prepare_host=config.runtime != "fake",
        cluster_dns=config.cluster_dns,
        cluster_domain=config.cluster_domain,
        resolv_conf=config.resolv_conf,
        allocatable=NodeAllocatable(
            cpu_millis=allocatable_cpu_millis(),
            memory=allocatable_memory(),
            ephemeral_storage=allocatable_ephemeral_storage(config.root_dir),
        ),
        node_security=NodeSecurity(
            seccomp_default=config.seccomp_default,
            seccomp_root=os.path.join(config.root_dir, "seccomp"),
            allowed_unsafe_sysctls=config.allowed_unsafe_sysctls,
            host=host,
        ),
        log_rotation=policy if config.runtime == "cri" and policy.enabled else None,
        log_monitor_interval=config.container_log_monitor_interval,
    )
