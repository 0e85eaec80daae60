"""What a bench run was asked to do: its options, light enough for the CLI to import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastpod.config.settings import RuntimeName

if TYPE_CHECKING:
    from fastpod.bench.server import ServerSettings

PEER_KEYS = ("floor", "docker-restart-policy", "podman")
"""What ``--compare`` can name: the runtime's floor, Docker's restart policy, podman."""


@dataclass(frozen=True)
class TargetSettings:
    """Which runtime, and where it listens."""

    runtime: RuntimeName
    docker_socket: str = "/var/run/docker.sock"
    container_runtime_endpoint: str = "unix:///run/containerd/containerd.sock"

    def fastpod_flags(self) -> list[str]:
        """The ``fastpod run`` flags that point it at the same runtime."""
        if self.runtime == "docker":
            return ["--docker-socket", self.docker_socket]
        if self.runtime == "cri":
            return ["--container-runtime-endpoint", self.container_runtime_endpoint]
        return []

    @property
    def socket(self) -> str | None:
        """The runtime daemon's Unix socket; None for the fake runtime."""
        if self.runtime == "docker":
            return self.docker_socket
        if self.runtime == "cri":
            return self.container_runtime_endpoint.removeprefix("unix://")
        return None


@dataclass(frozen=True)
class BenchOptions:
    """What ``fastpod bench SCENARIO`` was asked to do."""

    scenario: str
    target: TargetSettings
    pods: int
    containers: int
    image: str
    command: tuple[str, ...]
    output: str
    workers: int | None = None
    profile: str | None = None
    timeout: float = 600.0
    """Seconds a phase (all pods running, all removed) may take before the run fails."""
    compare: tuple[str, ...] | None = None
    """The floor and peers to measure beside fastpod (``--compare``): None for every one
    that can run this scenario on this runtime, () for none (``--no-peers``)."""
    rounds: int = 2
    """restart: how many times every container is killed (the first restarts, then
    crash-loop restarts)."""
    rates: tuple[float, ...] = (5.0,)
    """churn: manifest changes a second, each rate kept up in turn."""
    p99_bound: float = 1.0
    """churn: the p99 latency a rate must stay under to count as sustained."""
    duration: float = 30.0
    """churn, probes: seconds the load is kept up (probes: the measuring window)."""
    steps: tuple[int, ...] = ()
    """density: the numbers of pods measured in turn."""
    window: float = 10.0
    """density, probes: seconds each settled window is measured."""
    probe: tuple[str, ...] = ()
    """probes: the command each container's readiness probe runs."""
    fake_latency: float | None = None
    """Seconds each call to the fake runtime takes."""
    server: ServerSettings | None = None
    """The running fastpod measured (``--server``), instead of one of the bench's own."""

    def fastpod_flags(self) -> list[str]:
        flags = self.target.fastpod_flags()
        if self.workers is not None:
            flags += ["--workers", str(self.workers)]
        if self.profile is not None:
            flags += ["--profile", self.profile]
        if self.fake_latency is not None:
            flags += ["--fake-latency", f"{self.fake_latency}s"]
        return flags
