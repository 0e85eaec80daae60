"""One bench run's shared state: its options, its clock, its interruption, its fastpods.

A signal (Ctrl-C, SIGTERM) only records that it came (:class:`Interruption`); the waits
look at it and return, and the main flow then cleans up in order, as it does at the end of
an uninterrupted run: manifests removed, fastpod's pods stopped by fastpod, fastpod
stopped, whatever is left in the run's namespace removed from the runtime, the workspace
deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import TextIO

from fastpod.bench.log_samples import all_running
from fastpod.bench.manifests import container_names, pod_manifest, pod_name
from fastpod.bench.options import BenchOptions
from fastpod.bench.progress import Progress
from fastpod.bench.server import ServerSubject
from fastpod.bench.subject import MeasuredFastpod, Subject, SubjectError, Workspace
from fastpod.bench.target import Target, run_namespace
from fastpod.bench.usage import Sampler

READY_TIMEOUT = 120.0
"""Seconds fastpod gets to be ready (a takeover of a busy node's leftovers included)."""


class Interruption:
    """Records the signals that ask the run to stop; :meth:`installed` catches them."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.received: list[int] = []

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)

    def __bool__(self) -> bool:
        return bool(self.received)

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {signum: signal.signal(signum, self) for signum in self.SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


class Bench:
    """The run: options, origin of its clock, its namespace, its target, its progress."""

    def __init__(
        self, options: BenchOptions, interruption: Interruption, stream: TextIO = sys.stderr
    ) -> None:
        self.options = options
        self.interruption = interruption
        self.stream = stream
        self.origin = time.time()
        self.namespace = run_namespace()
        self.server = options.server
        self.node = self.server.node if self.server else "fastpod-bench"
        self.target = Target(options.target)
        self.containers = container_names(options.containers)
        self.subject_processes = 0
        """The most processes fastpod had in a measured window (its floor's interpreters)."""

    def check_alone(self) -> None:
        """TargetError if the runtime runs another fastpod's pods (see Target); with
        ``--server`` it does, and that fastpod is the one measured."""
        if self.server is None:
            self.target.check_alone()

    def interrupted(self) -> bool:
        return bool(self.interruption)

    def say(self, text: str) -> None:
        """A line for the person running the bench."""
        self.stream.write(f"fastpod bench: {text}\n")
        self.stream.flush()

    def key(self, name: str) -> str:
        """The key fastpod gives the pod of manifest ``name``: ``namespace/name-node``."""
        return f"{self.namespace}/{name}-{self.node}"

    def manifest(self, name: str, generation: int = 0) -> str:
        options = self.options
        return pod_manifest(
            name,
            self.namespace,
            options.image,
            options.containers,
            options.command,
            generation=generation,
            probe=options.probe,
        )

    @contextlib.contextmanager
    def fastpod(
        self, label: str, extra: Sequence[str] = ()
    ) -> Iterator[tuple[MeasuredFastpod, Workspace, Sampler]]:
        """A ready fastpod on the target (a ``fastpod run`` of the bench's own, or the one
        ``--server`` found), and its CPU and memory sampled with the runtime's; every pod
        the bench gave it removed on the way out, whatever happened."""
        workspace = Workspace(
            tempfile.mkdtemp(prefix="fastpod-bench-"),
            self.server.manifests if self.server else "",
        )
        os.makedirs(self.options.output, exist_ok=True)
        subject: MeasuredFastpod | None = None
        sampler = Sampler(
            {
                "fastpod": lambda: subject.processes() if subject else [],
                "runtime": self.target.processes,
            },
            self.origin,
        )
        try:
            if self.server is not None:
                subject = ServerSubject(self.server, self.namespace)
                sampler.start()
            else:
                log_path = os.path.join(self.options.output, f"{label}.log")
                flags = ["--hostname-override", self.node, *self.options.fastpod_flags(), *extra]
                own = Subject(workspace, self.options.target.runtime, log_path, flags)
                subject = own
                sampler.start()
                own.wait(
                    lambda: bool(own.events("fastpod ready")),
                    READY_TIMEOUT,
                    "fastpod ready",
                    self.interrupted,
                )
            yield subject, workspace, sampler
        finally:
            sampler.stop()
            self._clean_up(subject, workspace)

    def _clean_up(self, subject: MeasuredFastpod | None, workspace: Workspace) -> None:
        """The bench's pods removed through fastpod (as a user's removal would), fastpod
        stopped (or the running one looked at no more), the namespace swept, the
        workspace deleted."""
        for entry in os.listdir(workspace.manifests):
            if entry.lstrip(".").startswith(self.namespace):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(workspace.manifests, entry))
        if subject is not None:
            # a fake runtime's pods end with the bench's own fastpod; a server's run on
            if (self.options.target.runtime != "fake" or self.server) and subject.alive():
                added = {str(r["pod"]) for r in subject.events("pod added")}
                self.say(f"removing {len(added)} pods")
                try:
                    subject.wait(
                        lambda: added <= {str(r["pod"]) for r in subject.events("pod stopped")},
                        self.options.timeout,
                        "every pod stopped",
                        lambda: False,
                    )
                except SubjectError as error:
                    self.say(f"{error}; removing what is left from the runtime")
            subject.stop()
        left = self.target.remove_namespace(self.namespace)
        if left:
            self.say(f"removed {left} containers and sandboxes fastpod had left")
        shutil.rmtree(workspace.root, ignore_errors=True)

    def write_pods(self, workspace: Workspace, names: list[str]) -> dict[str, float]:
        """Write the manifests of ``names``; when each was written, by pod key."""
        written: dict[str, float] = {}
        for name in names:
            if self.interrupted():
                break
            written[self.key(name)] = self.write_pod(workspace, name)
        return written

    def write_pod(self, workspace: Workspace, name: str, generation: int = 0) -> float:
        """Write (or rewrite) the manifest of ``name``, renamed into place so that fastpod
        never reads half a file; when it was written: just before the rename, as a clock
        read after it could come after fastpod had already seen the file (this thread may
        wait for the interpreter's lock in between)."""
        path = self.manifest_path(workspace, name)
        temporary = os.path.join(workspace.manifests, f".{self.namespace}-{name}.yaml.tmp")
        with open(temporary, "w") as file:
            file.write(self.manifest(name, generation))
        written = time.time()
        os.replace(temporary, path)
        return written

    def remove_pod(self, workspace: Workspace, name: str) -> float:
        """Remove the manifest of ``name``; when it was removed (just before)."""
        removed = time.time()
        os.unlink(self.manifest_path(workspace, name))
        return removed

    def manifest_path(self, workspace: Workspace, name: str) -> str:
        """Where the manifest of ``name`` is: named for the run's namespace, so that a
        running fastpod's own manifests beside it are never the bench's."""
        return os.path.join(workspace.manifests, f"{self.namespace}-{name}.yaml")

    def start_pods(
        self, subject: MeasuredFastpod, workspace: Workspace, names: list[str]
    ) -> dict[str, float]:
        """Write the pods of ``names`` and wait until all run (or the run is interrupted),
        showing progress; when each manifest was written, by pod key."""
        keys = [self.key(name) for name in names]
        progress = Progress(self.stream, "pods running", len(names))

        def running() -> int:
            return len(all_running(subject.records, keys, self.containers))

        written = self.write_pods(workspace, names)
        subject.wait(
            self.waiting(lambda: running() >= len(names)),
            self.options.timeout,
            f"{len(names)} pods running",
            self.interrupted,
            tick=lambda: progress.update(running()),
        )
        progress.finish(running())
        return written

    def pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the run is interrupted."""
        deadline = time.monotonic() + seconds
        while not self.interrupted() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def pod_names(self, count: int, scenario: str | None = None) -> list[str]:
        return [pod_name(scenario or self.options.scenario, index) for index in range(count)]

    def waiting(self, condition: Callable[[], bool]) -> Callable[[], bool]:
        """``condition`` that also holds once the run is interrupted."""
        return lambda: self.interrupted() or condition()
