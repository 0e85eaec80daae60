"""Scenario 4: the manifest directory deleted, recreated, replaced by a symlink, swapped,
made unreadable.

fastpod is given a path; each round does the following to it, and after each step checks
every invariant once fastpod has caught up with what the kubelet would want then:

1. **deleted** (``rm -rf``): no pod (a missing path is an empty set);
2. **recreated** with the manifests: every pod again;
3. **replaced by a symlink** to a directory holding the same manifests (moved away, then
   linked: the path is missing for a moment, so a pod may be restarted, not lost);
4. **swapped**: the symlink renamed over by one to another directory where one pod
   changed, one went and one came, as a ConfigMap update swaps ``..data``: the pods that
   did not change keep running untouched (same path, same manifest, same UID);
5. **unreadable by mode** (``chmod 000``): fastpod runs as root, which reads it anyway:
   nothing changes;
6. **a symlink loop**, then **a FIFO**, where the directory was: the path cannot be listed,
   and every pod is kept, as the kubelet keeps them (``listConfig`` sends nothing when its
   stat fails for another reason than absence, or finds neither a directory nor a file);
7. **restored** (the symlink to the last directory): nothing restarts.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench.chaos.harness import (
    Checker,
    Daemon,
    Manifests,
    Record,
    Runtime,
    fastpod_arguments,
    pod_manifest,
)
from bench.chaos.invariants import Wanted

PODS = 8
RELIST = 3
"""fastpod's ``--file-check-frequency``: the seconds a change behind a symlink may wait."""
EXPLAINED = {
    "inotify watch lost": ("path",),
    "inotify watch failed": ("path", "error"),
    "manifest path unreadable": ("path", "reason"),
}
"""What breaking the path says, naming it."""


class Faults:
    """The manifest path, what is done to it, and the directory whose manifests fastpod
    should hold after each step."""

    def __init__(self, path: Path, rng: random.Random) -> None:
        self.path = path
        self.rng = rng
        self.versions = {f"d{index}": 1 for index in range(PODS)}
        self.holding = Manifests(path)
        self.real = self.swapped = path
        path.mkdir()
        _fill(path, self.versions)

    def wanted(self) -> dict[str, Wanted]:
        return self.holding.desired(location=self.path)

    def begin_round(self, work: Path, index: int) -> None:
        self.real = work / f"real-{index}"
        self.swapped = work / f"swapped-{index}"

    def delete(self) -> None:
        shutil.rmtree(self.path)

    def recreate(self) -> None:
        self.path.mkdir()
        _fill(self.path, self.versions)

    def into_symlink(self) -> None:
        os.rename(self.path, self.real)
        self.path.symlink_to(self.real)
        self.holding = Manifests(self.real)

    def swap(self) -> None:
        """One pod edited, one gone, one new, behind one rename of the symlink."""
        shutil.copytree(self.real, self.swapped, symlinks=True)
        edited, gone, came = self.rng.sample(sorted(self.versions), 3)
        self.versions[edited] += 1
        del self.versions[gone], self.versions[came]
        self.versions[f"{came}n"] = 1
        for name in (gone, came):
            (self.swapped / f"{name}.yaml").unlink()
        _fill(self.swapped, {edited: self.versions[edited], f"{came}n": 1})
        _relink(self.path, self.swapped)
        self.holding = Manifests(self.swapped)

    def unreadable(self) -> None:
        self.swapped.chmod(0)

    def loop(self) -> None:
        self.swapped.chmod(0o755)
        self.path.unlink()
        self.path.symlink_to(self.path)

    def fifo(self) -> None:
        self.path.unlink()
        os.mkfifo(self.path)

    def restore(self) -> None:
        self.path.unlink()
        self.path.symlink_to(self.swapped)

    def directory_again(self) -> None:
        """The next round starts from a plain directory holding the same manifests."""
        self.path.unlink()
        shutil.copytree(self.swapped, self.path)
        self.holding = Manifests(self.path)


def run(runtime: Runtime, seed: int, work: Path, record: Record, *, rounds: int) -> None:
    """Scenario 4 on ``runtime``, ``rounds`` times over; fills ``record``."""
    path = work / "manifests"
    faults = Faults(path, random.Random(seed))
    checker = Checker(runtime, record, 60.0, EXPLAINED)
    record.sizes = {"rounds": rounds, "pods": PODS}
    daemon = Daemon(
        runtime.name,
        fastpod_arguments(
            runtime,
            ["--pod-manifest-path", str(path)],
            work,
            "--workers",
            "2",
            "--file-check-frequency",
            str(RELIST),
        ),
    )
    began = time.monotonic()

    def step(
        name: str,
        change: Callable[[], None],
        *,
        may_restart: bool = False,
        said: str = "",
        unseen: bool = False,
    ) -> None:
        """Make a change; then, as a step that changes nothing would pass at once, wait
        for fastpod to say it saw it (``said``) or for a re-list (``unseen``: nothing to
        say); then check."""
        before = daemon.said(said) if said else 0
        change()
        if said:
            daemon.wait_said(said, before + 1)
        if unseen:
            time.sleep(RELIST + 1)
        record.faults[name] += 1
        if may_restart:
            checker.wanted_now(())  # the path was missing a moment: a restart is allowed
        checker.moment(name)
        checker.settled(faults.wanted, name)

    try:
        checker.settled(faults.wanted, "start")
        for index in range(rounds):
            faults.begin_round(work, index)
            step("deleted", faults.delete)
            step("recreated", faults.recreate)
            step("replaced by a symlink", faults.into_symlink, may_restart=True)
            step("symlink swapped", faults.swap)
            step("made unreadable (chmod 000)", faults.unreadable, unseen=True)
            step("a symlink loop in its place", faults.loop, said="manifest path unreadable")
            step("a FIFO in its place", faults.fifo, said="manifest path unreadable")
            step("restored", faults.restore, said="manifest path readable again")
            step("a directory again", faults.directory_again, may_restart=True)
        checker.settled(faults.wanted, "end")
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
    checker.log(daemon, Counter())


def _fill(directory: Path, versions: dict[str, int]) -> None:
    for name, version in versions.items():
        body = pod_manifest(name, version)
        temporary = directory / f".{name}.tmp"
        temporary.write_bytes(body)
        os.rename(temporary, directory / f"{name}.yaml")


def _relink(path: Path, target: Path) -> None:
    """Point the symlink ``path`` at ``target`` in one rename, as kubelet volumes swap."""
    temporary = path.with_name(f".{path.name}.new")
    temporary.symlink_to(target)
    os.rename(temporary, path)
