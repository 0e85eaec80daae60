"""The runtime a bench runs on: its version, its processes, and what the bench leaves on it.

Every pod a bench makes is in a namespace of that run's own (:data:`NAMESPACE_PREFIX` and a
random suffix), so the bench removes what it made, and nothing else. It refuses a runtime
that holds another fastpod's pods: each fastpod removes the pods it manages that no source
of its own wants, so a bench's fastpod and a node's would remove each other's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Awaitable
from typing import TypeVar

import msgspec
import psutil

from fastpod.bench import event_loop
from fastpod.bench.options import TargetSettings
from fastpod.config.node import node_name
from fastpod.config.settings import Config
from fastpod.runtime.base import (
    ContainerInfo,
    Runtime,
    RuntimeCallError,
    RuntimeUnavailable,
    SandboxInfo,
)
from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.factory import create_runtime
from fastpod.runtime.fake import FAKE_VERSION
from fastpod.runtime.labels import POD_NAMESPACE

NAMESPACE_PREFIX = "fastpod-bench-"
CALL_TIMEOUT = 10.0

REMOVAL_TIMEOUT_PER_POD = 1.0
"""On top of a call's bound, the time one pod's removal may add: a loaded Docker Engine
takes over 30 s to remove 200 pods, which a fixed bound reported as a failure."""
T = TypeVar("T")


class TargetError(Exception):
    """The runtime cannot be benchmarked now; the message says why, in one line."""


def run_namespace() -> str:
    """A namespace no other run uses: where one run's pods live."""
    return NAMESPACE_PREFIX + secrets.token_hex(3)


class Target:
    """The runtime under the bench, reached through fastpod's own adapter for it."""

    def __init__(self, settings: TargetSettings) -> None:
        self.settings = settings
        self.name = settings.runtime

    def _call(self, call: Awaitable[T], bound: float | None = None) -> T:
        bound = CALL_TIMEOUT * 3 if bound is None else bound
        try:
            return event_loop.run(_bounded(call, bound))
        except TimeoutError:
            raise TargetError(
                f"the {self.name} runtime did not answer within {bound:.0f} s"
            ) from None

    def _adapter(self) -> Runtime:
        config = Config(
            node_name=node_name(None),
            runtime=self.settings.runtime,
            docker_socket=self.settings.docker_socket,
            container_runtime_endpoint=self.settings.container_runtime_endpoint,
        )
        return create_runtime(config)

    def version(self) -> str:
        """The runtime's version; TargetError if it does not answer."""
        if self.settings.runtime == "fake":
            return FAKE_VERSION

        async def ask() -> str:
            runtime = self._adapter()
            try:
                await runtime.ping(CALL_TIMEOUT)
                version = await runtime.version()
                # a CRI runtime names itself (containerd, CRI-O) once asked its version
                name = str(getattr(runtime, "name", self.name))
                return version if name == self.name else f"{name} {version}"
            finally:
                await runtime.close()

        try:
            return self._call(ask())
        except (RuntimeCallError, RuntimeUnavailable, OSError, TimeoutError) as error:
            raise TargetError(f"the {self.name} runtime does not answer: {error}") from None

    def check_image(self, image: str) -> None:
        """TargetError if ``image`` is not on the node: the bench measures starts, not
        pulls (and a pull that cannot succeed would only wait out the timeout)."""
        if self.settings.runtime == "fake":
            return

        async def present() -> bool:
            runtime = self._adapter()
            try:
                return await runtime.image_present(image)
            finally:
                await runtime.close()

        if not self._call(present()):
            raise TargetError(
                f"the image {image} is not on the {self.name} runtime: pull or load it first "
                "(the bench measures pods starting, not images pulled)"
            )

    def check_alone(self) -> None:
        """TargetError if another fastpod's pods run here; an earlier bench's leftovers
        (a run that was killed) are removed."""
        if self.settings.runtime == "fake":
            return
        sandboxes, containers = self._call(self._listing())
        labels = [item.labels for item in sandboxes] + [item.labels for item in containers]
        namespaces = {each.get(POD_NAMESPACE, "") for each in labels}
        others = sorted(ns for ns in namespaces if not ns.startswith(NAMESPACE_PREFIX))
        if others:
            raise TargetError(
                f"the {self.name} runtime runs pods of another fastpod (namespaces "
                f"{', '.join(others)}): a second fastpod would remove them as orphans; stop "
                "it and remove its pods, or run the bench on another node"
            )
        for namespace in namespaces:
            self.remove_namespace(namespace)

    def remove_namespace(self, namespace: str) -> int:
        """Stop and remove every sandbox and container of ``namespace``; how many."""
        if self.settings.runtime == "fake":
            return 0
        every_sandbox, every_container = self._call(self._listing())
        containers = [c.id for c in every_container if c.labels.get(POD_NAMESPACE) == namespace]
        sandboxes = [s.id for s in every_sandbox if s.labels.get(POD_NAMESPACE) == namespace]
        self._call(
            self._remove(containers, sandboxes),
            bound=CALL_TIMEOUT * 3 + REMOVAL_TIMEOUT_PER_POD * len(sandboxes),
        )
        return len(containers) + len(sandboxes)

    async def _listing(self) -> tuple[list[SandboxInfo], list[ContainerInfo]]:
        """Every sandbox and container that fastpod's adapter lists on the runtime."""
        runtime = self._adapter()
        try:
            return await runtime.list_pod_sandboxes(), await runtime.list_containers()
        finally:
            await runtime.close()

    async def _remove(self, containers: list[str], sandboxes: list[str]) -> None:
        runtime = self._adapter()
        try:

            async def remove_container(container_id: str) -> None:
                with contextlib.suppress(RuntimeCallError):
                    await runtime.stop_container(container_id, 0)
                with contextlib.suppress(RuntimeCallError):
                    await runtime.remove_container(container_id)

            async def remove_sandbox(sandbox_id: str) -> None:
                with contextlib.suppress(RuntimeCallError):
                    await runtime.stop_pod_sandbox(sandbox_id)
                with contextlib.suppress(RuntimeCallError):
                    await runtime.remove_pod_sandbox(sandbox_id)

            await asyncio.gather(*(remove_container(c) for c in containers))
            await asyncio.gather(*(remove_sandbox(s) for s in sandboxes))
        finally:
            await runtime.close()

    def containers(self, namespace: str) -> list[ContainerInfo]:
        """Every container of ``namespace``, whatever its state, as fastpod lists them."""
        if self.settings.runtime == "fake":
            return []

        async def listing() -> list[ContainerInfo]:
            runtime = self._adapter()
            try:
                every = await runtime.list_containers()
            finally:
                await runtime.close()
            return [c for c in every if c.labels.get(POD_NAMESPACE) == namespace]

        return self._call(listing())

    def pids(self, container_ids: list[str]) -> dict[str, int]:
        """The host pid of each running container's process, asked of the runtime."""
        if self.settings.runtime == "docker":
            return self._call(_docker_pids(self.settings.docker_socket, container_ids))
        if self.settings.runtime == "cri":
            endpoint = self.settings.container_runtime_endpoint
            return self._call(_cri_pids(endpoint, container_ids))
        return {}

    def processes(self) -> list[psutil.Process]:
        """The runtime daemon serving the socket, its children (Docker's containerd) and
        its containers' shims; none for the fake runtime, which runs inside fastpod's
        workers."""
        socket = self.settings.socket
        if socket is None:
            return []
        daemon = _listener(socket)
        if daemon is None:
            return []
        with contextlib.suppress(psutil.Error):
            return [daemon, *daemon.children(recursive=True), *self._shims(socket)]
        return []

    def _shims(self, socket: str) -> list[psutil.Process]:
        """The containerd shims of this runtime's containers: Docker's are in containerd's
        ``moby`` namespace, a CRI containerd's are given its address."""
        wanted = (
            ("-namespace", "moby") if self.settings.runtime == "docker" else ("-address", socket)
        )
        shims = []
        for process in psutil.process_iter(["name", "cmdline"]):
            name, command = process.info["name"] or "", process.info["cmdline"] or []
            if name.startswith("containerd-shim") and _has_option(command, *wanted):
                shims.append(process)
        return shims


def _has_option(command: list[str], option: str, value: str) -> bool:
    return any(
        word == option and index + 1 < len(command) and command[index + 1] == value
        for index, word in enumerate(command)
    )


async def _docker_pids(socket: str, container_ids: list[str]) -> dict[str, int]:
    engine = Engine(socket)
    try:

        async def pid(container_id: str) -> tuple[str, int]:
            _, payload = await engine.call("GET", f"/containers/{container_id}/json")
            return container_id, int(msgspec.json.decode(payload)["State"]["Pid"])

        found = await asyncio.gather(*(pid(i) for i in container_ids))
    finally:
        await engine.close()
    return {container_id: pid for container_id, pid in found if pid}


async def _cri_pids(endpoint: str, container_ids: list[str]) -> dict[str, int]:
    import grpc.aio
    from cri_api.v1 import api_pb2 as cri
    from cri_api.v1 import api_pb2_grpc as cri_grpc

    channel = grpc.aio.insecure_channel(endpoint)
    stub = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
    try:

        async def pid(container_id: str) -> tuple[str, int]:
            reply = await stub.ContainerStatus(
                cri.ContainerStatusRequest(container_id=container_id, verbose=True),
                timeout=CALL_TIMEOUT,
            )
            return container_id, int(msgspec.json.decode(reply.info["info"]).get("pid", 0))

        found = await asyncio.gather(*(pid(i) for i in container_ids))
    finally:
        await channel.close()
    return {container_id: pid for container_id, pid in found if pid}


def _listener(socket: str) -> psutil.Process | None:
    """The process listening on the Unix socket ``socket``."""
    real = os.path.realpath(socket)
    with contextlib.suppress(psutil.Error, OSError):
        for connection in psutil.net_connections(kind="unix"):
            if connection.pid and os.path.realpath(str(connection.laddr) or "/") == real:
                return psutil.Process(connection.pid)
    return None


async def _bounded(call: Awaitable[T], bound: float) -> T:
    return await asyncio.wait_for(call, bound)
