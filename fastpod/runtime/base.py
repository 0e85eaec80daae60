"""The runtime seam, shaped like the kubelet's CRI: sandboxes, containers, listing by labels.

Nothing above ``fastpod/runtime`` knows which runtime runs; the fake and the real ones are
interchangeable behind :class:`Runtime`, as httpx's transports are behind its client.
"""

from __future__ import annotations

from typing import Literal, Protocol

import msgspec

from fastpod.model import Container, Pod

ContainerState = Literal["created", "running", "exited"]


class RuntimeCallError(Exception):
    """A runtime call failed; the message says which call and why."""


class SandboxInfo(msgspec.Struct, frozen=True):
    """A pod sandbox as the runtime lists it."""

    id: str
    labels: dict[str, str]
    ready: bool


class ContainerInfo(msgspec.Struct, frozen=True):
    """A container as the runtime lists it."""

    id: str
    sandbox_id: str
    labels: dict[str, str]
    state: ContainerState
    exit_code: int | None = None


class Runtime(Protocol):
    """What fastpod asks of a container runtime; every call may raise :class:`RuntimeCallError`."""

    async def run_pod_sandbox(self, pod: Pod) -> str:
        """Create and start the sandbox holding the pod's namespaces; its id."""
        ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Stop a sandbox (its containers are stopped first by the caller)."""
        ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Remove a stopped sandbox."""
        ...

    async def create_container(self, sandbox_id: str, pod: Pod, container: Container) -> str:
        """Create a container in a sandbox; its id."""
        ...

    async def start_container(self, container_id: str) -> None:
        """Start a created container."""
        ...

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        """SIGTERM, then SIGKILL after ``grace_period`` seconds."""
        ...

    async def remove_container(self, container_id: str) -> None:
        """Remove a stopped container."""
        ...

    async def list_pod_sandboxes(self) -> list[SandboxInfo]:
        """Every sandbox fastpod manages."""
        ...

    async def list_containers(self) -> list[ContainerInfo]:
        """Every container fastpod manages."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
