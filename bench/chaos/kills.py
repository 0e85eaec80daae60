"""Scenario 1: ``kill -9`` of the supervisor, the watcher or a worker at random moments,
during churn of random manifest adds, edits, renames and removals, some invalid.

The pod names are ``p000`` ... (``--pods``); about three in four have a manifest at any
time. Each round makes its share of the operations with random gaps and kills one process
(sometimes two, a second or so apart) at a random point among them; then the
invariants that hold at every moment are checked at once, and the others once fastpod has
caught up. A killed supervisor is started again at once, as systemd would; a killed child
is the supervisor's to start again.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.chaos.harness import (
    INVALID,
    Checker,
    Daemon,
    Manifests,
    Record,
    Runtime,
    fastpod_arguments,
    pause,
    pod_manifest,
)

WORKERS = 2
VICTIMS = ("supervisor", "watcher", "worker")
RENAMES = {"duplicate pod name": ("pod", "source", "ignored")}
"""A renamed manifest's old and new names decode in different workers. The owner waits a
second before it says two sources claim a pod; a decoder killed just then (its successor
withdraws the old name only once it has decoded its manifests again) makes the moment
longer, and the line names both sources."""


@dataclass(frozen=True)
class Sizes:
    """How much of everything; the defaults are the issue's full run."""

    kills: int = 100
    operations: int = 1000
    pods: int = 200
    invalid: float = 0.1
    """The share of adds and edits that write a manifest fastpod must refuse."""
    time_limit: float = 3600.0
    """Seconds after which no more rounds start (the last check still runs)."""
    settle_timeout: float = 120.0


QUICK = Sizes(kills=4, operations=32, pods=10, time_limit=40.0, settle_timeout=40.0)


class Churn:
    """The manifests of the pod names, changed at random."""

    def __init__(self, manifests: Manifests, rng: random.Random, sizes: Sizes) -> None:
        self.manifests = manifests
        self.rng = rng
        self.sizes = sizes
        self.names = [f"p{index:03d}" for index in range(sizes.pods)]
        self.containers = {name: rng.choice((1, 1, 2)) for name in self.names}
        self.files: dict[str, str] = {}
        """Pod name → the file holding its manifest now."""
        self._versions = Counter[str]()
        self._renames = 0

    def populate(self) -> None:
        for name in self.names:
            if self.rng.random() < 0.75:
                self._write(name, f"{name}.yaml", valid=True)

    def step(self) -> str:
        """One random operation; its kind."""
        rng = self.rng
        present = sorted(self.files)
        absent = [name for name in self.names if name not in self.files]
        kind = rng.choices(
            ("add", "edit", "rename", "remove"),
            weights=(
                3 if absent else 0,
                4 if present else 0,
                2 if present else 0,
                3 if len(present) > len(self.names) // 2 else 1,
            ),
        )[0]
        if kind == "add":
            name = rng.choice(absent)
            valid = rng.random() >= self.sizes.invalid
            self._write(name, f"{name}.yaml", valid=valid)
            return "add" if valid else "add invalid"
        name = rng.choice(present)
        if kind == "edit":
            valid = rng.random() >= self.sizes.invalid
            self._write(name, self.files[name], valid=valid)
            return "edit" if valid else "edit invalid"
        if kind == "rename":
            self._renames += 1
            new = f"{name}-r{self._renames}.yaml"
            self.manifests.rename(self.files[name], new)
            self.files[name] = new
            return "rename"
        self.manifests.remove(self.files.pop(name))
        return "remove"

    def _write(self, name: str, file: str, *, valid: bool) -> None:
        self._versions[name] += 1
        body = (
            pod_manifest(name, self._versions[name], self.containers[name])
            if valid
            else self.rng.choice(INVALID)
        )
        self.manifests.write(file, body)
        self.files[name] = file


def run(runtime: Runtime, seed: int, sizes: Sizes, work: Path, record: Record) -> None:
    """Scenario 1 on ``runtime``, its files under ``work``; fills ``record``."""
    rng = random.Random(seed)
    directory = work / "manifests"
    directory.mkdir(parents=True)
    manifests = Manifests(directory)
    churn = Churn(manifests, rng, sizes)
    churn.populate()
    checker = Checker(runtime, record, sizes.settle_timeout, RENAMES)
    arguments = fastpod_arguments(
        runtime,
        ["--pod-manifest-path", str(directory)],
        work,
        "--workers",
        str(WORKERS),
        "--file-check-frequency",
        "3",
    )
    record.sizes = asdict(sizes)
    daemon = Daemon(runtime.name, arguments)
    killed: Counter[str] = Counter()
    began = time.monotonic()
    try:
        checker.settled(manifests.desired, "start")
        kills_left = sizes.kills
        rounds = max(1, sizes.kills)
        for round_index in range(rounds):
            if time.monotonic() - began > sizes.time_limit:
                record.stopped_by = "time limit"
                break
            share = sizes.operations // rounds + (round_index < sizes.operations % rounds)
            at = rng.randrange(share + 1)
            for index in range(share + 1):
                if index == at and kills_left:
                    kills_left -= _kill(daemon, rng, record, killed)
                    if kills_left and rng.random() < 0.2:
                        pause(rng, 1.0)
                        kills_left -= _kill(daemon, rng, record, killed)
                if index < share:
                    record.operations[churn.step()] += 1
                    checker.wanted_now(manifests.desired())
                    pause(rng, 0.05)
            checker.moment(f"round {round_index + 1}")
            checker.settled(manifests.desired, f"round {round_index + 1}")
        checker.settled(manifests.desired, "end")
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
    checker.log(daemon, killed)


def _kill(daemon: Daemon, rng: random.Random, record: Record, killed: Counter[str]) -> int:
    """Kill one process chosen at random, a moment from now; 1 if one was killed."""
    pause(rng, 0.3)
    victim = rng.choice(VICTIMS)
    if victim == "supervisor":
        daemon.kill_supervisor()
    else:
        child = victim if victim == "watcher" else f"worker-{rng.randrange(WORKERS)}"
        if not daemon.kill_child(child):
            return 0
        killed[child] += 1
    record.faults[f"kill -9 {victim}"] += 1
    return 1
