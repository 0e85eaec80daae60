"""What watching containerd costs: the node-wide relist, one pod's sync, a node of idle pods.

    python -m bench.macro.cri relist idle

- ``relist``: 1,000 containers (100 sandboxes x 10). One relist as fastpod's CRI runtime
  makes it, once per node whatever the workers (``ListPodSandbox`` and ``ListContainers``,
  no selector: worker 0 lists for every worker): its wall time and containerd's CPU, and so
  containerd's CPU per second at the ``fast`` profile's 100 ms and the default 1 s. Then one
  pod's sync as fastpod makes it when it has to read the statuses (``PodSandboxStatus`` and a
  ``ContainerStatus`` per container, by id) beside the same pod asked through listings
  filtered to its UID, which containerd 1.6 answers by converting every container on the
  node first.
- ``idle``: 200 running single-container pods under ``fastpod run`` with nothing happening:
  containerd's CPU per second and fastpod's (all its processes), at the default settings and
  with ``--profile fast`` (same pods, adopted), beside containerd's own CPU per second with
  the same pods and no fastpod.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import psutil
from cri_api.v1 import api_pb2 as cri_pb

from bench.macro.cri_client import (
    MANAGED,
    TIMEOUT,
    Cri,
    Fastpod,
    Options,
    RawPod,
    bounded,
    containerd_process,
    cpu_seconds,
    raw_pod,
    wait_running,
    write_pods,
)
from bench.macro.pipeline import Result
from fastpod.runtime.labels import POD_UID

GRPC_DEFAULT_MAX_RECEIVE = 4 << 20
"""What a gRPC client accepts in one reply unless its channel says otherwise."""
IDLE_SETTLE = 5.0
"""Seconds between all pods running and the idle window: first syncs and watches done."""
IDLE_WINDOW = 20.0
"""Seconds the idle CPU is measured over: two of the default resync periods."""


async def _measured(
    calls: dict[str, Callable[[], Awaitable[object]]], rounds: int, containerd: psutil.Process
) -> dict[str, tuple[float, float]]:
    """Each of ``calls`` made ``rounds`` times, taking turns so that whatever else containerd
    is doing falls on all of them alike (after one round to warm up): the median wall time
    and the median containerd CPU of each (s)."""
    for call in calls.values():
        await call()
    walls: dict[str, list[float]] = {name: [] for name in calls}
    servers: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            server = cpu_seconds(containerd)
            started = time.perf_counter()
            await call()
            walls[name].append(time.perf_counter() - started)
            servers[name].append(cpu_seconds(containerd) - server)
    return {
        name: (statistics.median(walls[name]), statistics.median(servers[name])) for name in calls
    }


async def scenario_relist(cri: Cri, options: Options, root: str) -> list[Result]:
    listings = options.samples or 20
    per_sandbox = max(1, options.per_sandbox)
    sandboxes = -(-options.containers // per_sandbox)
    total = sandboxes * per_sandbox
    containerd = containerd_process(cri.socket)
    await cri.remove_all()
    logs = os.path.join(root, "raw-logs")
    try:
        pods = [raw_pod(f"relist-{index:04d}", logs, per_sandbox) for index in range(sandboxes)]

        async def fill(pod: RawPod) -> tuple[str, list[str]]:
            sandbox_id = await cri.run_sandbox(pod.sandbox)
            configs = [pod.container(index) for index in range(per_sandbox)]
            return sandbox_id, [await cri.create_start(sandbox_id, pod.sandbox, c) for c in configs]

        began = time.perf_counter()
        (first, first_containers), *_ = await bounded(8, (fill(pod) for pod in pods))
        listed = len(await cri.containers(MANAGED, running_only=True))
        if listed != total:
            raise RuntimeError(f"{listed} containers run, not {total}")
        print(
            f"# relist: {sandboxes} sandboxes x {per_sandbox} containers running "
            f"(set up in {time.perf_counter() - began:.0f} s); containerd pid {containerd.pid}",
            flush=True,
        )
        await asyncio.sleep(2.0)
        runtime = cri.runtime

        def listing_of(selector: dict[str, str]) -> Callable[[], Awaitable[None]]:
            sandboxes = cri_pb.ListPodSandboxRequest(
                filter=cri_pb.PodSandboxFilter(label_selector=selector)
            )
            containers = cri_pb.ListContainersRequest(
                filter=cri_pb.ContainerFilter(label_selector=selector)
            )

            async def both() -> None:
                await runtime.ListPodSandbox(sandboxes, timeout=TIMEOUT)
                await runtime.ListContainers(containers, timeout=TIMEOUT)

            return both

        async def by_id() -> None:
            await asyncio.gather(
                runtime.PodSandboxStatus(
                    cri_pb.PodSandboxStatusRequest(pod_sandbox_id=first), timeout=TIMEOUT
                ),
                *(
                    runtime.ContainerStatus(
                        cri_pb.ContainerStatusRequest(container_id=i), timeout=TIMEOUT
                    )
                    for i in first_containers
                ),
            )

        size = (
            await runtime.ListContainers(
                cri_pb.ListContainersRequest(filter=cri_pb.ContainerFilter(label_selector=MANAGED)),
                timeout=TIMEOUT,
            )
        ).ByteSize()
        one_pod = {**MANAGED, POD_UID: pods[0].pod.metadata.uid or ""}
        measured = await _measured(
            {"relist": listing_of({}), "by id": by_id, "by listing": listing_of(one_pod)},
            listings,
            containerd,
        )
    finally:
        await cri.remove_all()
    print(
        f"# relist: one reply of {total:,} containers is {size / 1024:.0f} KiB: a gRPC channel's "
        f"default 4 MiB limit on a received message is reached at about "
        f"{GRPC_DEFAULT_MAX_RECEIVE * total // max(size, 1):,} such containers",
        flush=True,
    )
    wall, server = measured["relist"]
    sync_wall, sync_server = measured["by id"]
    listing_wall, listing_server = measured["by listing"]
    return [
        Result(
            f"relist of {total:,} containers: wall p50",
            wall * 1000,
            "ms",
            "one pod's sync, by id: wall p50",
            sync_wall * 1000,
            "(informative)",
        ),
        Result(
            "relist every 100 ms (fast): containerd CPU/s",
            server * 10 * 1000,
            "ms",
            "relist every 1 s (default): CPU/s",
            server * 1000,
            "once per node (worker 0 lists for all)",
        ),
        Result(
            f"one pod's sync, by id: containerd CPU ({total:,})",
            sync_server * 1000,
            "ms",
            "same pod by filtered listings",
            listing_server * 1000,
            "(what each sync cost before)",
        ),
        Result(
            "one pod's sync, by id: wall p50",
            sync_wall * 1000,
            "ms",
            "same pod by filtered listings",
            listing_wall * 1000,
            "(informative)",
        ),
    ]


async def _cpu_per_second(processes: list[psutil.Process]) -> list[float]:
    """Each process's CPU seconds per second over :data:`IDLE_WINDOW`."""
    before = [cpu_seconds(process) for process in processes]
    await asyncio.sleep(IDLE_WINDOW)
    after = [cpu_seconds(process) for process in processes]
    return [(end - start) / IDLE_WINDOW for start, end in zip(before, after, strict=True)]


async def scenario_idle(cri: Cri, options: Options, root: str) -> list[Result]:
    count = options.samples or 200
    containerd = containerd_process(cri.socket)
    await cri.remove_all()
    directory = os.path.join(root, "idle")
    write_pods(directory, count)
    figures: dict[str, tuple[float, float]] = {}
    try:
        for name, extra in (("default", ()), ("fast", ("--profile", "fast"))):
            fastpod = Fastpod(options, directory, root, f"idle-{name}", *extra)
            try:
                await wait_running(cri, count, poll=0.5)
                await asyncio.sleep(IDLE_SETTLE)
                fastpod.check()
                ours = fastpod.processes()
                server, *clients = await _cpu_per_second([containerd, *ours])
                figures[name] = (server, sum(clients))
            finally:
                fastpod.stop()  # the pods keep running, as the kubelet leaves them
        await asyncio.sleep(IDLE_SETTLE)
        (alone,) = await _cpu_per_second([containerd])
    finally:
        await cri.remove_all()
    results = []
    for name, (server, client) in figures.items():
        results += [
            Result(
                f"idle {count} pods ({name}): containerd CPU/s",
                server * 1000,
                "ms",
                "containerd, same pods, no fastpod",
                alone * 1000,
                "(informative)",
            ),
            Result(
                f"idle {count} pods ({name}): fastpod CPU/s",
                client * 1000,
                "ms",
                "containerd's CPU/s it causes",
                (server - alone) * 1000,
                "(informative)",
            ),
        ]
    return results
