"""Scenario 3: ``--root-dir`` and the pod logs directory on a small file system that fills
up (a tmpfs mounted for the run), then empties again.

Each round fills every block and every inode, then, while nothing can be written there:
adds pods, edits one, removes one, and restarts fastpod (``kill -9`` of the supervisor, as
systemd restarts a crashed unit), so that its API record cannot be written either. The
pods that were running must run on untouched: same sandbox, same containers. fastpod must
say what failed, once per streak, naming the path and ``ENOSPC``. Then the space is given
back, and fastpod must recover by itself: every pod the manifests want runs, the new pods'
logs are written (read through ``<pod-logs-dir>/<ns>_<pod>_<uid>/<container>/0.log``,
containerd's own file on containerd, the link to Docker's on Docker) and the API record
``<root-dir>/api.json`` is there again. Every invariant of :mod:`bench.chaos.invariants`
holds after each step.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.chaos.harness import (
    BUSYBOX,
    Checker,
    Daemon,
    Manifests,
    Record,
    Runtime,
    fastpod_arguments,
)
from bench.chaos.invariants import LOG, LOST, RESTARTED, Violation
from fastpod.api.discovery import read_record
from tests.support.full_disk import FullDisk, mount_tmpfs, unmount
from tests.support.running import free_port

PODS = 6
RESYNC = 2
"""fastpod's ``--resync-period`` here: a refused sync is tried again this often."""
FULL_FOR = 4 * RESYNC + 2
"""Seconds the disk stays full after the churn: several retries of every refused sync."""
SIZE = "16m"
INODES = 4096
EXPLAINED = {
    "pod sync failed": ("pod", "path", "errno", "error"),
    "API record not written": ("path", "errno", "error"),
    "log link not created": ("pod", "container", "path", "errno"),
    "termination message file not created": ("pod", "container", "path", "errno"),
    # the kubelet's CreateContainerConfigError: the pod's /etc/hosts cannot be written
    "container not configured": ("pod", "container", "error"),
    "parse cache not written": ("path", "error"),
}
"""What a full disk makes fastpod say, each naming the path and the errno."""
ONCE_PER_STREAK = (
    "pod sync failed",
    "API record not written",
    "container not configured",
    "parse cache not written",
)


def ticking_manifest(name: str, version: int) -> bytes:
    """A pod writing a line a second to its log until stopped (SIGTERM ends it at once)."""
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
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo tick {version}; sleep 1 & wait; done"]
""".encode()  # noqa: E501


class Disk:
    """The full-disk faults and what fastpod should hold meanwhile."""

    def __init__(self, work: Path, rng: random.Random) -> None:
        self.path = work / "disk"
        self.rng = rng
        self.manifests = Manifests(work / "manifests")
        self.manifests.directory.mkdir()
        self.versions: dict[str, int] = {}
        self.serial = 0
        for _ in range(PODS):
            self.add()

    def add(self) -> str:
        name = f"p{self.serial}"
        self.serial += 1
        self.versions[name] = 1
        self.manifests.write(f"{name}.yaml", ticking_manifest(name, 1))
        return name

    def edit(self) -> str:
        name = self.rng.choice(sorted(self.versions))
        self.versions[name] += 1
        self.manifests.write(f"{name}.yaml", ticking_manifest(name, self.versions[name]))
        return name

    def remove(self) -> str:
        name = self.rng.choice(sorted(self.versions))
        del self.versions[name]
        self.manifests.remove(f"{name}.yaml")
        return name

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def pod_logs(self) -> Path:
        return self.path / "logs" / "pods"


def run(runtime: Runtime, seed: int, work: Path, record: Record, *, rounds: int) -> None:
    """Scenario 3 on ``runtime``, ``rounds`` times over; fills ``record``."""
    disk = Disk(work, random.Random(seed))
    mount_tmpfs(disk.path, SIZE, INODES)
    try:
        _rounds(runtime, disk, record, rounds)
    finally:
        unmount(disk.path)


def _rounds(runtime: Runtime, disk: Disk, record: Record, rounds: int) -> None:
    filler = FullDisk(disk.path)
    checker = Checker(runtime, record, 60.0, EXPLAINED)
    record.sizes = {"rounds": rounds, "pods": PODS, "tmpfs": SIZE, "inodes": INODES}
    daemon = Daemon(
        runtime.name,
        fastpod_arguments(
            runtime,
            ["--pod-manifest-path", str(disk.manifests.directory)],
            disk.path,
            "--workers",
            "2",
            "--resync-period",
            f"{RESYNC}s",
            "--read-only-port",  # on: its record must be written, full disk or not
            str(free_port()),
        ),
    )
    began = time.monotonic()
    try:
        checker.settled(disk.manifests.desired, "start")
        for index in range(rounds):
            when = f"round {index + 1}"
            running = _running_ids(runtime)
            filler.fill()
            record.faults["disk filled (blocks and inodes)"] += 1
            changed = {disk.add(), disk.add(), disk.edit(), disk.remove()}
            record.operations["adds"] += 2
            record.operations["edits"] += 1
            record.operations["removals"] += 1
            checker.wanted_now(disk.manifests.desired())
            time.sleep(RESYNC)
            filler.fill()  # what the removed pods' files gave back, taken again
            daemon.kill_supervisor()
            record.faults["fastpod restarted while full"] += 1
            time.sleep(FULL_FOR)
            checker.moment(f"{when}, full")
            untouched = {uid: ids for uid, ids in running.items() if ids[0] not in changed}
            record.add(_kept_running(untouched, _running_ids(runtime)), f"{when}, full")
            sizes = _log_sizes(disk)
            filler.free()
            record.faults["space given back"] += 1
            checker.settled(disk.manifests.desired, f"{when}, space back")
            record.add(_recovered(daemon, disk, sizes), f"{when}, space back")
        checker.settled(disk.manifests.desired, "end")
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
    checker.log(daemon, Counter())
    record.add(_said_once_per_streak(daemon), "log")


def _running_ids(runtime: Runtime) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """By pod UID: its manifest's name, its ready sandbox and its running containers."""
    snapshot = runtime.snapshot()
    found: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for sandbox in snapshot.sandboxes:
        if sandbox.ready:
            containers = sorted(
                c.id for c in snapshot.containers if c.pod_uid == sandbox.pod_uid and c.running
            )
            name = sandbox.pod.rsplit("-", 1)[0]
            found[sandbox.pod_uid] = (name, sandbox.id, tuple(containers))
    return found


def _kept_running(
    before: dict[str, tuple[str, str, tuple[str, ...]]],
    now: dict[str, tuple[str, str, tuple[str, ...]]],
) -> list[Violation]:
    """The pods no change touched run on, untouched, while the disk is full."""
    found = []
    for uid, (name, sandbox, containers) in sorted(before.items()):
        if uid not in now:
            found.append(Violation(LOST, f"{name} ({uid[:12]}): not running on a full disk"))
        elif now[uid][1:] != (sandbox, containers):
            found.append(Violation(RESTARTED, f"{name} ({uid[:12]}): restarted on a full disk"))
    return found


def _log_file(disk: Disk, key: str, uid: str) -> Path:
    namespace, name = key.split("/")
    return disk.pod_logs / f"{namespace}_{name}_{uid}" / "main" / "0.log"


def _log_sizes(disk: Disk) -> dict[str, int]:
    """The size of each wanted pod's log now (-1: none yet), by pod key."""
    sizes = {}
    for wanted in disk.manifests.desired().values():
        try:
            sizes[wanted.key] = _log_file(disk, wanted.key, wanted.uid).stat().st_size
        except OSError:
            sizes[wanted.key] = -1
    return sizes


def _recovered(daemon: Daemon, disk: Disk, before: dict[str, int]) -> list[Violation]:
    """Once the space is back: every pod's log grows again (a new pod's is made), and the
    API record is there."""
    found = []
    deadline = time.monotonic() + 30
    waiting = {wanted.key: wanted.uid for wanted in disk.manifests.desired().values()}
    while waiting and time.monotonic() < deadline:
        for key, uid in list(waiting.items()):
            try:
                size = _log_file(disk, key, uid).stat().st_size
            except OSError:
                continue
            if size > before.get(key, -1):
                del waiting[key]
        time.sleep(0.5)
    found += [Violation(LOST, f"{key}: its log not written once space returned") for key in waiting]
    deadline = time.monotonic() + 30
    while read_record(str(disk.root)) is None and time.monotonic() < deadline:
        time.sleep(0.5)
    api = read_record(str(disk.root))
    if api is None or api.pid != daemon.current.process.pid:
        found.append(Violation(LOST, f"{disk.root / 'api.json'}: not written once space returned"))
    return found


def _said_once_per_streak(daemon: Daemon) -> list[Violation]:
    """A full disk is said once per streak (per process, pod and path), naming ENOSPC."""
    found = []
    for number, instance in enumerate(daemon.instances, 1):
        said: Counter[tuple[Any, ...]] = Counter()
        for line in instance.records:
            event = line.get("event")
            if event not in ONCE_PER_STREAK:
                continue
            named = (
                line.get("errno") == "ENOSPC" or "no space left" in str(line.get("error")).lower()
            )
            if not named:
                found.append(Violation(LOG, f"{event} does not say ENOSPC: {line}"))
            where = line.get("path") or line.get("container")
            said[(event, line.get("process"), line.get("pod"), where)] += 1
        for (event, process, pod, path), count in sorted(said.items(), key=str):
            if count > 1:
                detail = f"instance {number}: {event} {pod or ''} {path} said {count} times"
                found.append(Violation(LOG, f"{detail} ({process})"))
    return found
