"""Scenario 6: fuzzed manifests through ``fastpod validate`` and a running fastpod's watcher.

Batch after batch, :mod:`bench.chaos.fuzz_inputs` makes fuzzed manifests; each batch is

1. **validated** in this process by ``fastpod validate``'s own code
   (:func:`fastpod.validate.run` over the batch's directory: the listing, the read, the
   decode, the unhonoured fields and their lines, the text report; one batch in four with
   ``-o json`` or ``-o yaml``, so the valid pods are rendered too), and one batch in
   ``cli_every`` by the real CLI (``python -m fastpod validate DIR``) besides: its exit status
   is 0 or 1 and it prints no traceback;
2. **watched**: moved into the manifest directory of a ``fastpod run --runtime fake`` (the
   previous batch removed), beside steady pods that must stay untouched; a marker pod per
   worker, edited after the batch, tells when every worker has decoded it (each decodes
   the files of its shard in order).

A valid input whose ``hostPath`` volume would make a missing path on this machine
(``DirectoryOrCreate``, ``FileOrCreate``) is validated but held back from the watcher: the
fake runtime runs nothing, but fastpod prepares the volumes of the pods it starts.

At the end (and every ten batches) the steady pods are read back from ``/pods``: the same
UIDs, the same container IDs, restart count 0. Counted: inputs by kind and path, valid
ones, tracebacks (an exception out of ``validate``, a CLI traceback, a log line that is
no JSON record, a record carrying a ``traceback``), process deaths (``process died``, the
supervisor's exit). fastpod's log goes to a file, read as it grows: 100,000 inputs make
several hundred thousand lines, too many to keep as records.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chaos.fuzz_inputs import Fuzzer, Input, load_corpus
from bench.chaos.harness import Record, pod_manifest
from bench.chaos.invariants import LOG, LOST, RESTARTED, Violation
from fastpod import validate
from fastpod.ipc.messages import shard_of
from fastpod.manifest.decode import decode_pod
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource
from tests.support.corpus import corpus_location
from tests.support.pods import NODE
from tests.support.running import free_port

WORKERS = 2
STEADY = 4
CREATES = ("DirectoryOrCreate", "FileOrCreate")
FASTPOD_BUGS = ("message handling failed", "malformed message, peer dropped", "pod loop died")
"""Log events that say fastpod itself failed, whatever the input: each is a violation."""
KEPT_INPUTS = 20
"""Inputs that raised, kept in the record (base64) to reproduce them."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much to fuzz."""

    inputs: int = 100_000
    batch: int = 500
    cli_every: int = 25
    """One batch in this many also goes through the real CLI."""
    time_limit: float = 1800.0
    settle_timeout: float = 120.0


QUICK = Sizes(inputs=1_000, batch=250, cli_every=2, time_limit=60.0, settle_timeout=60.0)


class Log:
    """fastpod's JSON log, read from its file as it grows, counted rather than kept."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = b""
        self.lines = 0
        self.events: Counter[str] = Counter()
        self.warnings: Counter[str] = Counter()
        self.unparsed: list[str] = []
        self.tracebacks: list[dict[str, Any]] = []
        self.deaths: list[dict[str, Any]] = []
        self.pods: dict[str, str] = {}
        """Pod key → UID of every pod added, from its last add or update."""
        self.url = ""

    def read(self) -> None:
        with open(self.path, "rb") as file:
            file.seek(self._offset)
            data = self._partial + file.read()
            self._offset = file.tell()
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self._line(line)

    def _line(self, line: bytes) -> None:
        self.lines += 1
        try:
            record = json.loads(line)
        except ValueError:
            self.unparsed.append(line.decode(errors="replace"))
            return
        event = str(record.get("event"))
        self.events[event] += 1
        if record.get("level") in ("warning", "error"):
            self.warnings[event] += 1
        if "traceback" in record:
            self.tracebacks.append(record)
        if event == "process died":
            self.deaths.append(record)
        elif event == "API listening":
            self.url = str(record["url"])
        elif event in ("pod added", "pod updated"):
            self.pods[str(record.get("pod"))] = str(record.get("uid"))

    def wait(self, done: Any, timeout: float) -> bool:
        """Read on until ``done()`` holds; whether it did within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if done():
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


class Watched:
    """The running fastpod, its manifest directory and what must not change in it."""

    def __init__(self, work: Path, log: Log) -> None:
        self.directory = work / "manifests"
        self.directory.mkdir()
        self.log = log
        self.markers = _marker_names(str(self.directory))
        self.batch: list[str] = []
        self.version = 0
        for index in range(STEADY):
            body = pod_manifest(f"steady-{index}", 1)
            (self.directory / f"steady-{index}.yaml").write_bytes(body)
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "fastpod", "run", "--runtime", "fake",
                "--hostname-override", NODE, "--workers", str(WORKERS), "--log-format", "json",
                "--read-only-port", str(free_port()), "--healthz-port", "0",
                "--pod-manifest-path", str(self.directory),
                "--root-dir", str(work / "root"), "--pod-logs-dir", str(work / "logs" / "pods"),
                "--cluster-dns", "10.96.0.10",
            ],
            stderr=log.path.open("wb"),
        )  # fmt: skip
        self.steady: dict[str, tuple[str, dict[str, str]]] = {}

    def start(self, timeout: float) -> None:
        """Until the API listens and the steady pods run; then note what they run."""
        steady = [f"default/steady-{index}-{NODE}" for index in range(STEADY)]
        if not self.log.wait(lambda: self.log.url and all(p in self.log.pods for p in steady),
                             timeout):  # fmt: skip
            raise RuntimeError("fastpod did not start its steady pods")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.steady = {key: value for key, value in self.served().items() if "/steady-" in key}
            if len(self.steady) == STEADY and all(len(ids) == 1 for _, ids in self.steady.values()):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the steady pods did not all run: {self.steady}")

    def served(self) -> dict[str, tuple[str, dict[str, str]]]:
        """Pod key → (UID, container name → ``id@restartCount``) of the running containers
        ``/pods`` serves."""
        with urllib.request.urlopen(f"{self.log.url}/pods", timeout=30) as reply:
            items = json.loads(reply.read())["items"]
        served = {}
        for pod in items:
            metadata = pod["metadata"]
            running = {
                status["name"]: f"{status.get('containerID')}@{status.get('restartCount')}"
                for status in pod.get("status", {}).get("containerStatuses", [])
                if "running" in status.get("state", {})
            }
            served[f"{metadata['namespace']}/{metadata['name']}"] = (metadata["uid"], running)
        return served

    def feed(self, stage: Path, names: list[str]) -> None:
        """The previous batch removed, ``names`` moved in from ``stage``."""
        for name in self.batch:
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        for name in names:
            os.rename(stage / name, self.directory / name)
        self.batch = names

    def caught_up(self, timeout: float) -> bool:
        """Edit every marker and wait for each to be seen: the workers have decoded what
        came before it in their shard."""
        self.version += 1
        wanted = {}
        for index, name in enumerate(self.markers):
            body = pod_manifest(f"marker-{index}", self.version)
            path = self.directory / name
            temporary = self.directory / f".{name}.tmp"
            temporary.write_bytes(body)
            os.rename(temporary, path)
            uid = decode_pod(body, PodSource("file", str(path)), NODE).pod.metadata.uid
            wanted[f"default/marker-{index}-{NODE}"] = uid
        return self.log.wait(
            lambda: all(self.log.pods.get(key) == uid for key, uid in wanted.items()), timeout
        )

    def untouched(self) -> list[Violation]:
        """The steady pods run the very same containers, never restarted."""
        now = self.served()
        found = []
        for key, (uid, containers) in self.steady.items():
            if key not in now:
                found.append(Violation(LOST, f"{key} no longer served"))
            elif now[key] != (uid, containers):
                found.append(Violation(RESTARTED, f"{key}: {(uid, containers)} now {now[key]}"))
        return found

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


def run(seed: int, sizes: Sizes, work: Path, record: Record) -> None:
    """Scenario 6; fills ``record``."""
    record.sizes = {
        "inputs": sizes.inputs, "batch": sizes.batch, "cli_every": sizes.cli_every,
        "steady_pods": STEADY, "workers": WORKERS,
    }  # fmt: skip
    fuzzer = Fuzzer(load_corpus(corpus_location()), seed)
    stage = work / "stage"
    log = Log(work / "fastpod.log")
    watched = Watched(work, log)
    figures: Counter[str] = Counter()
    raised: list[dict[str, str]] = []
    began = time.monotonic()
    try:
        watched.start(sizes.settle_timeout)
        done = 0
        while done < sizes.inputs:
            if time.monotonic() - began > sizes.time_limit:
                record.stopped_by = "time"
                break
            inputs = fuzzer.batch(min(sizes.batch, sizes.inputs - done))
            number = done // sizes.batch
            names = _stage(stage, inputs, done)
            output: validate.OutputFormat = ("text", "json", "text", "yaml")[number % 4]
            _validate(stage, names, inputs, output, figures, raised)
            if number % sizes.cli_every == 0:
                _validate_cli(stage, len(inputs), figures, raised)
            held = _held_back(stage, names)
            figures["held back from the watcher"] += len(held)
            fed = [name for name in names if name not in held]
            watched.feed(stage, fed)
            figures["watched"] += len(fed)
            for kind, _ in inputs:
                record.operations[kind] += 1
            done += len(inputs)
            if not watched.caught_up(sizes.settle_timeout):
                record.add([Violation(LOST, "the watcher's workers did not catch up")], f"{done}")
            if not watched.alive():
                break
            if number % 10 == 9:
                record.add(watched.untouched(), f"after {done} inputs")
                record.checks += 1
        watched.feed(stage, [])
        if watched.alive() and not watched.caught_up(sizes.settle_timeout):
            record.add([Violation(LOST, "the watcher's workers did not catch up")], "end")
        if watched.alive():
            record.add(watched.untouched(), "end")
            record.checks += 1
        record.pods_checked = STEADY * record.checks
        record.containers_checked = STEADY * record.checks
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        alive = watched.alive()
        watched.stop()
        log.read()
        record.log = log.path.read_bytes()
    _account(record, figures, raised, log, alive)


def _stage(stage: Path, inputs: list[Input], first: int) -> list[str]:
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    names = []
    for offset, (_, data) in enumerate(inputs):
        name = f"fuzz-{first + offset:06d}.yaml"
        (stage / name).write_bytes(data)
        names.append(name)
    return names


def _validate(
    stage: Path,
    names: list[str],
    inputs: list[Input],
    output: validate.OutputFormat,
    figures: Counter[str],
    raised: list[dict[str, str]],
) -> None:
    """The batch through ``fastpod validate``'s code; an exception out of it is counted,
    then each input alone finds which raised."""
    options = validate.ValidateOptions([str(stage)], NODE, output)
    out, report = io.StringIO(), io.StringIO()
    try:
        validate.run(options, out, report)
    except Exception:
        for name, (kind, data) in zip(names, inputs, strict=True):
            alone = validate.ValidateOptions([str(stage / name)], NODE, output)
            try:
                validate.run(alone, io.StringIO(), io.StringIO())
            except Exception:
                figures["tracebacks, validate"] += 1
                if len(raised) < KEPT_INPUTS:
                    raised.append({
                        "kind": kind, "output": output, "traceback": traceback.format_exc(),
                        "input_base64": base64.b64encode(data[:65536]).decode(),
                    })  # fmt: skip
        return
    said = out.getvalue() if output == "text" else report.getvalue()
    figures["validated"] += len(names)
    figures["valid"] += said.count(": OK (")


def _validate_cli(
    stage: Path, count: int, figures: Counter[str], raised: list[dict[str, str]]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fastpod", "validate", str(stage)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    figures["validated by the CLI"] += count
    if result.returncode not in (0, 1) or "Traceback" in result.stderr + result.stdout:
        figures["tracebacks, CLI"] += 1
        raised.append({"kind": "cli", "traceback": result.stderr[-4000:]})


def _held_back(stage: Path, names: list[str]) -> set[str]:
    """Valid inputs that would make a missing host path when their pod starts."""
    held = set()
    for name in names:
        data = (stage / name).read_bytes()
        if b"OrCreate" not in data:
            continue
        try:
            pod = decode_pod(data, PodSource("file", str(stage / name)), NODE).pod
        except ManifestError:
            continue
        for volume in pod.spec.volumes or ():
            host = volume.host_path
            if host is not None and host.type in CREATES and not os.path.lexists(host.path or "/"):
                held.add(name)
    return held


def _marker_names(directory: str) -> list[str]:
    """A marker file name per worker, in the shard that worker decodes."""
    names: dict[int, str] = {}
    candidate = 0
    while len(names) < WORKERS:
        name = f"marker-{candidate}.yaml"
        names.setdefault(shard_of(os.path.join(directory, name), WORKERS), name)
        candidate += 1
    return [names[index] for index in range(WORKERS)]


def _account(
    record: Record,
    figures: Counter[str],
    raised: list[dict[str, str]],
    log: Log,
    alive: bool,
) -> None:
    """The figures, and a violation for every traceback and death."""
    figures["tracebacks, log"] = len(log.unparsed) + len(log.tracebacks)
    figures["process deaths"] = len(log.deaths) + (0 if alive else 1)
    figures["log lines"] = log.lines
    figures["pod rejected"] = log.events["pod rejected"]
    figures["pod added"] = log.events["pod added"]
    figures["fastpod's own failures"] = sum(log.events[event] for event in FASTPOD_BUGS)
    record.faults = Counter({kind: count for kind, count in record.operations.items()})
    record.log_events = log.warnings
    record.figures = {**figures, "raised": raised}
    for entry in raised:
        record.add([Violation(LOG, entry["traceback"][-600:])], f"traceback ({entry['kind']})")
    for line in log.unparsed[:20]:
        record.add([Violation(LOG, line[:600])], "log line not a record")
    for entry in log.tracebacks[:20]:
        record.add([Violation(LOG, str(entry.get("traceback"))[-600:])], str(entry.get("event")))
    for event in FASTPOD_BUGS:
        if log.events[event]:
            record.add([Violation(LOG, f"{log.events[event]} lines")], event)
    for death in log.deaths:
        record.add([Violation(LOG, json.dumps(death))], "process died")
    if not alive:
        record.add([Violation(LOG, "the supervisor exited")], "end")
