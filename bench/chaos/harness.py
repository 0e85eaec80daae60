"""What every fault scenario shares: the manifests and the pods they want, a ``fastpod run``
that survives being killed, the runtime read directly, settling, and the record.

The runtime is read with one call per kind of object (``docker ps`` with the labels as
columns; the CRI's ``ListPodSandbox`` and ``ListContainers``), never through fastpod's own
code: a 200-pod look is one consistent listing, fast enough to take after every fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import psutil
from cri_api.v1 import api_pb2 as cri_pb

from bench.chaos.invariants import (
    EXPLAINED,
    Container,
    Continuity,
    Periods,
    Sandbox,
    Snapshot,
    Violation,
    Wanted,
    at_any_moment,
    log_violations,
    once_settled,
    tally,
)
from fastpod.manifest.decode import decode_pod
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource
from fastpod.runtime.labels import CONTAINER_NAME, POD_NAME, POD_UID
from tests.support import containerd_engine, docker_engine
from tests.support.engine_lock import engines_held
from tests.support.pods import NODE
from tests.support.running import RunningFastpod, write_atomically

BUSYBOX = docker_engine.BUSYBOX
DOCKER_TYPE = "io.kubernetes.docker.type"


# --- manifests --------------------------------------------------------------------------------


def pod_manifest(name: str, version: int, containers: int = 1) -> bytes:
    """A pod whose containers run until stopped and stop at once on SIGTERM; ``version``
    (an environment variable) makes an edit a new pod."""
    entries = "".join(
        f"""\
  - name: {"main" if index == 0 else f"side{index}"}
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
    env: [{{name: VERSION, value: "{version}"}}]
"""
        for index in range(containers)
    )
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
{entries}""".encode()


INVALID = (
    b"apiVersion: v1\nkind: Pod\nmetadata: {name: [\n",  # not YAML
    b"apiVersion: v1\nkind: Pod\nmetadata: {name: Not_A_Name}\nspec: {containers: []}\n",
    b'{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {}}',
)
"""Manifests fastpod must refuse, each for another reason."""


class Manifests:
    """A manifest directory and the pods its files want, decoded by fastpod's own decoder
    (the UID is a hash of the decoded pod and its file: no other way to know it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._decoded: dict[str, tuple[bytes, Wanted | None]] = {}

    def write(self, name: str, body: bytes) -> None:
        write_atomically(str(self.directory / name), body)

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.directory / name).unlink()

    def rename(self, old: str, new: str) -> None:
        os.replace(self.directory / old, self.directory / new)

    def names(self) -> list[str]:
        """The manifest files now (what fastpod reads: no dot-names)."""
        try:
            return sorted(name for name in os.listdir(self.directory) if not name.startswith("."))
        except OSError:
            return []

    def desired(self, location: Path | None = None) -> dict[str, Wanted]:
        """The pods the files want, by UID; of two files naming one pod the later wins.
        ``location``: the path fastpod was given, when it is not the directory itself."""
        configured = location or self.directory
        by_key: dict[str, Wanted] = {}
        for name in self.names():
            try:
                body = (self.directory / name).read_bytes()
            except OSError:
                continue
            wanted = self._decode(str(configured / name), body)
            if wanted is not None:
                by_key[wanted.key] = wanted
        return {wanted.uid: wanted for wanted in by_key.values()}

    def _decode(self, path: str, body: bytes) -> Wanted | None:
        cached = self._decoded.get(path)
        if cached is not None and cached[0] == body:
            return cached[1]
        try:
            pod = decode_pod(body, PodSource("file", path), NODE).pod
            metadata = pod.metadata
            wanted: Wanted | None = Wanted(
                f"{metadata.namespace}/{metadata.name}",
                metadata.uid or "",
                frozenset(c.name or "" for c in pod.spec.containers or ()),
            )
        except ManifestError:
            wanted = None
        self._decoded[path] = (body, wanted)
        return wanted


# --- the runtime ----------------------------------------------------------------------------


class Runtime:
    """The engine a scenario runs on, read directly."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._cri = containerd_engine.cri() if name == "cri" else None

    @property
    def arguments(self) -> list[str]:
        """What ``fastpod run --runtime NAME`` needs besides to use it."""
        if self.name == "cri":
            return ["--container-runtime-endpoint", containerd_engine.TARGET]
        return []

    def snapshot(self) -> Snapshot:
        if self._cri is None:
            return _docker_snapshot()
        # containerd answers on its socket a moment before its CRI plugin does
        deadline = time.monotonic() + 30
        while True:
            try:
                return self._cri_snapshot()
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _cri_snapshot(self) -> Snapshot:
        assert self._cri is not None
        runtime = self._cri.runtime
        selector = containerd_engine.MANAGED
        timeout = containerd_engine.TIMEOUT
        listed = runtime.ListPodSandbox(
            cri_pb.ListPodSandboxRequest(filter=cri_pb.PodSandboxFilter(label_selector=selector)),
            timeout=timeout,
        )
        sandboxes = [
            Sandbox(
                item.id,
                item.labels.get(POD_UID, ""),
                item.labels.get(POD_NAME, ""),
                item.state == cri_pb.SANDBOX_READY,
            )
            for item in listed.items
        ]
        listed = runtime.ListContainers(
            cri_pb.ListContainersRequest(filter=cri_pb.ContainerFilter(label_selector=selector)),
            timeout=timeout,
        )
        containers = [
            Container(
                item.id,
                item.labels.get(POD_UID, ""),
                item.labels.get(POD_NAME, ""),
                item.labels.get(CONTAINER_NAME, ""),
                item.state == cri_pb.CONTAINER_RUNNING,
            )
            for item in listed.containers
        ]
        return Snapshot(sandboxes, containers)

    def clear(self) -> None:
        """Remove everything fastpod manages (before and after a scenario)."""
        if self._cri is not None:
            containerd_engine.remove_all(self._cri)
        else:
            docker_engine.remove_all()

    def close(self) -> None:
        if self._cri is not None:
            self._cri.close()


_DOCKER_FORMAT = "\t".join(
    ["{{.ID}}", "{{.State}}"]
    + [f'{{{{.Label "{label}"}}}}' for label in (DOCKER_TYPE, POD_UID, POD_NAME, CONTAINER_NAME)]
)


def _docker_snapshot() -> Snapshot:
    output = docker_engine.docker(
        "ps", "-a", "--no-trunc", "--filter", docker_engine.MANAGED, "--format", _DOCKER_FORMAT
    )
    sandboxes, containers = [], []
    for line in output.splitlines():
        identifier, state, kind, uid, pod, name = line.split("\t")
        running = state == "running"
        if kind == "podsandbox":
            sandboxes.append(Sandbox(identifier, uid, pod, running))
        else:
            containers.append(Container(identifier, uid, pod, name, running))
    return Snapshot(sandboxes, containers)


# --- fastpod ----------------------------------------------------------------------------------


class Daemon:
    """``fastpod run`` as systemd runs it: killed, it is started again; its log is kept
    across every instance."""

    def __init__(
        self, runtime: str, arguments: list[str], environment: dict[str, str] | None = None
    ) -> None:
        self.runtime = runtime
        self.arguments = arguments
        self.environment = environment
        self.instances: list[RunningFastpod] = []
        self._killed: Counter[int] = Counter()
        """Children killed, by instance number (from 1)."""
        self.current = self._start()

    def _start(self) -> RunningFastpod:
        running = RunningFastpod(
            self.arguments,
            runtime=self.runtime,
            api_port=0,
            healthz_port=0,
            environment=self.environment,
        )
        self.instances.append(running)
        return running

    def wait_started(self, timeout: float = 30.0) -> None:
        """Until every child of the current instance has started."""
        current = self.current
        current.wait_for(lambda: len(current.events("process started")) >= 3, timeout)

    def kill_supervisor(self) -> None:
        """``kill -9`` the supervisor; its children die with it; start it again. A child
        killed just before is first seen dead by it (its ``process died`` line)."""
        old = self.current
        old.wait_for(lambda: self._deaths_logged(old) >= self._killed[len(self.instances)], 10)
        children = old.children()
        old.process.kill()
        old.process.wait()
        psutil.wait_procs(children, timeout=10)
        old.stop()
        self.current = self._start()

    def child_pid(self, name: str, timeout: float = 10.0) -> int | None:
        """The pid of the live child ``name`` of the current instance, waiting for it to be
        started (again)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(AssertionError):
                pid = self.current.child_pid(name)
                if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie":
                    return pid
            time.sleep(0.02)
        return None

    def kill_child(self, name: str) -> bool:
        """``kill -9`` one child (the supervisor starts another); whether one was killed."""
        pid = self.child_pid(name)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        self._killed[len(self.instances)] += 1
        return True

    @staticmethod
    def _deaths_logged(running: RunningFastpod) -> int:
        return len(running.events("process died"))

    def stop(self) -> None:
        self.current.stop()

    def said(self, event: str) -> int:
        """How many ``event`` lines the current instance has written."""
        return len(self.current.events(event))

    def wait_said(self, event: str, count: int, timeout: float = 30.0) -> None:
        """Until the current instance has written ``count`` ``event`` lines."""
        current = self.current
        current.wait_for(lambda: len(current.events(event)) >= count, timeout)

    def log_text(self) -> bytes:
        """Every line every instance wrote, in order."""
        return b"".join(line for running in self.instances for line in running.raw_lines)

    def records(self) -> list[dict[str, Any]]:
        return [record for running in self.instances for record in running.records]

    def unparsed(self) -> list[str]:
        """Lines of standard error that are not JSON records (a traceback)."""
        lines = []
        for running in self.instances:
            for raw in running.raw_lines:
                try:
                    json.loads(raw)
                except ValueError:
                    lines.append(raw.decode(errors="replace").rstrip())
        return lines


def fastpod_arguments(runtime: Runtime, source: list[str], work: Path, *extra: str) -> list[str]:
    """``fastpod run``'s arguments: the runtime's, the source's (``--pod-manifest-path
    DIR``, ``--manifest-url URL``), the files under ``work``, then ``extra``."""
    return [
        *runtime.arguments,
        *source,
        "--root-dir",
        str(work / "root"),
        "--pod-logs-dir",
        str(work / "logs" / "pods"),
        "--cluster-dns",
        "10.96.0.10",  # else every pod has a MissingClusterDNS warning
        *extra,
    ]


# --- checking -------------------------------------------------------------------------------


@dataclass
class Record:
    """What a scenario did and found: printed, and written as JSON."""

    scenario: str
    runtime: str
    seed: int
    sizes: dict[str, Any]
    command: str
    started: str = ""
    seconds: float = 0.0
    stopped_by: str = "count"
    faults: Counter[str] = field(default_factory=Counter)
    operations: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    pods_checked: int = 0
    containers_checked: int = 0
    settle_seconds: list[float] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    runtime_restarted: int = 0
    """Sandboxes and containers the runtime itself stopped (a dockerd restarted without
    live restore) and fastpod started again: counted apart, not fastpod's faults."""
    log_events: Counter[str] = field(default_factory=Counter)
    figures: dict[str, Any] = field(default_factory=dict)
    """A scenario's own counts (inputs fuzzed, requests made, memory sampled)."""
    log: bytes = b""
    """fastpod's whole log (written beside the record, not in it)."""

    def add(self, found: list[Violation], when: str) -> None:
        self.violations.extend(Violation(v.kind, f"{when}: {v.detail}") for v in found)

    def as_json(self) -> dict[str, Any]:
        counters = ("faults", "operations", "log_events")
        document = {
            name: dict(value) if name in counters else value
            for name, value in vars(self).items()
            if name != "log"
        }
        document["violations"] = [{"kind": v.kind, "detail": v.detail} for v in self.violations]
        document["counts"] = tally(self.violations)
        settles = sorted(self.settle_seconds)
        document["settle_seconds"] = {
            "median": settles[len(settles) // 2] if settles else None,
            "max": settles[-1] if settles else None,
        }
        return document

    def summary(self) -> str:
        counts = tally(self.violations)
        lines = [
            f"{self.scenario} on {self.runtime}, seed {self.seed}: {self.seconds:.0f} s, "
            f"stopped by {self.stopped_by}",
            f"  faults: {dict(self.faults)}",
            f"  operations: {dict(self.operations)}",
            f"  checks: {self.checks} settled looks, {self.pods_checked} pods and "
            f"{self.containers_checked} containers checked",
            "  " + ", ".join(f"{kind} {count}" for kind, count in counts.items()),
        ]
        shown = {
            name: value
            for name, value in self.figures.items()
            if not isinstance(value, list) and name != "answers"
        }
        if shown:
            lines.insert(4, f"  figures: {shown}")
        if self.runtime_restarted:
            lines.append(
                f"  started again after the runtime stopped them: {self.runtime_restarted}"
            )
        lines += [f"  VIOLATION {v.kind}: {v.detail}" for v in self.violations[:40]]
        if len(self.violations) > 40:
            lines.append(f"  ... {len(self.violations) - 40} more in the record")
        return "\n".join(lines)


class Checker:
    """The invariants of :mod:`bench.chaos.invariants`, applied to one scenario's run."""

    def __init__(
        self,
        runtime: Runtime,
        record: Record,
        settle_timeout: float,
        explained: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.runtime = runtime
        self.record = record
        self.settle_timeout = settle_timeout
        self.explained = dict(explained or {})
        """The scenario's own explained warnings (a URL that fails, ...)."""
        self.periods = Periods()
        self.continuity = Continuity()

    def wanted_now(self, uids: Iterable[str]) -> None:
        """Note the UIDs the manifests want after each change to them."""
        self.periods.update(uids)

    def moment(self, when: str) -> None:
        """What may never be seen, looked at right now."""
        self.record.add(at_any_moment(self.runtime.snapshot()), when)

    def settled(self, desired: Callable[[], dict[str, Wanted]], when: str) -> None:
        """Wait until the runtime runs what ``desired`` wants (twice in a row), then check
        every invariant; after the timeout, check what is there."""
        began = time.monotonic()
        agreed = 0
        while True:
            wanted = desired()
            self.periods.update(wanted)
            snapshot = self.runtime.snapshot()
            found = once_settled(wanted, snapshot)
            agreed = agreed + 1 if not found else 0
            waited = time.monotonic() - began
            if agreed == 2 or waited > self.settle_timeout:
                break
            time.sleep(0.3)
        self.record.settle_seconds.append(round(waited, 2))
        if found:
            found.append(Violation(found[0].kind, f"not settled after {waited:.0f} s"))
        found += self.continuity.look(wanted, self.periods, snapshot)
        self.record.add(found, when)
        self.record.checks += 1
        self.record.pods_checked += len(wanted)
        self.record.containers_checked += sum(len(w.containers) for w in wanted.values())

    def log(self, daemon: Daemon, children_killed: Counter[str]) -> None:
        """The log rules, and one ``process died`` line per child killed, naming it."""
        self.record.log = daemon.log_text()
        records = daemon.records()
        self.record.log_events = Counter(
            str(r.get("event")) for r in records if r.get("level") in ("warning", "error")
        )
        found = log_violations(records, daemon.unparsed(), EXPLAINED | self.explained)
        died = Counter(str(r.get("child")) for r in records if r.get("event") == "process died")
        if died != children_killed:
            said, done = dict(died), dict(children_killed)
            found.append(Violation("log", f"process died lines {said} but kills {done}"))
        self.record.add(found, "log")


@contextlib.contextmanager
def engine(name: str) -> Iterator[Runtime]:
    """The engine, held against other engine tests on this machine, clear before and after."""
    with engines_held():
        runtime = Runtime(name)
        try:
            runtime.clear()
            yield runtime
            runtime.clear()
        finally:
            runtime.close()


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def pause(rng: random.Random, longest: float) -> None:
    time.sleep(rng.uniform(0, longest))
