"""``fastpod run``'s command line → Config, layered as the kubelet layers its settings.

Precedence, lowest first: the built-in defaults, the profile (``--profile``), the kubelet
config file (``--config``), then the flags actually given on the command line (the kubelet's
``kubeletConfigFlagPrecedence``: a flag left out never resets what the file says). Each
layer is a mapping of the Config fields it sets, so "set" and "left alone" stay distinct.

The kubelet's flags for static pods keep their names and formats; its other flags are
accepted with a warning (:mod:`fastpod.config.kubelet_flags`), so a kubelet unit's command line
runs unchanged.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain
from typing import Any, TypeVar

import msgspec

from fastpod.config import cluster_values, values
from fastpod.config.kubelet_flags import ignored_kubelet_flags
from fastpod.config.node import node_name
from fastpod.config.settings import (
    READ_ONLY_PORT,
    RUNTIME_NAMES,
    Config,
    ConfigError,
    FakeLatencies,
)
from fastpod.logs import LOG_FORMATS


def add_run_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``fastpod run`` and its flags; every default is None, meaning "not given"."""
    run = commands.add_parser(
        "run",
        allow_abbrev=False,  # pflag has no abbreviations, and --port must not mean --pod-...
        help="run the static pods of a manifest path and/or URL",
        description="Watch the manifest path and URL and run their pods until SIGTERM.",
        epilog="Settings come from the built-in defaults, then --profile, then --config, then "
        "the flags given. The kubelet's other flags are accepted and ignored with a warning.",
    )
    sources = run.add_argument_group("the kubelet's flags")
    sources.add_argument(
        "--pod-manifest-path", metavar="PATH", help="directory or file of manifests"
    )
    sources.add_argument("--manifest-url", metavar="URL", help="URL serving a Pod or a PodList")
    sources.add_argument(
        "--manifest-url-header",
        dest="manifest_url_headers",
        action="append",
        type=_headers,
        metavar="NAME:VALUE[,NAME:VALUE...]",
        help="headers sent with every URL request (repeatable; repeated names kept in order)",
    )
    sources.add_argument(
        "--file-check-frequency",
        type=_period,
        metavar="DURATION",
        help="how often the manifest path is re-listed "
        f"(default {_seconds_default('file_check_frequency')})",
    )
    sources.add_argument(
        "--http-check-frequency",
        type=_period,
        metavar="DURATION",
        help="how often the manifest URL is polled "
        f"(default {_seconds_default('http_check_frequency')})",
    )
    sources.add_argument("--hostname-override", metavar="NODE", help="the node name")
    sources.add_argument(
        "--config",
        metavar="FILE",
        help="a KubeletConfiguration (kubelet.config.k8s.io/v1beta1); flags given override it",
    )
    sources.add_argument(
        "--config-dir",
        metavar="DIR",
        help="drop-in KubeletConfiguration files (*.conf), merged over --config in lexical order",
    )
    sources.add_argument(
        "--read-only-port",
        type=_port,
        metavar="PORT",
        help=f"the read-only API's port, 0 for off (default {READ_ONLY_PORT}; 0 with --config)",
    )
    sources.add_argument(
        "--address",
        type=_address,
        metavar="IP",
        help=f"where the read-only API listens (default {_DEFAULT['address']}, "
        "unlike the kubelet's 0.0.0.0)",
    )
    sources.add_argument(
        "--healthz-port",
        type=_port,
        metavar="PORT",
        help=f"the health server's port (/healthz), 0 for off (default {_DEFAULT['healthz_port']})",
    )
    sources.add_argument(
        "--healthz-bind-address",
        type=_address,
        metavar="IP",
        help=f"where the health server listens (default {_DEFAULT['healthz_bind_address']})",
    )
    sources.add_argument(
        "--node-ip",
        type=_node_ip,
        metavar="IP[,IP]",
        help="the node's address in pods' status.hostIP (default: the default route's)",
    )
    sources.add_argument(
        "--pod-infra-container-image",
        metavar="IMAGE",
        help="the sandbox image holding each pod's namespaces "
        f"(default {_DEFAULT['pod_infra_container_image']})",
    )
    sources.add_argument(
        "--root-dir",
        metavar="DIR",
        help="where pods' own directories (emptyDir volumes) live "
        f"(default {_DEFAULT['root_dir']})",
    )
    sources.add_argument(
        "--kubeconfig",
        metavar="FILE",
        help="the API server's kubeconfig: register the Node, keep its lease, post its status "
        "(default none: standalone)",
    )
    sources.add_argument(
        "--register-node",
        nargs="?",
        const=True,
        type=_boolean,
        metavar="BOOL",
        help="with --kubeconfig, create or update this node's Node object (default true)",
    )
    sources.add_argument(
        "--node-labels",
        type=_node_labels,
        metavar="KEY=VALUE[,KEY=VALUE...]",
        help="labels the Node registers with, beside the kubelet's own",
    )
    sources.add_argument(
        "--register-with-taints",
        type=_taints,
        metavar="KEY[=VALUE]:EFFECT[,...]",
        help="taints the Node registers with",
    )
    sources.add_argument(
        "--max-pods",
        type=_max_pods,
        metavar="N",
        help=f"the Node's pod capacity (default {_DEFAULT['max_pods']})",
    )
    sources.add_argument(
        "--kube-api-qps",
        type=_api_rate,
        metavar="N",
        help=f"requests a second to the API server (default {_DEFAULT['kube_api_qps']})",
    )
    sources.add_argument(
        "--kube-api-burst",
        type=_api_rate,
        metavar="N",
        help=f"requests to the API server that may go at once "
        f"(default {_DEFAULT['kube_api_burst']})",
    )
    sources.add_argument(
        "--event-qps",
        dest="event_record_qps",
        type=_api_rate,
        metavar="N",
        help=f"Events written a second to the API server (default {_DEFAULT['event_record_qps']})",
    )
    sources.add_argument(
        "--event-burst",
        type=_api_rate,
        metavar="N",
        help=f"Events that may be written at once (default {_DEFAULT['event_burst']})",
    )
    sources.add_argument(
        "--node-status-update-frequency",
        type=_period,
        metavar="DURATION",
        help="how often the Node's status is computed, and posted if it changed "
        f"(default {_seconds_default('node_status_update_frequency')})",
    )
    sources.add_argument(
        "--seccomp-default",
        nargs="?",
        const=True,
        type=_boolean,
        metavar="BOOL",
        help="run a container that names no seccomp profile under the runtime's default "
        "profile, not unconfined (default false)",
    )
    sources.add_argument(
        "--cluster-dns",
        action="append",
        type=_addresses,
        metavar="IP[,IP...]",
        help="the DNS servers of ClusterFirst pods (repeatable; default none: they use the "
        "node's resolver, with a warning)",
    )
    sources.add_argument(
        "--cluster-domain",
        metavar="DOMAIN",
        help="the cluster's domain, searched first by ClusterFirst pods (default none)",
    )
    sources.add_argument(
        "--resolv-conf",
        metavar="FILE",
        help='the resolver file pods\' own start from, "" for none '
        f"(default {_DEFAULT['resolv_conf']})",
    )
    sources.add_argument(
        "--container-log-max-size",
        type=_log_size,
        metavar="QUANTITY",
        help="a container's log size before it is rotated, negative for never (default 10Mi)",
    )
    sources.add_argument(
        "--container-log-max-files",
        type=_log_files,
        metavar="N",
        help="log files kept per container, the current one included, 2 or more "
        f"(default {_DEFAULT['container_log_max_files']})",
    )
    sources.add_argument(
        "--allowed-unsafe-sysctls",
        action="append",
        type=_sysctl_patterns,
        metavar="NAME[,NAME...]",
        help="sysctls (or prefixes ending in *) pods may set beyond the safe ones "
        "(repeatable; e.g. 'net.core.somaxconn,kernel.msg*')",
    )
    own = run.add_argument_group("fastpod's flags")
    own.add_argument(
        "--profile",
        metavar="NAME|PATH",
        help="start from a preset: kubelet, fast, dense (see fastpod/config/profiles/README.md) "
        "or a file",
    )
    own.add_argument(
        "--adopt-foreign-pods",
        type=_boolean,
        nargs="?",
        const=True,
        metavar="BOOL",
        help="take over the static pods a kubelet left running: adopt those that run as "
        "fastpod would run them, replace the others, remove what no source wants (default "
        "true); false leaves them alone and starts no pod under a name one of them holds",
    )
    own.add_argument(
        "--workers", type=_count, metavar="N", help="worker processes (default 0: one per core)"
    )
    sources.add_argument(
        "--container-runtime-endpoint",
        metavar="URL",
        help=f"a CRI runtime's endpoint (default {_DEFAULT['container_runtime_endpoint']}); "
        "giving it (here or in --config) runs pods through the CRI unless --runtime says",
    )
    own.add_argument(
        "--runtime",
        choices=RUNTIME_NAMES,
        help="container runtime: the Docker Engine, a CRI runtime (containerd), or an "
        "in-memory fake (default docker; cri when a runtime endpoint is given)",
    )
    own.add_argument(
        "--cri-relist-period",
        type=_period,
        metavar="DURATION",
        help="how often a CRI runtime without an event stream is listed for deaths "
        f"(default {_seconds_default('cri_relist_period')})",
    )
    own.add_argument(
        "--docker-socket",
        metavar="PATH",
        help=f"the Docker Engine's socket (default {_DEFAULT['docker_socket']})",
    )
    own.add_argument(
        "--pod-logs-dir",
        metavar="DIR",
        help="pod log links; container links go to ../containers beside it "
        f"(default {_DEFAULT['pod_logs_dir']})",
    )
    own.add_argument(
        "--restart-backoff",
        type=_period,
        nargs=2,
        metavar=("INITIAL", "MAX"),
        help="crash-loop back-off: first delay and cap "
        f"(default {_seconds_default('backoff_initial')} {_seconds_default('backoff_max')})",
    )
    own.add_argument(
        "--resync-period",
        type=_period,
        metavar="DURATION",
        help="how often each pod is compared with the runtime without an event "
        f"(default {_seconds_default('resync_period')})",
    )
    own.add_argument(
        "--fake-latency",
        type=_seconds,
        metavar="DURATION",
        help="simulated duration of each fake runtime call (default 0)",
    )
    own.add_argument(
        "--log-format", choices=LOG_FORMATS, help=f"text or json (default {_DEFAULT['log_format']})"
    )


def run_config(arguments: argparse.Namespace, unrecognized: Sequence[str]) -> Config:
    """The Config of this run; ConfigError (one line for the operator) if it cannot run.

    ``unrecognized`` is what the parser left: kubelet flags to warn about, or an error.
    """
    # the YAML readers are imported here: the client commands share this parser, not them
    from fastpod.config.kubelet_file import load_kubelet_config
    from fastpod.config.profile_file import load_profile

    warnings = list(ignored_kubelet_flags(unrecognized))
    layers: list[Mapping[str, Any]] = [
        builtin_defaults(with_config_file=arguments.config is not None)
    ]
    if arguments.profile is not None:
        layers.append({**load_profile(arguments.profile), "profile": arguments.profile})
    if arguments.config is not None or arguments.config_dir is not None:
        config_file = load_kubelet_config(arguments.config, arguments.config_dir)
        layers.append(config_file.settings)
        warnings[:0] = config_file.warnings
    flags = flag_settings(arguments)
    layers.append(flags)
    settings = merged(layers)
    endpoint_given = any("container_runtime_endpoint" in layer for layer in layers)
    if endpoint_given and "runtime" not in flags:
        # the kubelet's way to choose its runtime: an endpoint, and that is the CRI
        settings["runtime"] = "cri"
    if settings.get("pod_manifest_path") is None and settings.get("manifest_url") is None:
        raise ConfigError(
            "nothing to run: give --pod-manifest-path and/or --manifest-url "
            "(or staticPodPath/staticPodURL in the --config file)"
        )
    if settings.get("kubeconfig") is not None:
        # imported here: a standalone run never reads a kubeconfig
        from fastpod.cluster.kubeconfig import check_kubeconfig, missing_kubeconfig_warning

        try:
            check_kubeconfig(settings["kubeconfig"])
        except ValueError as error:
            raise ConfigError(str(error)) from None
        missing = missing_kubeconfig_warning(settings["kubeconfig"])
        if missing is not None:
            warnings.append(missing)
    try:
        node = node_name(arguments.hostname_override)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return Config(node_name=node, startup_warnings=tuple(warnings), **settings)


def builtin_defaults(*, with_config_file: bool) -> dict[str, Any]:
    """Where ``fastpod run``'s defaults differ from Config's own (which tests start from).

    Without a config file the read-only port is on, as the kubelet's flag-only defaults
    have it; a config file's v1beta1 default is off.
    """
    return {"runtime": "docker", "read_only_port": 0 if with_config_file else READ_ONLY_PORT}


def flag_settings(arguments: argparse.Namespace) -> dict[str, Any]:
    """The Config fields set by the flags actually given (those that are not None)."""
    given = {name: value for name, value in vars(arguments).items() if value is not None}
    settings = {name: given[name] for name in _PLAIN_FLAGS if name in given}
    for source in ("pod_manifest_path", "manifest_url"):
        if source in settings:
            settings[source] = settings[source] or None  # as the kubelet: "" turns it off
    if "allowed_unsafe_sysctls" in given:
        settings["allowed_unsafe_sysctls"] = tuple(
            chain.from_iterable(given["allowed_unsafe_sysctls"])
        )
    if "manifest_url_headers" in given:
        settings["manifest_url_headers"] = tuple(chain.from_iterable(given["manifest_url_headers"]))
    for directory in ("root_dir", "pod_logs_dir"):
        if directory in given:
            settings[directory] = os.path.abspath(given[directory])
    if given.get("kubeconfig"):
        settings["kubeconfig"] = os.path.abspath(given["kubeconfig"])
    if given.get("resolv_conf"):
        settings["resolv_conf"] = os.path.abspath(given["resolv_conf"])
    if "cluster_dns" in given:
        settings["cluster_dns"] = tuple(chain.from_iterable(given["cluster_dns"]))
    if "restart_backoff" in given:
        settings["backoff_initial"], settings["backoff_max"] = given["restart_backoff"]
    if "fake_latency" in given:
        latency = given["fake_latency"]
        settings["fake_latencies"] = FakeLatencies(
            run_sandbox=latency,
            create_container=latency,
            start_container=latency,
            stop_container=latency,
            remove=latency,
            exec_sync=latency,
        )
    return settings


def merged(layers: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The layers' settings, each layer overriding the ones before it field by field."""
    settings: dict[str, Any] = {}
    for layer in layers:
        settings.update(layer)
    return settings


_PLAIN_FLAGS = (
    "adopt_foreign_pods",
    "pod_manifest_path",
    "manifest_url",
    "file_check_frequency",
    "http_check_frequency",
    "read_only_port",
    "address",
    "healthz_port",
    "healthz_bind_address",
    "node_ip",
    "pod_infra_container_image",
    "kubeconfig",
    "register_node",
    "node_labels",
    "register_with_taints",
    "max_pods",
    "kube_api_qps",
    "kube_api_burst",
    "event_record_qps",
    "event_burst",
    "node_status_update_frequency",
    "cluster_domain",
    "resolv_conf",
    "workers",
    "runtime",
    "docker_socket",
    "container_runtime_endpoint",
    "cri_relist_period",
    "resync_period",
    "log_format",
    "seccomp_default",
    "container_log_max_size",
    "container_log_max_files",
)
"""Flags whose value is the Config field of the same name, as parsed."""

_Value = TypeVar("_Value")

_DEFAULT: dict[str, Any] = {field.name: field.default for field in msgspec.structs.fields(Config)}
"""Config's defaults, which the flags' help shows."""


def _seconds_default(field: str) -> str:
    return f"{_DEFAULT[field]:g}s"


def _headers(text: str) -> list[tuple[str, str]]:
    # The kubelet's ColonSeparatedMultimapStringString: 'a:hello,b:again', empty pairs skipped.
    pairs = []
    for pair in text.split(","):
        if not pair:
            continue
        name, colon, value = pair.partition(":")
        if not colon or not name.strip():
            raise argparse.ArgumentTypeError(f"{pair!r}: expected NAME:VALUE")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _flag(check: Callable[[Any], _Value]) -> Callable[[str], _Value]:
    """A flag's type: ``check`` applied to its text; argparse prefixes the flag's name."""

    def read(text: str) -> _Value:
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return read


def _integer_text(text: str) -> int | str:
    # the integer a flag's text spells, or the text for the check to reject as written
    return int(text) if text.isascii() and text.isdigit() else text


_boolean = _flag(values.go_boolean)


def _address_list(text: str) -> list[str]:
    # the kubelet's StringSlice: comma-separated, "" for none
    return [values.ip_address(item) for item in text.split(",")] if text else []


_addresses = _flag(_address_list)

# pflag's StringSlice: comma-separated, empty items dropped
_sysctl_patterns = _flag(lambda text: values.sysctl_patterns([n for n in text.split(",") if n]))
_seconds = _flag(values.seconds)
_period = _flag(values.period)
_address = _flag(values.ip_address)
_node_ip = _flag(values.node_ip)
_port = _flag(lambda text: values.port(_integer_text(text)))
_count = _flag(lambda text: values.count(_integer_text(text)))
_log_size = _flag(values.log_size)
_node_labels = _flag(cluster_values.node_labels)
_taints = _flag(cluster_values.taints_flag)
_max_pods = _flag(lambda text: cluster_values.max_pods(_integer_text(text)))
_api_rate = _flag(lambda text: cluster_values.api_rate(_integer_text(text)))
_log_files = _flag(lambda text: values.log_files(_integer_text(text)))
