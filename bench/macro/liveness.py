"""A failing liveness probe → the replacement running, beside a crash of the same pods.

    python -m bench.macro.liveness [--samples 20]

fastpod runs twice ``samples`` pods on Docker, each with an ``exec`` liveness probe
(``cat /tmp/healthy``, period 1 s, failure threshold 1) and a process that leaves at once
on SIGTERM. Half of them are made unhealthy (``docker exec rm /tmp/healthy``): from then to
the Engine's ``start`` of the replacement. The other half crash (SIGKILL from the host):
from the Engine's ``die`` to that ``start``. Each pod restarts once, so no back-off is in
either figure. Target (issue 13): the liveness p50 and p99 within one probe period plus
the crash restart's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import tempfile
import time
from typing import Any

from bench.macro.docker import BUSYBOX, Engine, Fastpod, clean, docker
from bench.macro.pipeline import Result
from tests.support.engine_lock import engines_held

PERIOD = 1.0
COMMAND = "trap 'exit 0' TERM; touch /tmp/healthy; sleep 100000 & wait"


def probed_manifest(name: str) -> str:
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
    command: ["sh", "-c", "{COMMAND}"]
    livenessProbe:
      exec: {{command: [cat, /tmp/healthy]}}
      periodSeconds: {int(PERIOD)}
      failureThreshold: 1
"""


def _main_containers() -> dict[str, str]:
    """Pod name → its running main container's id."""
    lines = docker(
        "ps",
        "--no-trunc",
        "--filter",
        "label=io.kubernetes.container.name=main",
        "--format",
        '{{.ID}} {{.Label "io.kubernetes.pod.name"}}',
    ).split("\n")
    return {pod: cid for cid, pod in (line.split() for line in lines if line.strip())}


async def _until_running(count: int, timeout: float = 120) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while len(running := _main_containers()) < count:
        assert time.monotonic() < deadline, "pods did not come up"
        await asyncio.sleep(0.2)
    return running


async def _replacements(engine: Engine, pods: dict[str, str], fault: str) -> list[float]:
    """Per pod, one ``fault`` (``unhealthy`` or ``crash``) → its replacement's start, in s."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    follower = asyncio.create_task(engine.events(queue))
    await asyncio.sleep(0.3)
    latencies = []
    try:
        for pod, container_id in pods.items():
            if fault == "unhealthy":
                docker("exec", container_id, "rm", "/tmp/healthy")
                began: float | None = time.time()
            else:
                info = await engine.call("GET", f"/containers/{container_id}/json")
                os.kill(info["State"]["Pid"], signal.SIGKILL)
                began = None
            while True:
                event = await asyncio.wait_for(queue.get(), 30)
                attributes = event["Actor"]["Attributes"]
                if attributes.get("io.kubernetes.pod.name") != pod:
                    continue
                if attributes.get("io.kubernetes.container.name") != "main":
                    continue
                if event["Action"] == "die" and began is None:
                    began = event["timeNano"] / 1e9
                elif event["Action"] == "start" and event["id"] != container_id:
                    assert began is not None
                    latencies.append(event["timeNano"] / 1e9 - began)
                    break
    finally:
        follower.cancel()
    return latencies


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def measure(samples: int) -> list[Result]:
    clean()
    root = tempfile.mkdtemp(prefix="fastpod-liveness-bench-")
    directory = os.path.join(root, "manifests")
    os.makedirs(directory)
    for index in range(2 * samples):
        with open(os.path.join(directory, f"live-{index:03d}.yaml"), "w") as file:
            file.write(probed_manifest(f"live-{index:03d}"))
    engine = Engine()
    fastpod = Fastpod(directory, root)
    try:
        running = sorted((await _until_running(2 * samples)).items())
        await asyncio.sleep(2 * PERIOD)  # every probe has passed once
        unhealthy = await _replacements(engine, dict(running[:samples]), "unhealthy")
        crashed = await _replacements(engine, dict(running[samples:]), "crash")
    finally:
        fastpod.stop()
        clean()
        await engine.close()
        subprocess.run(["rm", "-rf", root], check=False)
    crash_p50, crash_p99 = statistics.median(crashed), _percentile(crashed, 0.99)
    return [
        Result(
            "liveness failure → running, p50",
            statistics.median(unhealthy) * 1000,
            "ms",
            "crash → running, p50",
            crash_p50 * 1000,
            f"<= period + crash = {(PERIOD + crash_p50) * 1000:.0f} ms",
        ),
        Result(
            "liveness failure → running, p99",
            _percentile(unhealthy, 0.99) * 1000,
            "ms",
            "crash → running, p99",
            crash_p99 * 1000,
            f"<= period + crash = {(PERIOD + crash_p99) * 1000:.0f} ms",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    samples = parser.parse_args().samples
    # it clears every fastpod container in Docker: not under an engine test
    with engines_held():
        results = asyncio.run(measure(samples))
    for result in results:
        print(result.line(), flush=True)


if __name__ == "__main__":
    main()
