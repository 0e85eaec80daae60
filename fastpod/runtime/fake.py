"""An in-memory runtime with simulated latencies: for unit tests and benchmarks only.

It keeps sandboxes and containers in dictionaries and sleeps as long as the configured
latencies say, so the rest of fastpod can be exercised and measured without a daemon.
"""

from __future__ import annotations

import asyncio
import itertools

from fastpod.config import FakeLatencies
from fastpod.model import Container, Pod
from fastpod.runtime.base import ContainerInfo, ContainerState, RuntimeCallError, SandboxInfo
from fastpod.runtime.labels import container_labels, sandbox_labels


class FakeRuntime:
    """A :class:`~fastpod.runtime.base.Runtime` that runs nothing and forgets on exit."""

    def __init__(self, latencies: FakeLatencies | None = None) -> None:
        self.latencies = latencies or FakeLatencies()
        self.sandboxes: dict[str, SandboxInfo] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self._ids = itertools.count(1)

    async def run_pod_sandbox(self, pod: Pod) -> str:
        await _pause(self.latencies.run_sandbox)
        sandbox_id = f"sandbox-{next(self._ids)}"
        self.sandboxes[sandbox_id] = SandboxInfo(sandbox_id, sandbox_labels(pod), ready=True)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await _pause(self.latencies.stop_container)
        sandbox = self._sandbox(sandbox_id)
        self.sandboxes[sandbox_id] = SandboxInfo(sandbox_id, sandbox.labels, ready=False)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await _pause(self.latencies.remove)
        self._sandbox(sandbox_id)
        del self.sandboxes[sandbox_id]

    async def create_container(self, sandbox_id: str, pod: Pod, container: Container) -> str:
        await _pause(self.latencies.create_container)
        self._sandbox(sandbox_id)
        container_id = f"container-{next(self._ids)}"
        labels = container_labels(pod, container)
        self.containers[container_id] = ContainerInfo(container_id, sandbox_id, labels, "created")
        return container_id

    async def start_container(self, container_id: str) -> None:
        await _pause(self.latencies.start_container)
        self._set_state(container_id, "running", None)

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        await _pause(self.latencies.stop_container)
        self._set_state(container_id, "exited", 0)

    async def remove_container(self, container_id: str) -> None:
        await _pause(self.latencies.remove)
        self._container(container_id)
        del self.containers[container_id]

    async def list_pod_sandboxes(self) -> list[SandboxInfo]:
        return list(self.sandboxes.values())

    async def list_containers(self) -> list[ContainerInfo]:
        return list(self.containers.values())

    async def close(self) -> None:
        return None

    def _sandbox(self, sandbox_id: str) -> SandboxInfo:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise RuntimeCallError(f"no such sandbox: {sandbox_id}") from None

    def _container(self, container_id: str) -> ContainerInfo:
        try:
            return self.containers[container_id]
        except KeyError:
            raise RuntimeCallError(f"no such container: {container_id}") from None

    def _set_state(self, container_id: str, state: ContainerState, exit_code: int | None) -> None:
        container = self._container(container_id)
        self.containers[container_id] = ContainerInfo(
            container_id,
            container.sandbox_id,
            container.labels,
            state,
            exit_code,
        )


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)
