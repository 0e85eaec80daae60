"""What the macro benchmarks share on a real Docker Engine: its client, a ``fastpod run`` on
it, the pods, and the restart measure from the Engine's own ``die`` and ``start`` event
times (:mod:`bench.macro.cri` sets fastpod on containerd beside Docker's ``restart:
always`` with it).

The Docker scenarios this module ran (restart, cold start, idle CPU) are ``fastpod bench
restart|startup|density --runtime docker``, each beside the Engine API's floor (and
Docker's restart policy, for restart), written by ``make bench`` (scripts/bench-reports).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import psutil

from bench.macro.pipeline import fastpod_command, fastpod_environment

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
            env=fastpod_environment(),
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
