"""Scenario 2, on containerd: the runtime killed (``kill -9`` of containerd) and started
again under fastpod, during churn.

containerd's shims outlive it, so its pods' containers run on through the outage: nothing
may be restarted, lost or left, and fastpod, whose calls fail meanwhile, says so and
catches up once containerd answers again. Each round makes its share of the churn
operations, kills containerd at a random point among them, starts it again a moment later
(``scripts/containerd-up``, as a service manager would), then checks every invariant once
fastpod has caught up.

Docker's restarts are :mod:`bench.chaos.docker_restarts`' (a dockerd of their own).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench.chaos.harness import (
    Checker,
    Daemon,
    Manifests,
    Record,
    Runtime,
    fastpod_arguments,
    pause,
)
from bench.chaos.kills import Churn, Sizes
from tests.support import containerd_engine

REPOSITORY = Path(__file__).resolve().parents[2]
PID_FILE = Path(containerd_engine.CONTAINERD_SOCKET).with_name("containerd.pid")
EXPLAINED = {
    "runtime call failed": ("error",),
    "orphans not listed": ("error",),
    "foreign pods not listed": ("error",),
}
"""What fastpod says while containerd does not answer: each names the failed call."""


def kill_containerd() -> None:
    """``kill -9`` containerd; its shims, and so the containers, run on."""
    pid = int(PID_FILE.read_text())
    os.kill(pid, signal.SIGKILL)
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def start_containerd() -> None:
    """Start containerd again and wait until it answers."""
    subprocess.run([str(REPOSITORY / "scripts" / "containerd-up")], check=True, capture_output=True)


def run(runtime: Runtime, seed: int, sizes: Sizes, work: Path, record: Record) -> None:
    """Scenario 2 on containerd, ``sizes.kills`` restarts; fills ``record``."""
    if runtime.name != "cri":
        raise SystemExit("runtime-restarts: containerd only (--runtime cri); see its docstring")
    rng = random.Random(seed)
    directory = work / "manifests"
    directory.mkdir(parents=True)
    manifests = Manifests(directory)
    churn = Churn(manifests, rng, sizes)
    churn.populate()
    checker = Checker(runtime, record, sizes.settle_timeout, EXPLAINED)
    record.sizes = {"restarts": sizes.kills, "operations": sizes.operations, "pods": sizes.pods}
    daemon = Daemon(
        runtime.name,
        fastpod_arguments(
            runtime,
            ["--pod-manifest-path", str(directory)],
            work,
            "--workers",
            "2",
            "--file-check-frequency",
            "3",
        ),
    )
    began = time.monotonic()
    try:
        checker.settled(manifests.desired, "start")
        rounds = max(1, sizes.kills)
        for round_index in range(rounds):
            if time.monotonic() - began > sizes.time_limit:
                record.stopped_by = "time limit"
                break
            share = sizes.operations // rounds
            down = rng.randrange(share + 1)
            up = rng.randrange(down, share + 1)
            try:
                for index in range(share + 1):
                    if index == down:
                        pause(rng, 0.3)
                        kill_containerd()
                        record.faults["containerd killed, then started again"] += 1
                    if index == up:
                        pause(rng, 2.0)
                        start_containerd()
                    if index < share:
                        record.operations[churn.step()] += 1
                        checker.wanted_now(manifests.desired())
                        pause(rng, 0.05)
            finally:
                start_containerd()  # if the round ended early: up again, whatever happened
            checker.moment(f"round {round_index + 1}")
            checker.settled(manifests.desired, f"round {round_index + 1}")
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
    checker.log(daemon, Counter())
