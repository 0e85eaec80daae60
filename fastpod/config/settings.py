"""Config: everything one ``fastpod run`` needs, built by the CLI and handed to every process.

Issue-level defaults are the kubelet's (20 s re-list and URL poll, 10 s URL timeout); the
settings of fastpod's own machinery (workers, batching, the fake runtime's latencies) have
defaults measured on a 2-core machine. Durations are seconds; they are written as Go writes
them (``20s``, ``1m30s``) wherever an operator sets them: flags, the config file, profiles.
"""

from __future__ import annotations

import math
import os
import re
from typing import Literal

import msgspec

from fastpod.logs import LogFormat

RuntimeName = Literal["fake", "docker", "cri"]


class FakeLatencies(msgspec.Struct, frozen=True, kw_only=True):
    """Simulated runtime call durations in seconds, so benchmarks see realistic waits."""

    run_sandbox: float = 0.0
    create_container: float = 0.0
    start_container: float = 0.0
    stop_container: float = 0.0
    remove: float = 0.0


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
    root_dir: str = "/var/lib/fastpod"
    pod_logs_dir: str = "/var/log/pods"
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    resync_period: float = 10.0
    log_format: LogFormat = "text"
    run_dir: str | None = None
    read_only_port: int = 0
    """The read-only API's port (``/pods``, ``/healthz``, ``/metrics``); 0 turns it off."""
    address: str = "127.0.0.1"
    """Where the read-only API listens: loopback unless asked, unlike the kubelet's 0.0.0.0."""
    kubeconfig: str | None = None
    """Accepted for the kubelet's command lines; mirror pods are not created yet."""
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


_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION = re.compile(r"[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration (``20s``, ``1m0s``, ``500ms``, ``1h``, ``1m30s``).

    The syntax of Go's ``time.ParseDuration``, which the kubelet's flags and config file
    use: an optional sign, then one or more number-and-unit parts; ``0`` needs no unit.
    """
    if text.lstrip("+-") == "0" and len(text) <= 2:
        return 0.0
    if not _GO_DURATION.fullmatch(text):
        raise ValueError(f"not a duration: {text!r} (write it as Go does: 20s, 1m30s, 500ms)")
    seconds = sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(text))
    return -seconds if text.startswith("-") else seconds


def parse_seconds(value: str | float) -> float:
    """A duration in fastpod's own settings: a number of seconds, or a Go duration."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return parse_go_duration(value.strip())
    else:
        number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"not a duration: {value!r}")
    return number
