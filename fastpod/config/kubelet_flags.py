"""The kubelet's flags fastpod accepts and ignores, so an existing kubelet unit keeps working.

A systemd unit or kubeadm's ``kubeadm-flags.env`` passes the kubelet flags fastpod has no use
for (cgroups, certificates, node registration...). Each is accepted, as Go's pflag parses it,
with one warning naming it; anything that is not a kubelet flag is a usage error. The flags
fastpod does use (``--pod-manifest-path``, ``--config``, ...) are ``fastpod run``'s own and
never reach this module.

The table is the kubelet's v1.32 flag set (``cmd/kubelet/app/options/options.go``,
``pkg/kubelet/config/flags.go``, component-base's logging flags), plus the flags older
kubelets had and removed by then (dockershim, CNI, klog), which old units still carry.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastpod.config import values
from fastpod.config.settings import ConfigError

KUBELET_BOOLEAN_FLAGS = frozenset(
    {
        "anonymous-auth",
        "authentication-token-webhook",
        "cgroups-per-qos",
        "contention-profiling",
        "cpu-cfs-quota",
        "enable-controller-attach-detach",
        "enable-debugging-handlers",
        "enable-server",
        "exit-on-lock-contention",
        "experimental-allocatable-ignore-eviction",
        "fail-swap-on",
        "keep-terminated-pod-volumes",
        "kernel-memcg-notification",
        "local-storage-capacity-isolation",
        "log-json-split-stream",
        "log-text-split-stream",
        "make-iptables-util-chains",
        "protect-kernel-defaults",
        "register-schedulable",
        "rotate-certificates",
        "rotate-server-certificates",
        "runonce",
        "serialize-image-pulls",
        # removed from the kubelet before v1.32
        "add-dir-header",
        "alsologtostderr",
        "experimental-check-node-capabilities-before-mount",
        "logtostderr",
        "one-output",
        "skip-headers",
        "skip-log-headers",
    }
)
"""Kubelet flags that are booleans: ``--flag`` means true, a value needs ``--flag=false``."""

KUBELET_VALUE_FLAGS = frozenset(
    {
        "authentication-token-webhook-cache-ttl",
        "authorization-mode",
        "authorization-webhook-cache-authorized-ttl",
        "authorization-webhook-cache-unauthorized-ttl",
        "bootstrap-kubeconfig",
        "cert-dir",
        "cgroup-driver",
        "cgroup-root",
        "client-ca-file",
        "cloud-config",
        "cloud-provider",
        "cpu-cfs-quota-period",
        "cpu-manager-policy",
        "cpu-manager-policy-options",
        "cpu-manager-reconcile-period",
        "enforce-node-allocatable",
        "event-burst",
        "event-qps",
        "eviction-hard",
        "eviction-max-pod-grace-period",
        "eviction-minimum-reclaim",
        "eviction-pressure-transition-period",
        "eviction-soft",
        "eviction-soft-grace-period",
        "experimental-mounter-path",
        "feature-gates",
        "hairpin-mode",
        "housekeeping-interval",
        "image-credential-provider-bin-dir",
        "image-credential-provider-config",
        "image-gc-high-threshold",
        "image-gc-low-threshold",
        "image-service-endpoint",
        "iptables-drop-bit",
        "iptables-masquerade-bit",
        "kube-api-content-type",
        "kube-reserved",
        "kube-reserved-cgroup",
        "kubelet-cgroups",
        "lock-file",
        "log-flush-frequency",
        "log-json-info-buffer-size",
        "log-text-info-buffer-size",
        "logging-format",
        "max-open-files",
        "maximum-dead-containers",
        "maximum-dead-containers-per-container",
        "memory-manager-policy",
        "minimum-container-ttl-duration",
        "minimum-image-ttl-duration",
        "node-status-max-images",
        "oom-score-adj",
        "pod-cidr",
        "pod-max-pids",
        "pods-per-core",
        "port",
        "provider-id",
        "qos-reserved",
        "registry-burst",
        "registry-qps",
        "reserved-cpus",
        "reserved-memory",
        "runtime-cgroups",
        "runtime-request-timeout",
        "streaming-connection-idle-timeout",
        "sync-frequency",
        "system-cgroups",
        "system-reserved",
        "system-reserved-cgroup",
        "tls-cert-file",
        "tls-cipher-suites",
        "tls-min-version",
        "tls-private-key-file",
        "topology-manager-policy",
        "topology-manager-policy-options",
        "topology-manager-scope",
        "v",
        "vmodule",
        "volume-plugin-dir",
        "volume-stats-agg-period",
        # removed from the kubelet before v1.32
        "azure-container-registry-config",
        "cni-bin-dir",
        "cni-cache-dir",
        "cni-conf-dir",
        "container-runtime",
        "docker-endpoint",
        "dynamic-config-dir",
        "experimental-dockershim-root-directory",
        "image-pull-progress-deadline",
        "log-backtrace-at",
        "log-dir",
        "log-file",
        "log-file-max-size",
        "master-service-namespace",
        "network-plugin",
        "network-plugin-mtu",
        "non-masquerade-cidr",
        "stderrthreshold",
    }
)
"""Kubelet flags that take a value: ``--flag value`` or ``--flag=value``."""

KUBELET_SHORTHANDS = frozenset({"v"})
"""Flags with a one-letter form, which pflag reads as ``-v 2``, ``-v=2`` or ``-v2``."""

_WHY_IGNORED = {
    "container-runtime": "choose with --runtime docker|cri, or --container-runtime-endpoint",
    "image-service-endpoint": "images are pulled through the runtime's own endpoint",
    "sync-frequency": "fastpod resyncs each pod every --resync-period",
    "v": "fastpod logs every decision at one level (--log-format)",
}


def ignored_kubelet_flags(arguments: Sequence[str]) -> tuple[str, ...]:
    """One warning per kubelet flag in ``arguments``; ConfigError for anything else.

    ``arguments`` are what ``fastpod run``'s own parser did not recognise, in command-line
    order. They are read as pflag reads them: ``--flag=value``, ``--flag value`` (the next
    argument is the value, whatever it looks like), booleans as ``--flag`` or
    ``--flag=true``. The kubelet takes no positional arguments, and neither does fastpod.
    """
    named: list[str] = []
    position = 0
    while position < len(arguments):
        argument = arguments[position]
        position += 1
        name, has_value, value = _split(argument)
        flag = argument.partition("=")[0]
        if name in KUBELET_BOOLEAN_FLAGS:
            if has_value:
                try:
                    values.go_boolean(value)
                except ValueError as error:
                    raise ConfigError(f"{flag}: {error}") from None
        elif name in KUBELET_VALUE_FLAGS:
            if not has_value:
                if position == len(arguments):
                    raise ConfigError(f"{flag}: the flag needs a value")
                position += 1
        elif argument.startswith("-") and argument != "-":
            raise ConfigError(f"unknown flag {flag}: neither a fastpod nor a kubelet flag")
        else:
            raise ConfigError(f"unexpected argument {argument!r}: fastpod run takes only flags")
        if name not in named:
            named.append(name)
    return tuple(_warning(name) for name in named)


def _split(argument: str) -> tuple[str, bool, str]:
    # (name, whether the value is attached, the attached value) of a flag argument
    if argument.startswith("--"):
        name, equals, value = argument[2:].partition("=")
        return name, bool(equals), value
    if argument.startswith("-") and argument[1:2] in KUBELET_SHORTHANDS:
        rest = argument[2:]
        return argument[1], bool(rest), rest.removeprefix("=")
    return "", False, ""


def _warning(name: str) -> str:
    why = _WHY_IGNORED.get(name, "fastpod has no use for it")
    return f"kubelet flag --{name} ignored: {why}"
