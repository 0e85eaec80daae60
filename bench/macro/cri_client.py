"""What the CRI benchmarks share: pod manifests and the very CRI requests fastpod sends for
them, raw CRI calls, containerd's CPU time, and a ``fastpod run`` on the CRI."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import grpc.aio
import psutil
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

from bench.macro.docker import BUSYBOX
from bench.macro.pipeline import NODE, fastpod_command, fastpod_environment
from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod, PodSource
from fastpod.runtime.cri.configs import container_config, pod_log_directory, sandbox_config
from fastpod.runtime.cri.listing import FASTPOD_ONLY
from fastpod.runtime.cri.runtime import MAX_REPLY
from fastpod.runtime.labels import MANAGED_BY, sandbox_labels
from fastpod.runtime.spec import PodContext, container_spec

SOCKET = "/run/fastpod-containerd/containerd.sock"
MANAGED = FASTPOD_ONLY
BENCH = {"io.fastpod.bench": "1"}
RUNNING = cri_pb.ContainerState.CONTAINER_RUNNING
TIMEOUT = 60.0
SETTLE = 3.0
"""Seconds to let containerd finish the removals before a timed phase (shims exiting,
snapshots and network namespaces going away)."""
T = TypeVar("T")


@dataclass
class Options:
    socket: str
    samples: int | None
    docker_samples: int | None
    containers: int
    per_sandbox: int
    fastpod_args: list[str]


# --- manifests, and the requests fastpod would send for them -------------------------------


def pod_manifest(name: str, containers: int = 1) -> str:
    entries = "".join(
        f"""\
  - name: {"main" if containers == 1 else f"c{index}"}
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sleep", "3600"]
"""
        for index in range(containers)
    )
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
{entries}"""


def write_pods(directory: str, count: int, prefix: str = "pod") -> None:
    os.makedirs(directory, exist_ok=True)
    for index in range(count):
        with open(os.path.join(directory, f"{prefix}-{index:03d}.yaml"), "w") as file:
            file.write(pod_manifest(f"{prefix}-{index:03d}"))


@dataclass
class RawPod:
    """One pod as fastpod would send it to the CRI, for raw calls."""

    pod: Pod
    sandbox: cri_pb.PodSandboxConfig
    context: PodContext
    managed: bool

    def container(self, index: int = 0, restart_count: int = 0) -> cri_pb.ContainerConfig:
        container = (self.pod.spec.containers or [])[index]
        spec = container_spec(self.pod, container, restart_count, "regular", self.context)
        config = container_config(self.pod, spec)
        if not self.managed:
            _unmanage(config.labels)
        return config


def raw_pod(name: str, logs: str, containers: int = 1, *, managed: bool = True) -> RawPod:
    """``name``'s requests; without ``managed``, labelled ``io.fastpod.bench`` instead of
    ``io.fastpod.managed``, so that a fastpod running beside them leaves them alone."""
    data = pod_manifest(name, containers).encode()
    pod = decode_pod(data, PodSource("file", f"/bench/{name}.yaml"), NODE).pod
    os.makedirs(pod_log_directory(logs, pod), exist_ok=True)
    context = PodContext("127.0.0.1", "127.0.0.1", "/nonexistent")
    sandbox = sandbox_config(pod, 0, logs, sandbox_labels(pod))
    if not managed:
        _unmanage(sandbox.labels)
    return RawPod(pod, sandbox, context, managed)


def _unmanage(labels: Any) -> None:
    del labels[MANAGED_BY]
    labels.update(BENCH)


# --- raw CRI calls ---------------------------------------------------------------------------


class Cri:
    """CRI v1 stubs on one ``grpc.aio`` channel to ``socket``."""

    def __init__(self, socket: str) -> None:
        self.socket = socket
        self.channel = grpc.aio.insecure_channel(
            f"unix://{socket}", options=[("grpc.max_receive_message_length", MAX_REPLY)]
        )
        self.runtime = cri_grpc.RuntimeServiceStub(self.channel)  # type: ignore[no-untyped-call]

    async def version(self) -> str:
        reply = await self.runtime.Version(cri_pb.VersionRequest(), timeout=5)
        return f"{reply.runtime_name} {reply.runtime_version}"

    async def run_sandbox(self, config: cri_pb.PodSandboxConfig) -> str:
        reply = await self.runtime.RunPodSandbox(
            cri_pb.RunPodSandboxRequest(config=config), timeout=TIMEOUT
        )
        return str(reply.pod_sandbox_id)

    async def create_start(
        self, sandbox_id: str, sandbox: cri_pb.PodSandboxConfig, config: cri_pb.ContainerConfig
    ) -> str:
        created = await self.runtime.CreateContainer(
            cri_pb.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox
            ),
            timeout=TIMEOUT,
        )
        await self.runtime.StartContainer(
            cri_pb.StartContainerRequest(container_id=created.container_id), timeout=TIMEOUT
        )
        return str(created.container_id)

    async def status(self, container_id: str, verbose: bool = False) -> Any:
        return await self.runtime.ContainerStatus(
            cri_pb.ContainerStatusRequest(container_id=container_id, verbose=verbose),
            timeout=TIMEOUT,
        )

    async def pid(self, container_id: str) -> int:
        reply = await self.status(container_id, verbose=True)
        return int(json.loads(reply.info["info"])["pid"])

    async def containers(
        self, selector: dict[str, str], running_only: bool = False
    ) -> list[cri_pb.Container]:
        listing = cri_pb.ContainerFilter(label_selector=selector)
        if running_only:
            listing.state.state = RUNNING
        reply = await self.runtime.ListContainers(
            cri_pb.ListContainersRequest(filter=listing), timeout=TIMEOUT
        )
        return list(reply.containers)

    async def remove_all(self) -> None:
        """Stop and remove every sandbox fastpod manages or the bench made (and so their
        containers)."""
        limit = asyncio.Semaphore(16)

        async def remove(sandbox_id: str) -> None:
            async with limit:
                with contextlib.suppress(grpc.aio.AioRpcError):
                    await self.runtime.StopPodSandbox(
                        cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=TIMEOUT
                    )
                    await self.runtime.RemovePodSandbox(
                        cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=TIMEOUT
                    )

        for _ in range(10):
            items = [
                item
                for selector in (MANAGED, BENCH)
                for item in (
                    await self.runtime.ListPodSandbox(
                        cri_pb.ListPodSandboxRequest(
                            filter=cri_pb.PodSandboxFilter(label_selector=selector)
                        ),
                        timeout=TIMEOUT,
                    )
                ).items
            ]
            if not items:
                return
            await asyncio.gather(*(remove(item.id) for item in items))
        raise RuntimeError(f"fastpod sandboxes remain in the containerd on {self.socket}")

    async def close(self) -> None:
        await self.channel.close()


async def bounded(limit: int, calls: Iterable[Awaitable[T]]) -> list[T]:
    """Await ``calls`` with at most ``limit`` of them at a time."""
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with semaphore:
            return await call

    return await asyncio.gather(*(one(call) for call in calls))


async def wait_running(cri: Cri, count: int, poll: float, timeout: float = 300) -> None:
    """Until ``count`` containers fastpod manages run."""
    deadline = time.monotonic() + timeout
    while len(await cri.containers(MANAGED, running_only=True)) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} containers did not come up within {timeout:g} s")
        await asyncio.sleep(poll)


def containerd_process(socket: str) -> psutil.Process:
    """The containerd serving ``socket``: by scripts/containerd-up's pid file, else by the
    process listening on the socket."""
    with contextlib.suppress(OSError, ValueError, psutil.Error):
        with open(os.path.join(os.path.dirname(socket), "containerd.pid")) as file:
            process = psutil.Process(int(file.read().strip()))
        if process.name() == "containerd":
            return process
    for connection in psutil.net_connections(kind="unix"):
        if str(connection.laddr) == socket and connection.pid:
            return psutil.Process(connection.pid)
    raise RuntimeError(f"no containerd process found for {socket}")


def cpu_seconds(process: psutil.Process) -> float:
    """CPU time of every thread of ``process``: from the scheduler's nanosecond counters
    where /proc has them (psutil's counters are in 10 ms ticks, too coarse for one
    listing), else from psutil."""
    try:
        total = 0
        tasks = f"/proc/{process.pid}/task"
        for task in os.listdir(tasks):
            with contextlib.suppress(FileNotFoundError), open(f"{tasks}/{task}/schedstat") as file:
                total += int(file.read().split()[0])
        return total / 1e9
    except OSError:
        times = process.cpu_times()
        return float(times.user + times.system)


# --- fastpod ---------------------------------------------------------------------------------


class Fastpod:
    """``fastpod run --runtime cri`` over a directory, until stopped; its log in ``root``."""

    def __init__(self, options: Options, directory: str, root: str, name: str, *extra: str) -> None:
        self.log_path = os.path.join(root, f"fastpod-{name}.log")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            fastpod_command(
                "cri",
                directory,
                "--container-runtime-endpoint",
                f"unix://{options.socket}",
                "--root-dir",
                os.path.join(root, "root"),
                "--pod-logs-dir",
                os.path.join(root, "logs", "pods"),
                "--log-format",
                "json",
                *options.fastpod_args,
                *extra,
            ),
            stderr=self._log,
            env=fastpod_environment(),
        )

    def processes(self) -> list[psutil.Process]:
        """The supervisor and its children."""
        supervisor = psutil.Process(self.process.pid)
        return [supervisor, *supervisor.children(recursive=True)]

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"fastpod exited with {self.process.returncode}; see {self.log_path}"
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
