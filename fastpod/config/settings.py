"""Config: everything one ``fastpod run`` needs, built by the CLI and handed to every process.

Issue-level defaults are the kubelet's (20 s re-list and URL poll, 10 s URL timeout); the
settings of fastpod's own machinery (workers, batching, the fake runtime's latencies) have
defaults measured on a 2-core machine. Durations are seconds; they are written as Go writes
them (``20s``, ``1m30s``) wherever an operator sets them: flags, the config file, profiles
(:mod:`fastpod.config.values` reads them).
"""

from __future__ import annotations

import os
from typing import Literal, get_args

import msgspec

from fastpod.logs import LogFormat

RuntimeName = Literal["docker", "cri", "fake"]
RUNTIME_NAMES: tuple[RuntimeName, ...] = get_args(RuntimeName)

DEFAULT_ROOT_DIR = "/var/lib/fastpod"
"""Where pods' own directories and the API's discovery record are (``--root-dir``)."""

DEFAULT_ADDRESS = "127.0.0.1"
"""Where the read-only API listens: loopback unless asked, unlike the kubelet's 0.0.0.0."""

HEALTHZ_PORT = 10248
"""The kubelet's health port (``healthzPort``), on ``healthzBindAddress`` (127.0.0.1)."""

DEFAULT_RESOLV_CONF = "/etc/resolv.conf"
"""The node's resolver file pods' own start from (the kubelet's ``--resolv-conf``)."""

READ_ONLY_PORT = 10255
"""The read-only API's port when no ``--config`` is given (the kubelet's legacy default);
Config's own default is a config file's, 0 (off)."""


class FakeLatencies(msgspec.Struct, frozen=True, kw_only=True):
    """Simulated runtime call durations in seconds, so benchmarks see realistic waits."""

    run_sandbox: float = 0.0
    create_container: float = 0.0
    start_container: float = 0.0
    stop_container: float = 0.0
    remove: float = 0.0
    exec_sync: float = 0.0


class Config(msgspec.Struct, frozen=True, kw_only=True):
    """The settings of one fastpod run; immutable, and sent as is to every child process."""

    node_name: str
    pod_manifest_path: str | None = None
    manifest_url: str | None = None
    manifest_url_headers: tuple[tuple[str, str], ...] = ()
    file_check_frequency: float = 20.0
    http_check_frequency: float = 20.0
    http_timeout: float = 10.0
    missing_path_retry: float = 1.0
    watch_retry_initial: float = 1.0
    watch_retry_max: float = 20.0
    event_settle: float = 0.002
    workers: int = 0
    batch_size: int = 256
    runtime: RuntimeName = "fake"
    fake_latencies: FakeLatencies = FakeLatencies()
    pod_infra_container_image: str = "registry.k8s.io/pause:3.10"
    docker_socket: str = "/var/run/docker.sock"
    container_runtime_endpoint: str = "unix:///run/containerd/containerd.sock"
    """The CRI runtime's gRPC endpoint (the kubelet's default), for ``runtime="cri"``."""
    cri_relist_period: float = 1.0
    """How often a CRI runtime without an event stream (containerd 1.6) is listed for deaths."""
    root_dir: str = DEFAULT_ROOT_DIR
    pod_logs_dir: str = "/var/log/pods"
    seccomp_default: bool = False
    allowed_unsafe_sysctls: tuple[str, ...] = ()
    """``allowedUnsafeSysctls`` (``--allowed-unsafe-sysctls``): sysctls (or prefixes ending in
    ``*``) a pod may set beyond the kubelet's safe ones."""
    """``seccompDefault`` (``--seccomp-default``): a pod naming no seccomp profile runs under
    the runtime's default profile instead of unconfined."""
    cluster_dns: tuple[str, ...] = ()
    """``clusterDNS``: the DNS servers of ``ClusterFirst`` pods; none makes them fall back
    to the node's resolver, with a warning, as the kubelet does."""
    cluster_domain: str = ""
    """``clusterDomain``: the cluster's domain, searched first by ``ClusterFirst`` pods."""
    resolv_conf: str = DEFAULT_RESOLV_CONF
    """``resolvConf``: the node's resolver file pods start from; ``""`` for none."""
    container_log_max_size: int = 10 * 1024 * 1024
    """Bytes a container's log may reach before it is rotated (``containerLogMaxSize``,
    10Mi); negative: never rotated."""
    container_log_max_files: int = 5
    """Log files a container keeps, its current one included (``containerLogMaxFiles``)."""
    container_log_monitor_interval: float = 10.0
    """How often the logs of a CRI runtime's containers are checked for rotation
    (``containerLogMonitorInterval``)."""
    adopt_foreign_pods: bool = True
    """Take over the static pods another agent (a kubelet) left running at start: adopt
    those that run as fastpod would run them, replace the others, remove those no source
    wants. Off: they are left alone, and no pod starts under a name one of them holds."""
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    resync_period: float = 10.0
    log_format: LogFormat = "text"
    run_dir: str | None = None
    read_only_port: int = 0
    """The read-only API's port (``/pods``, ``/healthz``, ``/metrics``); 0 turns it off."""
    address: str = DEFAULT_ADDRESS
    healthz_port: int = HEALTHZ_PORT
    """The kubelet's health server (``/healthz`` only), apart from the read-only API; 0 is off."""
    healthz_bind_address: str = DEFAULT_ADDRESS
    node_ip: str | None = None
    """The node's address for ``status.hostIP`` (``--node-ip``); None: its default route's."""
    kubeconfig: str | None = None
    """The API server's kubeconfig (``--kubeconfig``): with it, fastpod registers the Node,
    keeps its lease and posts its status; without it, fastpod runs standalone."""
    register_node: bool = True
    """``registerNode``: create (or update) this node's Node object."""
    node_labels: tuple[tuple[str, str], ...] = ()
    """``--node-labels``: labels the Node registers with, beside the kubelet's own."""
    register_with_taints: tuple[tuple[str, str, str], ...] = ()
    """``registerWithTaints``: (key, value, effect) of the taints the Node registers with."""
    max_pods: int = 110
    """``maxPods``: the Node's pod capacity."""
    kube_api_qps: int = 50
    """``kubeAPIQPS``: requests a second to the API server, after a burst (0: client-go's
    default, 5)."""
    kube_api_burst: int = 100
    """``kubeAPIBurst``: requests that may go at once."""
    event_record_qps: int = 50
    """``eventRecordQPS``: Events written a second, by a client of their own as the
    kubelet's (0: client-go's default, 5)."""
    event_burst: int = 100
    """``eventBurst``: Events that may be written at once."""
    node_status_update_frequency: float = 10.0
    """``nodeStatusUpdateFrequency``: how often the Node's status is computed (and posted
    when it changed)."""
    node_status_report_frequency: float = 300.0
    """``nodeStatusReportFrequency``: the Node's status is posted at least this often."""
    node_lease_duration_seconds: int = 40
    """``nodeLeaseDurationSeconds``: the Lease's duration; it is renewed every quarter of it."""
    profile: str | None = None
    """The name of the profile these settings started from, for the log."""
    startup_warnings: tuple[str, ...] = ()
    """What the operator should know about how these settings were read (ignored kubelet
    flags, unknown config file fields): the supervisor logs each line once at start."""

    @property
    def worker_count(self) -> int:
        """Workers to start: as configured, or one per core."""
        return self.workers or os.cpu_count() or 1

    @property
    def sources(self) -> tuple[str, ...]:
        """The configured sources (``file``, ``http``): all must report before any cleanup."""
        configured = []
        if self.pod_manifest_path is not None:
            configured.append("file")
        if self.manifest_url is not None:
            configured.append("http")
        return tuple(configured)


class ConfigError(ValueError):
    """Settings fastpod cannot run with; the message is the one line the operator sees."""
