"""Macro benchmarks of the read-only API and the CLI, on the fake runtime.

A real ``fastpod run --runtime fake`` over 10,000 generated kubeadm-like manifests, every
pod started, the API on a free port. Each figure is printed beside a floor measured in the
same run, with the ratio; targets are reported, never asserted (the machine is noisy).

    python -m bench.macro.api            # every scenario
    python -m bench.macro.api pods cli   # some of them
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable

import msgspec

from bench.macro.pipeline import Fastpod, Result, fastpod_environment, run_scenarios, write_dir
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource

PODS = 10_000
STARTED = b'"event":"container started"'


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str) -> tuple[float, bytes]:
    """Seconds one ``GET path`` took, and its body."""
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as reply:
        body = reply.read()
    return time.perf_counter() - started, body


def median_get(port: int, path: str, times: int) -> tuple[float, bytes]:
    """The median duration of ``times`` requests of ``path``, and the last body."""
    durations, body = [], b""
    for _ in range(times):
        duration, body = get(port, path)
        durations.append(duration)
    return statistics.median(durations), body


def started_fastpod(directory: str, port: int, count: int) -> Fastpod:
    """fastpod over ``directory`` with the API on ``port``, once ``count`` containers run."""
    fastpod = Fastpod(directory, 2, "--read-only-port", str(port))
    started = 0
    while started < count:
        started += sum(1 for line in fastpod.read_lines() if STARTED in line)
    # the log is read ahead of the pods' next sync: let every loop observe its container
    time.sleep(2.0)
    return fastpod


def encode_floor(directory: str) -> float:
    """Median of 5: encode the same pods (decoded, without status) to JSON in one process."""
    node = "bench"
    pods = []
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        with open(path, "rb") as file:
            pods.append(decode_pod(file.read(), PodSource("file", path), node).pod)
    encoder = msgspec.json.Encoder()
    durations = []
    for _ in range(5):
        started = time.perf_counter()
        encoder.encode(pods)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def scenario_api(root: str) -> list[Result]:
    """``/pods``, ``/metrics`` and memory with 10,000 running pods."""
    directory = write_dir(root, PODS)
    floor = encode_floor(directory)
    port = free_port()
    fastpod = started_fastpod(directory, port, PODS)
    try:
        healthz, _ = median_get(port, "/healthz", 20)
        pods, body = median_get(port, "/pods", 5)
        metrics, _ = median_get(port, "/metrics", 10)
        items = msgspec.json.decode(body)["items"]
        assert len(items) == PODS, len(items)
        assert all(item["status"]["phase"] == "Running" for item in items)
        rss = sum(process.memory_info().rss for process in fastpod.processes())
    finally:
        fastpod.stop()
    return [
        Result(
            f"GET /pods, {PODS:,} running pods, median of 5",
            pods * 1000,
            "ms",
            "msgspec encode of the same pods",
            floor * 1000,
            "(informative) <= 1 s",
        ),
        Result(
            f"GET /metrics, {PODS:,} pods, median of 10",
            metrics * 1000,
            "ms",
            "GET /healthz (same round trip)",
            healthz * 1000,
            "(informative) <= 100 ms",
        ),
        Result(
            f"memory after serving /pods, {PODS:,} pods, RSS",
            rss / 2**20,
            "MB",
            "target",
            250.0,
            "<= 250 MB RSS",
        ),
    ]


def scenario_cli(root: str) -> list[Result]:
    """``fastpod pods`` against a running fastpod with 100 pods, wall time."""
    directory = write_dir(root, 100)
    port = free_port()
    fastpod = started_fastpod(directory, port, 100)
    server = ["--server", f"http://127.0.0.1:{port}"]
    try:
        figure = _median_command(
            [sys.executable, "-m", "fastpod", "pods", *server], 10, fastpod_environment()
        )
    finally:
        fastpod.stop()
    floor = _median_command([sys.executable, "-c", "import urllib.request, json"], 10)
    return [
        Result(
            "fastpod pods, 100 pods, wall, median of 10",
            figure * 1000,
            "ms",
            "python -c 'import urllib.request'",
            floor * 1000,
            "(informative) <= 2x the interpreter",
        )
    ]


def _median_command(
    command: list[str], times: int, environment: dict[str, str] | None = None
) -> float:
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=environment)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


SCENARIOS: dict[str, Callable[[str], list[Result]]] = {"pods": scenario_api, "cli": scenario_cli}


if __name__ == "__main__":
    run_scenarios(SCENARIOS, __doc__.splitlines()[0])
