"""Macro benchmarks of fastpod on containerd through the CRI, each beside a floor or a peer.

    scripts/containerd-up && python -m bench.macro.cri          # restart, cold, relist
    python -m bench.macro.cri restart --socket /run/other/containerd.sock --docker-samples 0

- ``restart``: a container's process SIGKILLed from the host → its replacement running, from
  containerd's own timestamps (the dead container's ``finished_at``, the replacement's
  ``started_at``); 50 pods, one first restart each. fastpod on the CRI beside the floor (a
  loop of raw CRI calls that polls ContainerStatus every 2 ms, then creates and starts the
  replacement in the same sandbox; its 50 pods run beside fastpod's and the two take turns,
  so both see the same machine) and beside fastpod on Docker and Docker's own
  ``restart: always``, measured by :mod:`bench.macro.docker` in the same run.
- ``cold``: 200 single-container pods from a cold manifest directory to all running on the
  CRI, beside the same CRI calls (RunPodSandbox, CreateContainer, StartContainer) made
  directly, all at once.
- ``relist``: what the fallback relist of containerd 1.6 costs with 1,000 containers (100
  sandboxes x 10): the wall time of one ``ListContainers`` filtered by
  ``io.fastpod.managed=true`` and containerd's CPU per listing, and so per second at the
  ``fast`` profile's 100 ms and the default 1 s.

The raw calls send the very requests fastpod sends (its own ``sandbox_config`` and
``container_config`` of the same manifests), so a gap is fastpod's work, not a different
config (the raw pods of ``restart`` and ``cold`` are labelled ``io.fastpod.bench=1`` instead
of ``io.fastpod.managed=true``, so that a fastpod beside them leaves them alone). Everything
runs against one containerd (``--socket``); every sandbox with either label there is removed
before and after each scenario, also on failure. Targets are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
import grpc.aio
import psutil
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

from bench.macro import docker as docker_bench
from bench.macro.pipeline import NODE, Result, fastpod_command
from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod, PodSource
from fastpod.runtime.cri_config import container_config, pod_log_directory, sandbox_config
from fastpod.runtime.labels import MANAGED_BY, POD_UID, sandbox_labels
from fastpod.runtime.spec import PodContext, container_spec

SOCKET = "/run/fastpod-containerd/containerd.sock"
BUSYBOX = "fastpod.local/busybox:1.36"
MANAGED = {MANAGED_BY: "true"}
BENCH = {"io.fastpod.bench": "1"}
RUNNING = cri_pb.ContainerState.CONTAINER_RUNNING
TIMEOUT = 60.0
FLOOR_POLL = 0.002
"""How often the floor's loop asks whether its container has died: the fastest a client
can notice a death on containerd 1.6, which has no event stream."""
OBSERVER_POLL = 0.02
"""How often the bench looks for fastpod's replacement (the figure comes from containerd's
timestamps, not from when the bench sees it: slower polling only loads containerd less)."""
SETTLE = 3.0
"""Seconds to let containerd finish the removals before a timed phase (shims exiting,
snapshots and network namespaces going away)."""
GAP = 0.2
"""Pause between two kills, so that one restart's aftermath does not overlap the next."""
GRPC_DEFAULT_MAX_RECEIVE = 4 << 20
"""What a gRPC client accepts in one reply unless its channel says otherwise."""
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
        config = container_config(self.pod, spec, restart_count)
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
            f"unix://{socket}", options=[("grpc.max_receive_message_length", 256 << 20)]
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

    def __init__(self, options: Options, directory: str, root: str, name: str) -> None:
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
            ),
            stderr=self._log,
        )

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


# --- restart ---------------------------------------------------------------------------------


def _ms(values: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds (the p99 as bench.macro.docker takes it)."""
    return statistics.median(values) * 1000, docker_bench._percentile(values, 0.99) * 1000


async def fastpod_sample(cri: Cri, fastpod: Fastpod, old: cri_pb.Container) -> float:
    """Kill a container fastpod runs; its finished_at → its replacement's started_at, in s."""
    fastpod.check()
    os.kill(await cri.pid(old.id), signal.SIGKILL)
    selector = {**MANAGED, POD_UID: old.labels[POD_UID]}
    deadline = time.monotonic() + 30
    while True:
        await asyncio.sleep(OBSERVER_POLL)
        items = await cri.containers(selector)
        new = [item for item in items if item.id != old.id and item.state == RUNNING]
        if new:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"fastpod did not replace {old.id[:12]} within 30 s")
    finished = (await cri.status(old.id)).status.finished_at
    started = (await cri.status(new[0].id)).status.started_at
    return float(started - finished) / 1e9


async def floor_sample(cri: Cri, pod: RawPod, sandbox_id: str, container_id: str) -> float:
    """Kill a raw container, poll ContainerStatus every 2 ms until containerd shows it dead,
    then create and start its replacement in the same sandbox; finished_at → started_at, s."""
    os.kill(await cri.pid(container_id), signal.SIGKILL)
    while (await cri.status(container_id)).status.state == RUNNING:
        await asyncio.sleep(FLOOR_POLL)
    replacement = await cri.create_start(sandbox_id, pod.sandbox, pod.container(0, 1))
    finished = (await cri.status(container_id)).status.finished_at
    started = (await cri.status(replacement)).status.started_at
    return float(started - finished) / 1e9


async def cri_restarts(
    cri: Cri, options: Options, root: str, samples: int
) -> tuple[list[float], list[float]]:
    """fastpod's first restarts and the floor's, one of each in turn (which goes first
    alternates), so that both see the same machine; in s."""
    logs = os.path.join(root, "raw-logs")
    pods = [raw_pod(f"raw-{index:03d}", logs, managed=False) for index in range(samples)]

    async def up(pod: RawPod) -> tuple[str, str]:
        sandbox_id = await cri.run_sandbox(pod.sandbox)
        return sandbox_id, await cri.create_start(sandbox_id, pod.sandbox, pod.container())

    raw = await bounded(8, (up(pod) for pod in pods))
    directory = os.path.join(root, "restart")
    write_pods(directory, samples)
    fastpod = Fastpod(options, directory, root, "restart")
    ours: list[float] = []
    floor: list[float] = []
    try:
        await wait_running(cri, samples, poll=0.2)
        await asyncio.sleep(1.0)  # the starts' aftermath: log links, pidfd watches
        first = sorted(
            await cri.containers(MANAGED, running_only=True), key=lambda item: item.labels[POD_UID]
        )
        for index, (old, pod, (sandbox_id, container_id)) in enumerate(
            zip(first, pods, raw, strict=True)
        ):
            for turn in (index % 2, 1 - index % 2):
                if turn == 0:
                    ours.append(await fastpod_sample(cri, fastpod, old))
                else:
                    floor.append(await floor_sample(cri, pod, sandbox_id, container_id))
                await asyncio.sleep(GAP)
    finally:
        fastpod.stop()
    return ours, floor


async def docker_restarts(root: str, samples: int) -> tuple[list[float], list[float]]:
    """fastpod on Docker and Docker's ``restart: always``, by bench.macro.docker's own
    measure (the Engine's die → start event times), in s."""
    docker = docker_bench
    docker.clean()
    directory = os.path.join(root, "docker-restart")
    docker._write_pods(directory, samples)
    engine = docker.Engine()
    try:
        fastpod = docker.Fastpod(directory, root)
        try:
            await docker._pods_running(samples)
            ours = await docker._restart_latencies(
                engine,
                lambda: docker._running("io.kubernetes.docker.type=container"),
                samples,
                "io.kubernetes.pod.uid",
            )
        finally:
            fastpod.stop()
            docker.clean()
        # as bench.macro.docker.scenario_restart runs Docker's own restart policy
        body = {
            "Image": docker.BUSYBOX,
            "Cmd": ["sleep", "100000"],
            "Labels": {docker.BENCH_LABEL: "1"},
            "HostConfig": {"NetworkMode": "none", "RestartPolicy": {"Name": "always"}},
        }
        await asyncio.gather(*(engine.run(body) for _ in range(samples)))
        theirs = await docker._restart_latencies(
            engine, lambda: docker._running(f"{docker.BENCH_LABEL}=1"), samples, ""
        )
    finally:
        docker.clean()
        await engine.close()
    return ours, theirs


async def scenario_restart(cri: Cri, options: Options, root: str) -> list[Result]:
    samples = options.samples or 50
    docker_samples = samples if options.docker_samples is None else options.docker_samples
    await cri.remove_all()
    try:
        ours, floor = await cri_restarts(cri, options, root, samples)
    finally:
        await cri.remove_all()
    ours_p50, ours_p99 = _ms(ours)
    floor_p50, floor_p99 = _ms(floor)
    results = [
        Result(
            f"restart on CRI: exit → running, fastpod p50/{len(ours)}",
            ours_p50,
            "ms",
            "raw CRI poll 2 ms + create+start, p50",
            floor_p50,
            f"<= floor + 15 ms (here {ours_p50 - floor_p50:+.1f} ms)",
        ),
        Result(
            "restart on CRI: exit → running, fastpod p99",
            ours_p99,
            "ms",
            "raw CRI poll 2 ms + create+start, p99",
            floor_p99,
            "(informative)",
        ),
    ]
    if docker_samples:
        docker_ours, docker_theirs = await docker_restarts(root, docker_samples)
        docker_ours_p50, docker_ours_p99 = _ms(docker_ours)
        theirs_p50, theirs_p99 = _ms(docker_theirs)
        results += [
            Result(
                "restart on CRI: exit → running, fastpod p50",
                ours_p50,
                "ms",
                f"Docker restart: always, p50/{len(docker_theirs)}",
                theirs_p50,
                "ratio <= 0.33 (3x faster)",
            ),
            Result(
                "restart on CRI: exit → running, fastpod p99",
                ours_p99,
                "ms",
                "Docker restart: always, p99",
                theirs_p99,
                "(informative)",
            ),
            Result(
                "restart: raw CRI floor (as above), p50",
                floor_p50,
                "ms",
                "Docker restart: always, p50",
                theirs_p50,
                "(informative: what any CRI client reaches)",
            ),
            Result(
                "restart on CRI: exit → running, fastpod p50",
                ours_p50,
                "ms",
                f"fastpod on Docker, p50/{len(docker_ours)}",
                docker_ours_p50,
                "(informative)",
            ),
            Result(
                "restart on CRI: exit → running, fastpod p99",
                ours_p99,
                "ms",
                "fastpod on Docker, p99",
                docker_ours_p99,
                "(informative)",
            ),
        ]
    return results


# --- cold ------------------------------------------------------------------------------------


async def scenario_cold(cri: Cri, options: Options, root: str) -> list[Result]:
    count = options.samples or 200
    await cri.remove_all()
    directory = os.path.join(root, "cold")
    write_pods(directory, count)
    await asyncio.sleep(SETTLE)
    try:
        started = time.perf_counter()
        fastpod = Fastpod(options, directory, root, "cold")
        try:
            await wait_running(cri, count, poll=0.05)
            ours = time.perf_counter() - started
        finally:
            fastpod.stop()
        await cri.remove_all()
        await asyncio.sleep(SETTLE)

        logs = os.path.join(root, "raw-logs")
        pods = [raw_pod(f"raw-{index:03d}", logs, managed=False) for index in range(count)]
        configs = [pod.container() for pod in pods]

        async def one_pod(pod: RawPod, config: cri_pb.ContainerConfig) -> None:
            sandbox_id = await cri.run_sandbox(pod.sandbox)
            await cri.create_start(sandbox_id, pod.sandbox, config)

        started = time.perf_counter()
        await asyncio.gather(
            *(one_pod(pod, config) for pod, config in zip(pods, configs, strict=True))
        )
        raw = time.perf_counter() - started
    finally:
        await cri.remove_all()
    return [
        Result(
            f"{count} pods cold → all running on CRI, fastpod",
            ours,
            "s",
            "raw CRI calls, same requests, all at once",
            raw,
            "<= 1.15x",
        )
    ]


# --- relist ----------------------------------------------------------------------------------


async def _listings(
    cri: Cri, selector: dict[str, str], count: int, containerd: psutil.Process
) -> tuple[list[float], float, float, int]:
    """``count`` listings one after another: their wall times, containerd's CPU and this
    process's CPU per listing (s), and the reply's size (bytes)."""
    request = cri_pb.ListContainersRequest(filter=cri_pb.ContainerFilter(label_selector=selector))
    reply = await cri.runtime.ListContainers(request, timeout=TIMEOUT)  # warm
    walls = []
    server, client = cpu_seconds(containerd), time.process_time()
    for _ in range(count):
        started = time.perf_counter()
        reply = await cri.runtime.ListContainers(request, timeout=TIMEOUT)
        walls.append(time.perf_counter() - started)
    server = (cpu_seconds(containerd) - server) / count
    client = (time.process_time() - client) / count
    return walls, server, client, reply.ByteSize()


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

        async def fill(pod: RawPod) -> None:
            sandbox_id = await cri.run_sandbox(pod.sandbox)
            for index in range(per_sandbox):
                await cri.create_start(sandbox_id, pod.sandbox, pod.container(index))

        began = time.perf_counter()
        await bounded(8, (fill(pod) for pod in pods))
        listed = len(await cri.containers(MANAGED, running_only=True))
        if listed != total:
            raise RuntimeError(f"{listed} containers run, not {total}")
        print(
            f"# relist: {sandboxes} sandboxes x {per_sandbox} containers running "
            f"(set up in {time.perf_counter() - began:.0f} s); containerd pid {containerd.pid}",
            flush=True,
        )
        await asyncio.sleep(2.0)
        walls, server, client, size = await _listings(cri, MANAGED, listings, containerd)
        # what each pod's sync asks (fastpod's list_containers(uid)): containerd 1.6
        # converts every container it has before it filters, so this too grows with the node
        one_pod = {**MANAGED, POD_UID: pods[0].pod.metadata.uid or ""}
        pod_walls, pod_server, _, _ = await _listings(cri, one_pod, listings, containerd)
    finally:
        await cri.remove_all()
    print(
        f"# relist: one reply of {total:,} containers is {size / 1024:.0f} KiB: a gRPC channel's "
        f"default 4 MiB limit on a received message is reached at about "
        f"{GRPC_DEFAULT_MAX_RECEIVE * total // max(size, 1):,} such containers",
        flush=True,
    )
    return [
        Result(
            f"relist: ListContainers, {total:,} containers, p50",
            statistics.median(walls) * 1000,
            "ms",
            f"one pod's ListContainers ({per_sandbox}), p50",
            statistics.median(pod_walls) * 1000,
            "(informative)",
        ),
        Result(
            f"relist: containerd CPU per listing of {total:,}",
            server * 1000,
            "ms",
            "per listing of one pod's",
            pod_server * 1000,
            "(informative)",
        ),
        Result(
            f"relist: client CPU per listing of {total:,}",
            client * 1000,
            "ms",
            "containerd CPU per listing",
            server * 1000,
            "(informative)",
        ),
        Result(
            "relist every 100 ms (fast): containerd CPU/s",
            server * 10 * 1000,
            "ms",
            "relist every 1 s (default): CPU/s",
            server * 1000,
            "per worker (each lists all)",
        ),
        Result(
            f"est. {total:,} pods' syncs, resync 1 s (fast): CPU/s",
            pod_server * total * 1000,
            "ms",
            "resync 10 s (default): CPU/s",
            pod_server * total / 10 * 1000,
            "(ListContainers(uid) alone, lower bound)",
        ),
    ]


# --- main ------------------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[[Cri, Options, str], Awaitable[list[Result]]]] = {
    "restart": scenario_restart,
    "cold": scenario_cold,
    "relist": scenario_relist,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="|".join(SCENARIOS))
    parser.add_argument("--socket", default=SOCKET, help=f"containerd's socket (default {SOCKET})")
    parser.add_argument(
        "--samples",
        type=int,
        help="restart: pods, one restart each (50); cold: pods (200); relist: listings (20)",
    )
    parser.add_argument(
        "--docker-samples",
        type=int,
        help="restart: pods on Docker for the Docker peers (default --samples; 0: skip Docker)",
    )
    parser.add_argument(
        "--containers", type=int, default=1000, help="relist: containers (default 1000)"
    )
    parser.add_argument(
        "--per-sandbox", type=int, default=10, help="relist: containers per sandbox (default 10)"
    )
    parser.add_argument(
        "--fastpod-args", default="", help="more flags for fastpod run, e.g. '--profile fast'"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    arguments = parser.parse_args()
    unknown = [name for name in arguments.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    names = arguments.scenarios or list(SCENARIOS)
    options = Options(
        arguments.socket,
        arguments.samples,
        arguments.docker_samples,
        arguments.containers,
        arguments.per_sandbox,
        shlex.split(arguments.fastpod_args),
    )
    root = tempfile.mkdtemp(prefix="fastpod-cri-bench-")

    async def run() -> None:
        cri = Cri(options.socket)
        try:
            print(f"# {await cri.version()} on {options.socket}", flush=True)
            for name in names:
                for result in await SCENARIOS[name](cri, options, root):
                    print(result.line(), flush=True)
        finally:
            await cri.close()

    try:
        asyncio.run(run())
    except grpc.aio.AioRpcError as error:
        raise SystemExit(f"bench.macro.cri: {error.code().name}: {error.details()}") from None
    finally:
        if arguments.keep:
            print(f"# work directory kept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
