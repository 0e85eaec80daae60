"""The kubelet's config file (``--config``) and its drop-ins (``--config-dir``): a
``KubeletConfiguration``, read as the kubelet does.

The file is YAML (1.1, as go-yaml reads it) or JSON, ``kubelet.config.k8s.io/v1beta1``. The
fields fastpod runs with are type-checked as strictly as the kubelet's decoder and validation
check them, and any problem is one line naming the file, the line and the field. Every other
``KubeletConfiguration`` field is accepted and listed in one "ignored" warning; a field the
type does not have at all gets its own warning, as the kubelet's lenient decoding accepts it
with a warning too. Nested fields (``authentication.x509``...) are never looked into.

As in the kubelet, relative paths are resolved against the file's directory, and a zero
duration is no setting at all (v1beta1 defaulting turns ``0s`` into the default), which is
why kubeadm's generated ``fileCheckFrequency: 0s`` means 20 s. Drop-ins are merged over the
file first, each checked as a file of its own; a relative path is resolved against the
directory of the file that set it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastpod.config import cluster_values, values
from fastpod.config.drop_ins import drop_in_files, merge_patch
from fastpod.config.settings import ConfigError
from fastpod.manifest.documents import SyntaxProblem, load_document
from fastpod.manifest.lines import locate

API_VERSION = "kubelet.config.k8s.io/v1beta1"
KIND = "KubeletConfiguration"

IGNORED_FIELDS = frozenset(
    {
        "authentication",
        "authorization",
        "cgroupDriver",
        "cgroupRoot",
        "cgroupsPerQOS",
        "configMapAndSecretChangeDetectionStrategy",
        "containerLogMaxWorkers",
        "contentType",
        "cpuCFSQuota",
        "cpuCFSQuotaPeriod",
        "cpuManagerPolicy",
        "cpuManagerPolicyOptions",
        "cpuManagerReconcilePeriod",
        "crashLoopBackOff",
        "draManagerReconcilePeriod",
        "enableContentionProfiling",
        "enableControllerAttachDetach",
        "enableDebugFlagsHandler",
        "enableDebuggingHandlers",
        "enableProfilingHandler",
        "enableServer",
        "enableSystemLogHandler",
        "enableSystemLogQuery",
        "enforceNodeAllocatable",
        "evictionHard",
        "evictionMaxPodGracePeriod",
        "evictionMinimumReclaim",
        "evictionPressureTransitionPeriod",
        "evictionSoft",
        "evictionSoftGracePeriod",
        "failCgroupV1",
        "failSwapOn",
        "featureGates",
        "hairpinMode",
        "imageGCHighThresholdPercent",
        "imageGCLowThresholdPercent",
        "imageMaximumGCAge",
        "imageMinimumGCAge",
        "imagePullCredentialsVerificationPolicy",
        "imageServiceEndpoint",
        "iptablesDropBit",
        "iptablesMasqueradeBit",
        "kernelMemcgNotification",
        "kubeletCgroups",
        "kubeReserved",
        "kubeReservedCgroup",
        "localStorageCapacityIsolation",
        "logging",
        "makeIPTablesUtilChains",
        "maxOpenFiles",
        "maxParallelImagePulls",
        "memoryManagerPolicy",
        "memoryReservationPolicy",
        "memorySwap",
        "memoryThrottlingFactor",
        "mergeDefaultEvictionSettings",
        "nodeStatusMaxImages",
        "oomScoreAdj",
        "podCIDR",
        "podPidsLimit",
        "podsPerCore",
        "port",
        "preloadedImagesVerificationAllowlist",
        "protectKernelDefaults",
        "providerID",
        "qosReserved",
        "registryBurst",
        "registryPullQPS",
        "reservedMemory",
        "reservedSystemCPUs",
        "rotateCertificates",
        "runOnce",
        "runtimeRequestTimeout",
        "serializeImagePulls",
        "serverTLSBootstrap",
        "showHiddenMetricsForVersion",
        "shutdownGracePeriod",
        "shutdownGracePeriodByPodPriority",
        "shutdownGracePeriodCriticalPods",
        "singleProcessOOMKill",
        "streamingConnectionIdleTimeout",
        "syncFrequency",
        "systemCgroups",
        "systemReserved",
        "systemReservedCgroup",
        "tlsCertFile",
        "tlsCipherSuites",
        "tlsCurvePreferences",
        "tlsMinVersion",
        "tlsPrivateKeyFile",
        "topologyManagerPolicy",
        "topologyManagerPolicyOptions",
        "topologyManagerScope",
        "tracing",
        "userNamespaces",
        "volumePluginDir",
        "volumeStatsAggPeriod",
    }
)
"""``KubeletConfiguration`` fields fastpod accepts and does not use (v1beta1, as of v1.32 and
the fields added since). ``syncFrequency`` is among them: the kubelet's periodic pod sync
backs up its 1 s PLEG relist, while fastpod's ``--resync-period`` backs up Docker's event
stream, and a kubelet's 1 m would only slow the healing of a missed event."""


MIN_LOG_MONITOR_INTERVAL = 3.0
"""The shortest ``containerLogMonitorInterval`` the kubelet's validation takes, in seconds."""


@dataclass(frozen=True, slots=True)
class KubeletConfigFile:
    """What a config file sets: Config fields (only those it sets) and warnings for the log."""

    settings: dict[str, Any]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Written:
    """One file of the configuration: where it is and its bytes, to name a field's line."""

    path: str
    data: bytes

    def where(self, field: str) -> str:
        position = locate(self.data, [(field,)])[0]
        return f"{self.path}:{position[0]}" if position is not None else self.path


def load_kubelet_config(path: str | None, drop_in_dir: str | None = None) -> KubeletConfigFile:
    """Read the ``--config`` file and the ``--config-dir`` drop-ins merged over it, as the
    kubelet merges them (:mod:`fastpod.config.drop_ins`); ConfigError (one line naming the
    file and line) if they cannot be used. Either may be None."""
    document: Any = {}
    origins: dict[str, _Written] = {}
    files = [] if path is None else [path]
    if drop_in_dir is not None:
        try:
            files.extend(drop_in_files(drop_in_dir))
        except OSError as error:
            raise ConfigError(
                f"cannot read config directory {drop_in_dir}: {error.strerror}"
            ) from None
    for file_path in files:
        written, patch = _read(file_path)
        document = merge_patch(document, patch)
        origins.update((field, written) for field in patch)
    return _settings(document, origins)


def _read(path: str) -> tuple[_Written, dict[str, Any]]:
    """One file's document, checked to be a KubeletConfiguration."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    document = load_document(data)
    if isinstance(document, SyntaxProblem):
        where = f"{path}:{document.line}" if document.line else path
        raise ConfigError(f"{where}: not YAML or JSON: {document.message}")
    written = _Written(path, data)
    value = document.value
    if not isinstance(value, dict):
        found = "an empty file" if value is None else f"a {type(value).__name__}"
        raise ConfigError(f"{path}: expected a {KIND} mapping, found {found}")
    _expect(value, "apiVersion", API_VERSION, written)
    _expect(value, "kind", KIND, written)
    return written, value


def _settings(document: dict[str, Any], origins: dict[str, _Written]) -> KubeletConfigFile:
    """The Config fields of a checked document; ``origins`` says which file wrote each field
    (its line for errors, its directory for relative paths)."""
    settings: dict[str, Any] = {}
    ignored: dict[str, list[str]] = {}
    warnings: list[str] = []
    for field, value in document.items():
        written = origins[field]
        if field in _FIELDS:
            config_field, read = _FIELDS[field]
            try:
                setting = read(value)
            except ValueError as error:
                raise ConfigError(f"{written.where(field)}: {field}: {error}") from None
            if setting and field in PATH_FIELDS:
                setting = os.path.join(os.path.dirname(os.path.abspath(written.path)), setting)
                setting = os.path.normpath(setting)
            if setting is not None:
                settings[config_field] = setting
        elif field in IGNORED_FIELDS:
            ignored.setdefault(written.path, []).append(field)
        elif field not in ("apiVersion", "kind"):
            warnings.append(
                f"{written.where(field)}: unknown field {field!r} ignored: "
                f"{KIND} {API_VERSION} has no such field"
            )
    if "node_status_update_frequency" in settings:
        # v1beta1 defaulting: an update frequency set makes it the report frequency too
        settings.setdefault(
            "node_status_report_frequency", settings["node_status_update_frequency"]
        )
    warnings[:0] = (
        f"{path}: fields fastpod does not use, ignored: {', '.join(fields)}"
        for path, fields in ignored.items()
    )
    return KubeletConfigFile(settings, tuple(warnings))


def _expect(document: dict[str, Any], field: str, expected: str, written: _Written) -> None:
    value = document.get(field)
    if value is None:
        raise ConfigError(f"{written.path}: {field}: missing, expected {expected!r}")
    if value != expected:
        raise ConfigError(f"{written.where(field)}: {field}: {value!r}, expected {expected!r}")


def _string(value: Any) -> str | None:
    # null and "" are no setting, as the kubelet's omitempty fields
    return None if value is None or value == "" else values.string(value)


def _boolean(value: Any) -> bool | None:
    return None if value is None else values.boolean(value)


def _duration(value: Any) -> float | None:
    text = _string(value)
    return None if text is None else values.go_duration(text) or None


def _address(value: Any) -> str | None:
    text = _string(value)
    return None if text is None else values.ip_address(text)


def _healthz_port(value: Any) -> int | None:
    # a pointer in v1beta1: unset (or null) is 10248, and an explicit 0 turns the server off
    return None if value is None else values.port(value)


def _addresses(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"must be a list of IP addresses, not {value!r}")
    return tuple(values.ip_address(values.string(item)) for item in value)


def _path_or_none(value: Any) -> str | None:
    # unlike the other strings, "" is a setting: no file at all
    return None if value is None else values.string(value)


def _log_size(value: Any) -> int | None:
    return None if value is None or value == "" else values.log_size(value)


def _log_files(value: Any) -> int | None:
    return None if value is None else values.log_files(value)


def _monitor_interval(value: Any) -> float | None:
    interval = _duration(value)
    if interval is not None and interval < MIN_LOG_MONITOR_INTERVAL:
        raise ValueError(f"{value!r} must be {MIN_LOG_MONITOR_INTERVAL:g}s or more")
    return interval


def _headers(value: Any) -> tuple[tuple[str, str], ...] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"must map header names to lists of values, not {value!r}")
    headers: list[tuple[str, str]] = []
    for name, header_values in value.items():
        if not isinstance(header_values, list) or not all(
            isinstance(item, str) for item in header_values
        ):
            raise ValueError(f"{name}: must be a list of strings, not {header_values!r}")
        headers.extend((name, item) for item in header_values)
    return tuple(headers)


def _zero_default(read: Callable[[Any], int]) -> Callable[[Any], int | None]:
    """A number whose 0 (or null) is no setting: v1beta1 defaulting replaces it (``maxPods``,
    ``kubeAPIBurst``, ``nodeLeaseDurationSeconds``; not ``kubeAPIQPS``, a pointer)."""

    def check(value: Any) -> int | None:
        return None if value is None or value == 0 else read(value)

    return check


_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "staticPodPath": ("pod_manifest_path", _string),
    "staticPodURL": ("manifest_url", _string),
    "staticPodURLHeader": ("manifest_url_headers", _headers),
    "fileCheckFrequency": ("file_check_frequency", _duration),
    "httpCheckFrequency": ("http_check_frequency", _duration),
    "readOnlyPort": ("read_only_port", values.port),
    "address": ("address", _address),
    "podLogsDir": ("pod_logs_dir", _string),
    "containerRuntimeEndpoint": ("container_runtime_endpoint", _string),
    "seccompDefault": ("seccomp_default", _boolean),
    "healthzPort": ("healthz_port", _healthz_port),
    "healthzBindAddress": ("healthz_bind_address", _address),
    "clusterDNS": ("cluster_dns", _addresses),
    "clusterDomain": ("cluster_domain", _string),
    "resolvConf": ("resolv_conf", _path_or_none),
    "containerLogMaxSize": ("container_log_max_size", _log_size),
    "containerLogMaxFiles": ("container_log_max_files", _log_files),
    "containerLogMonitorInterval": ("container_log_monitor_interval", _monitor_interval),
    "allowedUnsafeSysctls": ("allowed_unsafe_sysctls", values.sysctl_patterns),
    "registerNode": ("register_node", _boolean),
    "registerWithTaints": ("register_with_taints", cluster_values.taints_field),
    "maxPods": ("max_pods", _zero_default(cluster_values.max_pods)),
    "kubeAPIQPS": ("kube_api_qps", cluster_values.api_rate),
    "kubeAPIBurst": ("kube_api_burst", _zero_default(cluster_values.api_rate)),
    "eventRecordQPS": ("event_record_qps", cluster_values.api_rate),
    "eventBurst": ("event_burst", _zero_default(cluster_values.api_rate)),
    "nodeStatusUpdateFrequency": ("node_status_update_frequency", _duration),
    "nodeStatusReportFrequency": ("node_status_report_frequency", _duration),
    "nodeLeaseDurationSeconds": (
        "node_lease_duration_seconds",
        _zero_default(cluster_values.lease_duration),
    ),
}
"""The fields fastpod runs with: the Config field each sets, and how its value is read.
A field that is null, empty or a zero duration sets nothing, but ``resolvConf: ""``, which
turns the node's resolver file off, as on the kubelet."""

PATH_FIELDS = frozenset({"staticPodPath", "podLogsDir", "resolvConf"})
"""Fields holding paths, resolved against the file's directory when relative (the kubelet's
``KubeletConfigurationPathRefs``)."""
