"""Scenario 2 on Docker: dockerd restarted under fastpod during churn, 10 times.

The restarts are those of a dockerd of the scenario's own (its socket, data and exec roots,
its own containerd), started by ``scripts/docker-up`` as this machine starts the usual one:
restarting the shared dockerd would stop the other users' containers. Each round makes its
share of the churn operations and restarts dockerd at a random point among them, in turn
as ``systemctl restart docker`` does (SIGTERM, then started again) and as a crash does
(``kill -9``, then started again).

With ``--live-restore`` (``scripts/docker-up``'s default, and what an operator running
static pods should set: see there) the containers run on through the restart: nothing may
be restarted, lost or left, exactly as on containerd. Without it (``--no-live-restore``)
dockerd stops every container when it restarts; fastpod must then start every desired pod
again, once: the same invariants hold once settled (one ready sandbox and one running
container per desired container, nothing orphaned, nothing twice), and the pods the
daemon stopped are counted apart (``runtime_restarted``), not as faults of fastpod's.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
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
from tests.support import docker_engine

REPOSITORY = Path(__file__).resolve().parents[2]
IMAGES = (docker_engine.BUSYBOX, "fastpod.local/pause:3.10", "registry.k8s.io/pause:3.10")
EXPLAINED = {
    "runtime call failed": ("error",),
    "orphans not listed": ("error",),
    "foreign pods not listed": ("error",),
    "runtime events lost": ("error",),
    "container exited": ("container", "exit_code"),
    "sandbox exited": ("error",),
    # without live restore: the containers dockerd stopped wait out the kubelet's back-off
    "container waiting": ("container", "reason"),
}
"""What fastpod says while dockerd does not answer, and of the containers a dockerd
without live restore stopped: each names the call or the container."""
HOW = ("SIGTERM", "SIGKILL")


class PrivateDocker:
    """A dockerd beside the usual one, sharing nothing with it (socket paths have 108
    bytes at most: its places are under a short directory of /tmp)."""

    def __init__(self, live_restore: bool) -> None:
        self.live_restore = live_restore
        self.root = Path(tempfile.mkdtemp(prefix="fastpod-chaos-docker-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.pidfile = self.root / "dockerd.pid"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Start it with ``scripts/docker-up`` and wait until it answers."""
        flags = [
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.pidfile}",
        ]
        environment = {
            **os.environ,
            "DOCKER_SOCKET": str(self.socket),
            "DOCKERD_LOG": str(self.root / "dockerd.log"),
            "DOCKERD_ARGS": " ".join(flags),
            "DOCKERD_LIVE_RESTORE": "1" if self.live_restore else "0",
        }
        subprocess.run(
            [str(REPOSITORY / "scripts" / "docker-up")],
            env=environment,
            check=True,
            capture_output=True,
        )

    def stop(self, how: str = "SIGTERM") -> None:
        """Send ``how`` to dockerd and wait until it is gone."""
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, getattr(signal, how))
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        for _ in range(600):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

    def load_images(self) -> None:
        """The images the pods run, copied from the usual dockerd (no registry here)."""
        saved = subprocess.run(["docker", "save", *IMAGES], check=True, capture_output=True)
        subprocess.run(
            ["docker", "-H", self.host, "load"], input=saved.stdout, check=True, capture_output=True
        )

    def remove(self) -> None:
        """Its containers removed, dockerd stopped, its places unmounted and removed."""
        with contextlib.suppress(subprocess.CalledProcessError, AssertionError):
            docker_engine.remove_all()
        self.stop()
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts]
        for point in sorted(p for p in points if p.startswith(f"{self.root}/")):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_docker(live_restore: bool) -> Iterator[PrivateDocker]:
    """A private dockerd answering, its images loaded; the docker CLI (and so
    :class:`Runtime`'s listings) pointed at it meanwhile."""
    docker = PrivateDocker(live_restore)
    before = os.environ.get("DOCKER_HOST")
    try:
        docker.start()
        docker.load_images()
        os.environ["DOCKER_HOST"] = docker.host
        yield docker
    finally:
        docker.remove()
        if before is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = before


def run(
    runtime: Runtime, seed: int, sizes: Sizes, work: Path, record: Record, *, live_restore: bool
) -> None:
    """Scenario 2 on Docker, ``sizes.kills`` restarts; fills ``record``."""
    if runtime.name != "docker":
        raise SystemExit("docker-restarts: Docker only (--runtime docker)")
    with private_docker(live_restore) as docker:
        _rounds(Runtime("docker"), docker, seed, sizes, work, record)


def _rounds(
    runtime: Runtime, docker: PrivateDocker, seed: int, sizes: Sizes, work: Path, record: Record
) -> None:
    rng = random.Random(seed)
    directory = work / "manifests"
    directory.mkdir(parents=True)
    manifests = Manifests(directory)
    churn = Churn(manifests, rng, sizes)
    churn.populate()
    checker = Checker(runtime, record, sizes.settle_timeout, EXPLAINED)
    record.sizes = {
        "restarts": sizes.kills,
        "operations": sizes.operations,
        "pods": sizes.pods,
        "live_restore": docker.live_restore,
    }
    daemon = Daemon(
        runtime.name,
        fastpod_arguments(
            runtime,
            ["--pod-manifest-path", str(directory)],
            work,
            "--docker-socket",
            str(docker.socket),
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
        for index in range(rounds):
            if time.monotonic() - began > sizes.time_limit:
                record.stopped_by = "time limit"
                break
            how = HOW[index % len(HOW)]
            running = _running(runtime)
            share = sizes.operations // rounds
            restart_at = rng.randrange(share + 1)
            for step in range(share + 1):
                if step == restart_at:
                    pause(rng, 0.3)
                    docker.stop(how)
                    pause(rng, 1.0)
                    docker.start()
                    record.faults[f"dockerd restarted ({how})"] += 1
                    if not docker.live_restore:
                        # the daemon stopped every container: a restart is its doing
                        checker.wanted_now(())
                if step < share:
                    record.operations[churn.step()] += 1
                    checker.wanted_now(manifests.desired())
                    pause(rng, 0.05)
            when = f"round {index + 1}"
            checker.moment(when)
            checker.settled(manifests.desired, when)
            record.runtime_restarted += _restarted(running, _running(runtime))
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
    checker.log(daemon, Counter())


def _running(runtime: Runtime) -> dict[tuple[str, str], str]:
    """The running containers (a sandbox under the name ""), by pod UID and name."""
    snapshot = runtime.snapshot()
    found = {(s.pod_uid, ""): s.id for s in snapshot.sandboxes if s.ready}
    found.update(((c.pod_uid, c.name), c.id) for c in snapshot.containers if c.running)
    return found


def _restarted(before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> int:
    """How many containers and sandboxes running before run again under another ID."""
    return sum(1 for key, old in before.items() if key in after and after[key] != old)
