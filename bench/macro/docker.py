"""Macro benchmarks of fastpod on a real Docker Engine, each beside a peer from the same run.

    python -m bench.macro.docker              # restart, cold, idle
    python -m bench.macro.docker restart

- ``restart``: a container's process dies (SIGKILL from the host) → its replacement is
  running, from the Engine's own ``die`` and ``start`` event times; fastpod's first restarts
  beside Docker's ``restart: always`` on the same image, and a bare create + start.
- ``cold``: 200 single-container pods from a cold manifest directory to all running, beside
  the same Engine calls made directly at the same concurrency.
- ``idle``: CPU of fastpod's processes per minute with 200 pods running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import psutil

from bench.macro.pipeline import Result, fastpod_command

BUSYBOX = "fastpod.local/busybox:1.36"
PAUSE = "registry.k8s.io/pause:3.10"
BENCH_LABEL = "io.fastpod.bench"
SOCKET = "/var/run/docker.sock"


def docker(*arguments: str) -> str:
    return subprocess.run(["docker", *arguments], check=True, capture_output=True, text=True).stdout


def clean() -> None:
    for label in ("io.fastpod.managed=true", f"{BENCH_LABEL}=1"):
        ids = docker("ps", "-aq", "--filter", f"label={label}").split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def pod_manifest(name: str) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sleep", "100000"]
"""


class Engine:
    """Raw Engine API calls and its event stream, for measuring."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(
            "http://docker", connector=aiohttp.UnixConnector(path=SOCKET, limit=128)
        )

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        async with self.session.request(method, path, json=body) as reply:
            text = await reply.text()
            if reply.status >= 400:
                raise RuntimeError(f"{method} {path}: {reply.status} {text}")
            return json.loads(text) if text else None

    async def run(self, body: dict[str, Any]) -> str:
        created = await self.call("POST", "/containers/create", body)
        await self.call("POST", f"/containers/{created['Id']}/start")
        return str(created["Id"])

    async def events(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        filters = json.dumps({"type": ["container"], "event": ["die", "start"]})
        async with self.session.get(
            "/events", params={"filters": filters}, timeout=aiohttp.ClientTimeout(total=None)
        ) as reply:
            async for line in reply.content:
                if line.strip():
                    await queue.put(json.loads(line))

    async def close(self) -> None:
        await self.session.close()


async def _restart_latencies(
    engine: Engine, container_of: Callable[[], list[str]], samples: int, label: str
) -> list[float]:
    """Kill the process of one container per sample; die → next start of that pod, in s."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    follower = asyncio.create_task(engine.events(queue))
    await asyncio.sleep(0.3)
    latencies = []
    try:
        for container_id in container_of()[:samples]:
            info = await engine.call("GET", f"/containers/{container_id}/json")
            key = info["Config"]["Labels"].get(label, container_id)
            os.kill(info["State"]["Pid"], signal.SIGKILL)
            died = None
            while True:
                event = await asyncio.wait_for(queue.get(), 30)
                attributes = event["Actor"]["Attributes"]
                if attributes.get(label, event["id"]) != key:
                    continue
                if event["Action"] == "die" and died is None:
                    died = event["timeNano"]
                elif event["Action"] == "start" and died is not None:
                    latencies.append((event["timeNano"] - died) / 1e9)
                    break
    finally:
        follower.cancel()
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class Fastpod:
    """``fastpod run --runtime docker`` over a directory, until stopped."""

    def __init__(self, directory: str, root: str) -> None:
        self.process = subprocess.Popen(
            fastpod_command(
                "docker",
                directory,
                "--root-dir",
                os.path.join(root, "root"),
                "--pod-logs-dir",
                os.path.join(root, "logs", "pods"),
            ),
            stderr=subprocess.DEVNULL,
        )

    def processes(self) -> list[psutil.Process]:
        supervisor = psutil.Process(self.process.pid)
        return [supervisor, *supervisor.children(recursive=True)]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(10)


def _write_pods(directory: str, count: int) -> None:
    os.makedirs(directory, exist_ok=True)
    for index in range(count):
        with open(os.path.join(directory, f"pod-{index:03d}.yaml"), "w") as file:
            file.write(pod_manifest(f"pod-{index:03d}"))


async def _pods_running(count: int, poll: float = 0.2, timeout: float = 300) -> None:
    """Wait until ``count`` pod containers run (sandboxes not counted)."""
    deadline = time.monotonic() + timeout
    while len(_running("io.kubernetes.docker.type=container")) < count:
        assert time.monotonic() < deadline, "pods did not come up"
        await asyncio.sleep(poll)


def _running(label: str) -> list[str]:
    return docker("ps", "-q", "--no-trunc", "--filter", f"label={label}").split()


async def scenario_restart(root: str) -> list[Result]:
    samples = 50
    clean()
    directory = os.path.join(root, "restart")
    _write_pods(directory, samples)
    engine = Engine()
    fastpod = Fastpod(directory, root)
    try:
        await _pods_running(samples)
        ours = await _restart_latencies(
            engine,
            lambda: _running("io.kubernetes.docker.type=container"),
            samples,
            "io.kubernetes.pod.uid",
        )
    finally:
        fastpod.stop()
        clean()
    try:
        body = {
            "Image": BUSYBOX,
            "Cmd": ["sleep", "100000"],
            "Labels": {BENCH_LABEL: "1"},
            "HostConfig": {"NetworkMode": "none", "RestartPolicy": {"Name": "always"}},
        }
        await asyncio.gather(*(engine.run(body) for _ in range(samples)))
        theirs = await _restart_latencies(engine, lambda: _running(f"{BENCH_LABEL}=1"), samples, "")
        clean()
        sandbox = await engine.run(
            {
                "Image": PAUSE,
                "Labels": {BENCH_LABEL: "1"},
                "HostConfig": {"NetworkMode": "none", "IpcMode": "shareable"},
            }
        )
        bare = []
        for _ in range(samples):
            started = time.perf_counter()
            await engine.run(
                {
                    "Image": BUSYBOX,
                    "Cmd": ["sleep", "100000"],
                    "Labels": {BENCH_LABEL: "1"},
                    "HostConfig": {
                        "NetworkMode": f"container:{sandbox}",
                        "IpcMode": f"container:{sandbox}",
                    },
                }
            )
            bare.append(time.perf_counter() - started)
    finally:
        clean()
        await engine.close()
    return [
        Result(
            "restart: exit → running, fastpod p50",
            statistics.median(ours) * 1000,
            "ms",
            "Docker restart: always, p50",
            statistics.median(theirs) * 1000,
            "p50 <= Docker's",
        ),
        Result(
            "restart: exit → running, fastpod p99",
            _percentile(ours, 0.99) * 1000,
            "ms",
            "Docker restart: always, p99",
            _percentile(theirs, 0.99) * 1000,
            "(informative)",
        ),
        Result(
            "restart: exit → running, fastpod p50",
            statistics.median(ours) * 1000,
            "ms",
            "bare create+start in a sandbox, p50",
            statistics.median(bare) * 1000,
            "<= floor + 25 ms",
        ),
    ]


async def scenario_cold(root: str) -> list[Result]:
    count = 200
    clean()
    directory = os.path.join(root, "cold")
    _write_pods(directory, count)
    started = time.perf_counter()
    fastpod = Fastpod(directory, root)
    try:
        await _pods_running(count, poll=0.05)
        ours = time.perf_counter() - started
    finally:
        fastpod.stop()
        clean()
    engine = Engine()
    try:

        async def one_pod(index: int) -> None:
            sandbox = await engine.run(
                {
                    "Image": PAUSE,
                    "Labels": {BENCH_LABEL: "1"},
                    "Hostname": f"pod-{index}",
                    "HostConfig": {"NetworkMode": "none", "IpcMode": "shareable"},
                }
            )
            await engine.run(
                {
                    "Image": BUSYBOX,
                    "Cmd": ["sleep", "100000"],
                    "Labels": {BENCH_LABEL: "1"},
                    "HostConfig": {
                        "NetworkMode": f"container:{sandbox}",
                        "IpcMode": f"container:{sandbox}",
                    },
                }
            )

        started = time.perf_counter()
        await asyncio.gather(*(one_pod(index) for index in range(count)))
        raw = time.perf_counter() - started
    finally:
        clean()
        await engine.close()
    return [
        Result(
            "200 pods cold → all running, fastpod",
            ours,
            "s",
            "raw Engine calls, same work, concurrent",
            raw,
            "<= 1.15x",
        )
    ]


async def scenario_idle(root: str) -> list[Result]:
    count = 200
    clean()
    directory = os.path.join(root, "idle")
    _write_pods(directory, count)
    fastpod = Fastpod(directory, root)
    try:
        await _pods_running(count)
        await asyncio.sleep(3)
        processes = fastpod.processes()
        before = [sum(p.cpu_times()[:2]) for p in processes]
        await asyncio.sleep(30)
        after = [sum(p.cpu_times()[:2]) for p in processes]
    finally:
        fastpod.stop()
        clean()
    per_minute = (sum(after) - sum(before)) * 2
    supervisor = (after[0] - before[0]) * 2
    return [
        Result(
            "idle, 200 pods: all processes CPU/minute",
            per_minute,
            "s",
            "supervisor alone, CPU/minute",
            supervisor,
            "(informative)",
        )
    ]


SCENARIOS = {"restart": scenario_restart, "cold": scenario_cold, "idle": scenario_idle}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=[])
    names = parser.parse_args().scenarios or list(SCENARIOS)
    root = tempfile.mkdtemp(prefix="fastpod-docker-bench-")

    async def run() -> None:
        for name in names:
            for result in await SCENARIOS[name](root):
                print(result.line(), flush=True)

    asyncio.run(run())


if __name__ == "__main__":
    main()
