"""The floor of a CRI runtime here: raw CRI v1 calls to fastpod's private containerd.

    scripts/containerd-up && python -m bench.macro.cri_floor [--runs 20] [--loop uvloop]

One call at a time through ``grpc.aio``, each pod a fresh sandbox (host network, then its own
network namespace with loopback only), a busybox container created and started in it, then a
second one in the same sandbox, then the sandbox stopped and removed. Prints the median (and
the spread) of each call over the runs: what fastpod's CRI runtime is to be compared with.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from typing import Any, TypeVar

import grpc
import grpc.aio
import uvloop
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

SOCKET = "/run/fastpod-containerd/containerd.sock"
BUSYBOX = "fastpod.local/busybox:1.36"
LABELS = {"io.fastpod.managed": "true", "io.fastpod.bench": "1"}
T = TypeVar("T")


class Samples:
    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = defaultdict(list)

    async def timed(self, name: str, call: Awaitable[T]) -> T:
        start = time.perf_counter()
        result = await call
        self.ms[name].append((time.perf_counter() - start) * 1000)
        return result

    def print(self) -> None:
        width = max(len(name) for name in self.ms)
        for name, values in self.ms.items():
            ordered = sorted(values)
            print(
                f"{name:<{width}}  median {statistics.median(ordered):6.1f} ms"
                f"  (min {ordered[0]:.1f}, max {ordered[-1]:.1f}, n={len(ordered)})"
            )


def sandbox_config(name: str, logs: str, *, host_network: bool) -> cri_pb.PodSandboxConfig:
    uid = str(uuid.uuid4())
    return cri_pb.PodSandboxConfig(
        metadata=cri_pb.PodSandboxMetadata(name=name, uid=uid, namespace="fastpod-bench"),
        hostname="" if host_network else name,
        log_directory=f"{logs}/fastpod-bench_{name}_{uid}",
        labels=LABELS,
        linux=cri_pb.LinuxPodSandboxConfig(
            security_context=cri_pb.LinuxSandboxSecurityContext(
                namespace_options=cri_pb.NamespaceOption(
                    network=cri_pb.NODE if host_network else cri_pb.POD,
                    pid=cri_pb.CONTAINER,
                    ipc=cri_pb.POD,
                )
            )
        ),
    )


def container_config(name: str) -> cri_pb.ContainerConfig:
    return cri_pb.ContainerConfig(
        metadata=cri_pb.ContainerMetadata(name=name),
        image=cri_pb.ImageSpec(image=BUSYBOX),
        command=["sh", "-c", "sleep 3600"],
        log_path=f"{name}/0.log",
        labels=LABELS,
    )


async def remove_leftovers(runtime: Any) -> None:
    listed = await runtime.ListPodSandbox(
        cri_pb.ListPodSandboxRequest(filter=cri_pb.PodSandboxFilter(label_selector=LABELS))
    )
    for sandbox in listed.items:
        await runtime.StopPodSandbox(cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox.id))
        await runtime.RemovePodSandbox(cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id))


async def one_pod(
    runtime: Any, samples: Samples, logs: str, index: int, *, host_network: bool
) -> None:
    kind = "host net" if host_network else "pod net"
    config = sandbox_config(
        f"bench-{'host' if host_network else 'pod'}-{index}", logs, host_network=host_network
    )
    sandbox = await samples.timed(
        f"RunPodSandbox ({kind})", runtime.RunPodSandbox(cri_pb.RunPodSandboxRequest(config=config))
    )
    sandbox_id = sandbox.pod_sandbox_id

    def create(name: str) -> Any:
        return runtime.CreateContainer(
            cri_pb.CreateContainerRequest(
                pod_sandbox_id=sandbox_id, config=container_config(name), sandbox_config=config
            )
        )

    created = await samples.timed(f"CreateContainer ({kind})", create("main"))
    await samples.timed(
        f"StartContainer ({kind})",
        runtime.StartContainer(cri_pb.StartContainerRequest(container_id=created.container_id)),
    )
    start = time.perf_counter()
    second = await create("second")
    await runtime.StartContainer(cri_pb.StartContainerRequest(container_id=second.container_id))
    samples.ms[f"new container in a sandbox, create+start ({kind})"].append(
        (time.perf_counter() - start) * 1000
    )
    await samples.timed(
        f"StopContainer timeout=0 ({kind})",
        runtime.StopContainer(
            cri_pb.StopContainerRequest(container_id=second.container_id, timeout=0)
        ),
    )
    await samples.timed(
        f"StopPodSandbox ({kind})",
        runtime.StopPodSandbox(cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id)),
    )
    await samples.timed(
        f"RemovePodSandbox ({kind})",
        runtime.RemovePodSandbox(cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id)),
    )


async def measure(runs: int) -> None:
    samples = Samples()
    async with grpc.aio.insecure_channel(f"unix://{SOCKET}") as channel:
        runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        version = await runtime.Version(cri_pb.VersionRequest(), timeout=5)
        print(f"{version.runtime_name} {version.runtime_version} on {SOCKET}, {runs} runs")
        await remove_leftovers(runtime)
        with tempfile.TemporaryDirectory(prefix="fastpod-cri-floor-") as logs:
            try:
                # one of each first, not counted: the first calls warm containerd up
                for host_network in (True, False):
                    await one_pod(runtime, Samples(), logs, -1, host_network=host_network)
                for index in range(runs):
                    for host_network in (True, False):
                        await one_pod(runtime, samples, logs, index, host_network=host_network)
            finally:
                await remove_leftovers(runtime)
    samples.print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    options = parser.parse_args()
    factory = uvloop.new_event_loop if options.loop == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        try:
            runner.run(measure(options.runs))
        except grpc.aio.AioRpcError as error:
            raise SystemExit(f"cri_floor: {error.code().name}: {error.details()}") from None


if __name__ == "__main__":
    main()
