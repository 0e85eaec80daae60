"""Macro benchmarks of fastpod on containerd through the CRI, each beside a floor or a peer.

    scripts/containerd-up && python -m bench.macro.cri      # restart, cold, relist, idle
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
- ``relist`` and ``idle`` (:mod:`bench.macro.cri_relist`): what watching containerd costs —
  fastpod's relist of 1,000 containers (``ListPodSandbox`` + ``ListContainers``), and one
  pod's status reads by id beside the filtered listings they replaced; and the CPU a node
  of 200 idle pods costs containerd and fastpod per second, at the default and the ``fast``
  profile, beside containerd's own with no fastpod.

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
import os
import shlex
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import grpc
import grpc.aio
from cri_api.v1 import api_pb2 as cri_pb

from bench.macro import docker as docker_bench
from bench.macro.cri_client import (
    MANAGED,
    RUNNING,
    SETTLE,
    SOCKET,
    Cri,
    Fastpod,
    Options,
    RawPod,
    bounded,
    raw_pod,
    wait_running,
    write_pods,
)
from bench.macro.cri_relist import scenario_idle, scenario_relist
from bench.macro.pipeline import Result
from fastpod.runtime.labels import POD_UID
from tests.support.engine_lock import engines_held

FLOOR_POLL = 0.002
"""How often the floor's loop asks whether its container has died: the fastest a client
can notice a death on containerd 1.6, which has no event stream."""
OBSERVER_POLL = 0.02
"""How often the bench looks for fastpod's replacement (the figure comes from containerd's
timestamps, not from when the bench sees it: slower polling only loads containerd less)."""
GAP = 0.2
"""Pause between two kills, so that one restart's aftermath does not overlap the next."""


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
        # Docker's own restart policy, on the same image
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


# --- main ------------------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[[Cri, Options, str], Awaitable[list[Result]]]] = {
    "restart": scenario_restart,
    "cold": scenario_cold,
    "relist": scenario_relist,
    "idle": scenario_idle,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="|".join(SCENARIOS))
    parser.add_argument("--socket", default=SOCKET, help=f"containerd's socket (default {SOCKET})")
    parser.add_argument(
        "--samples",
        type=int,
        help="restart: pods, one restart each (50); cold, idle: pods (200); relist: rounds (20)",
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
        # it clears every fastpod pod in containerd and Docker: not under an engine test
        with engines_held():
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
