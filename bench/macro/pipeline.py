"""Macro benchmarks of the watcher → workers pipeline on the fake runtime.

Each scenario runs a real ``fastpod run --runtime fake`` over generated kubeadm-like
manifests (about 1.3 KB each) and prints its figure beside a floor or peer measured in the
same run, with the ratio and the target. Targets are reported, never asserted: the machine
is shared and noisy.

    python -m bench.macro.pipeline            # every scenario
    python -m bench.macro.pipeline cold edit  # some of them
"""

from __future__ import annotations

import argparse
import atexit
import compileall
import functools
import json
import math
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil
import yaml

import fastpod
from bench.manifests import manifest, pod_key, write_manifests
from fastpod.sources.files import RACY_WINDOW_NS, DirectorySource

NODE = "bench"
ADDED = b'"event":"pod added"'
STARTED = b'"event":"process started"'


@dataclass
class Result:
    """One line of the report."""

    scenario: str
    figure: float
    unit: str
    floor_label: str
    floor: float
    target: str

    def line(self) -> str:
        ratio = self.figure / self.floor if self.floor else float("nan")
        return (
            f"{self.scenario:<44} {self.figure:>9.3f} {self.unit:<3} | "
            f"{self.floor_label:<34} {self.floor:>9.3f} {self.unit:<3} | "
            f"ratio {ratio:>5.2f} | target {self.target}"
        )


def fastpod_command(runtime: str, directory: str, *extra: str) -> list[str]:
    """``fastpod run`` over ``directory`` on ``runtime``, as every macro benchmark starts it."""
    return [
        sys.executable,
        "-m",
        "fastpod",
        "run",
        "--runtime",
        runtime,
        "--pod-manifest-path",
        directory,
        "--hostname-override",
        NODE,
        *extra,
    ]


def fastpod_environment() -> dict[str, str]:
    """The environment to start fastpod in: this one, with fastpod as it is installed first
    on its path (:func:`installed_fastpod`), before the working directory's checkout that
    ``python -m`` would otherwise put first (``PYTHONSAFEPATH``)."""
    path = os.pathsep.join(filter(None, [installed_fastpod(), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONSAFEPATH": "1"}


@functools.cache
def installed_fastpod() -> str:
    """A directory holding a copy of the fastpod package being measured, its modules compiled.

    pip compiles a package's modules as it installs them, so a node never compiles fastpod.
    A checkout run where bytecode is not written (``PYTHONDONTWRITEBYTECODE``, as on the
    shared machine) would compile every module of fastpod at each start instead: about 0.1 s
    of CPU before the supervisor's first fork, part of no figure of a node. The copy keeps the
    bytecode out of the tree; it is removed when the bench ends.
    """
    directory = tempfile.mkdtemp(prefix="fastpod-bench-installed-")
    atexit.register(shutil.rmtree, directory, True)
    package = os.path.join(directory, "fastpod")
    shutil.copytree(
        os.path.dirname(fastpod.__file__), package, ignore=shutil.ignore_patterns("__pycache__")
    )
    compileall.compile_dir(package, quiet=1)
    return directory


class Fastpod:
    """A ``fastpod run`` over ``directory``, its stderr drained by a thread of its own.

    The thread reads whatever fastpod writes as soon as it is written, as a journal would:
    were the pipe left to fill while this process waits for a CPU on a busy machine,
    fastpod's own writes would block and their stalls be counted as its latency.
    """

    def __init__(self, directory: str, workers: int, *extra: str) -> None:
        # before the clock starts: the first call compiles the copy of fastpod it runs
        environment = fastpod_environment()
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            fastpod_command(
                "fake", directory, "--workers", str(workers), "--log-format", "json", *extra
            ),
            stderr=subprocess.PIPE,
            env=environment,
        )
        assert self.process.stderr is not None
        self._chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._drain = threading.Thread(
            target=_drain, args=(self.process.stderr.fileno(), self._chunks), daemon=True
        )
        self._drain.start()
        self._ended = False
        self._partial = b""
        self.children: dict[str, int] = {}
        """Each child's name (``watcher``, ``worker-0``, ...) → its pid, from its
        ``process started`` line."""

    def read_lines(self) -> list[bytes]:
        """The complete log lines available now (blocks until some arrive)."""
        chunk = b"" if self._ended else self._chunks.get()
        while chunk and not self._chunks.empty() and len(chunk) < 1 << 20:
            more = self._chunks.get()
            self._ended = not more
            chunk += more
        if not chunk:
            self._ended = True
            raise RuntimeError("fastpod exited")
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            if STARTED in line:
                record = json.loads(line)
                self.children[record["process"]] = record["pid"]
        return lines

    def wait_for_added(self, count: int) -> float:
        """Seconds from start until ``count`` pods were added."""
        added = 0
        while added < count:
            added += sum(1 for line in self.read_lines() if ADDED in line)
        return time.perf_counter() - self.started

    def processes(self) -> list[psutil.Process]:
        """The supervisor and its children."""
        supervisor = psutil.Process(self.process.pid)
        return [supervisor, *supervisor.children(recursive=True)]

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _drain(descriptor: int, chunks: queue.SimpleQueue[bytes]) -> None:
    """Read ``descriptor`` into ``chunks`` until end of file (an empty chunk says it)."""
    while True:
        chunk = os.read(descriptor, 1 << 20)
        chunks.put(chunk)
        if not chunk:
            return


def parse_floor(directory: str) -> float:
    """Single process: read and parse every manifest with PyYAML's CSafeLoader."""
    started = time.perf_counter()
    for entry in sorted(os.listdir(directory)):
        with open(os.path.join(directory, entry), "rb") as file:
            yaml.load(file.read(), Loader=yaml.CSafeLoader)
    return time.perf_counter() - started


def settle(directory: str) -> None:
    """Date the manifests back past the racy window, as files of a running node are."""
    past = time.time_ns() - 2 * RACY_WINDOW_NS
    for entry in os.listdir(directory):
        os.utime(os.path.join(directory, entry), ns=(past, past))


def cold_start(directory: str, count: int, workers: int) -> float:
    # a fresh --root-dir: an earlier run's parse cache would make this a warm start
    fastpod = Fastpod(
        directory, workers, "--root-dir", tempfile.mkdtemp(dir=os.path.dirname(directory))
    )
    try:
        return fastpod.wait_for_added(count)
    finally:
        fastpod.stop()


def scenario_cold(root: str) -> list[Result]:
    """Median of 5 runs, each beside a floor run just before it: the machine is noisy."""
    directory = write_dir(root, 10_000)
    floors, figures = [], []
    for _ in range(5):
        floors.append(parse_floor(directory))
        figures.append(cold_start(directory, 10_000, 2))
    return [
        Result(
            "cold start, 10,000 manifests, 2 workers, median",
            statistics.median(figures),
            "s",
            "1 process read+CSafeLoader, median",
            statistics.median(floors),
            "<= 2.0 s wall",
        ),
        Result(
            "cold start, 10,000 manifests, 2 workers, best",
            min(figures),
            "s",
            "1 process read+CSafeLoader, best",
            min(floors),
            "(informative)",
        ),
    ]


def scenario_scaling(root: str) -> list[Result]:
    results = []
    for count in (1_000, 10_000):
        directory = write_dir(root, count)
        floor = parse_floor(directory)
        for workers in (1, 2, 4):
            figure = cold_start(directory, count, workers)
            results.append(
                Result(
                    f"cold start, {count:,} manifests, {workers} worker(s)",
                    figure,
                    "s",
                    "1 process read+CSafeLoader parse",
                    floor,
                    "scaling (informative)",
                )
            )
    return results


def scenario_relist(root: str) -> list[Result]:
    directory = write_dir(root, 10_000)
    settle(directory)
    source = DirectorySource(directory)
    for _ in source.relist():
        pass
    ticks = []
    floors = []
    for _ in range(15):  # taking turns, so that the machine's load falls on both alike
        started = time.process_time()
        changes = list(source.relist())
        ticks.append(time.process_time() - started)
        assert changes == [], "nothing changed"
        started = time.process_time()
        for entry in os.scandir(directory):
            entry.stat()
        floors.append(time.process_time() - started)
    return [
        Result(
            "re-list tick, 10,000 unchanged (CPU, median)",
            statistics.median(ticks) * 1000,
            "ms",
            "bare scandir+stat of the same files",
            statistics.median(floors) * 1000,
            "<= 1.15x the floor",
        )
    ]


EDITS = 1_000
"""Edits timed by the edit scenario: enough for a p99.9 of one sample in a thousand, and
enough time (about 15 s) to cross the workers' resyncs and a re-list of the watcher."""

BUSY_EDITS = 40
"""Edits timed while the workers start the pods of a cold start (which takes seconds)."""


BUSY_TARGETS = (("p50", 0.5, "(informative)"), ("max", 1.0, "<= the edit p99 (10 ms)"))
"""An edit made while a worker is busy: its typical and its worst latency."""


def _edit_results(
    root: str, latencies: list[float], label: str, targets: tuple[tuple[str, float, str], ...]
) -> list[Result]:
    """The edits' latencies at each named fraction (``label`` formatted with the name),
    beside bare inotify's rename → event read, measured now."""
    floor = _inotify_floor(root) * 1000
    return [
        Result(
            label.format(name),
            percentile(latencies, fraction) * 1000,
            "ms",
            "bare inotify: rename → event read",
            floor,
            target,
        )
        for name, fraction, target in targets
    ]


def scenario_edit(root: str) -> list[Result]:
    directory = write_dir(root, 10_000)
    settle(directory)
    fastpod = Fastpod(directory, 2)
    try:
        fastpod.wait_for_added(10_000)
        time.sleep(1.0)
        latencies = edit_latencies(fastpod, directory, EDITS)
    finally:
        fastpod.stop()
    return _edit_results(
        root,
        latencies,
        f"edit → worker holds new spec, {{}} of {EDITS:,}",
        (
            ("p50", 0.5, "(informative)"),
            ("p99", 0.99, "p99 <= 10 ms"),
            ("p99.9", 0.999, "p99.9 <= 25 ms"),
            ("max", 1.0, "(informative)"),
        ),
    )


def scenario_busy_edit(root: str) -> list[Result]:
    """Edits made right after the 10,000th ``pod added``, while the workers start those
    pods: a manifest event must not wait behind the start-up's work."""
    directory = write_dir(root, 10_000)
    settle(directory)
    fastpod = Fastpod(directory, 2)
    try:
        fastpod.wait_for_added(10_000)
        latencies = edit_latencies(fastpod, directory, BUSY_EDITS, first=EDITS, pause=0.05)
    finally:
        fastpod.stop()
    return _edit_results(
        root, latencies, f"edit during start of 10,000 pods, {{}} of {BUSY_EDITS}", BUSY_TARGETS
    )


def scenario_pods_edit(root: str) -> list[Result]:
    """Edits made while a client asks for ``/pods`` over and over (each worker walks its
    5,000 pods' status for every answer), the start-up over: a manifest event must not
    wait behind the walk."""
    directory = write_dir(root, 10_000)
    settle(directory)
    port = _free_port()
    fastpod = Fastpod(directory, 2, "--read-only-port", str(port))
    asking = threading.Event()
    answers: list[float] = []
    try:
        fastpod.wait_for_added(10_000)
        time.sleep(POD_STARTS)
        asker = threading.Thread(target=_ask_pods, args=(port, asking, answers), daemon=True)
        asker.start()
        while not answers:  # the walks have begun
            time.sleep(0.01)
        latencies = edit_latencies(fastpod, directory, BUSY_EDITS, first=2 * EDITS, pause=0.05)
        asking.set()
        asker.join()
    finally:
        fastpod.stop()
    label = f"edit during /pods walks, {{}} of {BUSY_EDITS} ({len(answers)} walks)"
    return [
        *_edit_results(root, latencies, label, BUSY_TARGETS),
        Result(
            f"/pods answer, 10,000 pods, median of {len(answers)}",
            statistics.median(answers) * 1000,
            "ms",
            "(none)",
            0.0,
            "(informative)",
        ),
    ]


POD_STARTS = 10.0
"""Seconds after the last ``pod added`` by which the pods have started (on the fake runtime,
a loaded machine), so that pods-edit sees the walks and not the start-up."""


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ask_pods(port: int, stop: threading.Event, answers: list[float]) -> None:
    """GET /pods until ``stop``, noting how long each answer took."""
    import http.client

    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        began = time.perf_counter()
        try:
            connection.request("GET", "/pods")
            connection.getresponse().read()
            answers.append(time.perf_counter() - began)
        except OSError:
            time.sleep(0.1)  # not listening yet
        finally:
            connection.close()


def scenario_start_turns(root: str) -> list[Result]:
    """In one process: the longest wait of a readable pipe while 5,000 pods start."""
    import uvloop

    from bench.macro.start_turns import PODS, waits_while_starting

    idle, busy, cpu = uvloop.run(waits_while_starting(PODS))
    return [
        Result(
            f"pipe wait while {PODS:,} pods start, p50",
            percentile(busy.waits, 0.5) * 1000,
            "ms",
            "the same pipe on an idle loop, p50",
            percentile(idle.waits, 0.5) * 1000,
            "(informative)",
        ),
        Result(
            f"pipe wait while {PODS:,} pods start, max",
            max(busy.waits) * 1000,
            "ms",
            "the same pipe on an idle loop, max",
            max(idle.waits) * 1000,
            "<= the edit p99 (10 ms)",
        ),
        Result(
            f"CPU of a loop turn, {PODS:,} starting, p99",
            percentile(busy.turns, 0.99) * 1000,
            "ms",
            "a turn of the idle loop, p99",
            percentile(idle.turns, 0.99) * 1000,
            "(informative)",
        ),
        Result(
            f"CPU of a loop turn, {PODS:,} starting, max",
            max(busy.turns) * 1000,
            "ms",
            "a turn of the idle loop, max",
            max(idle.turns) * 1000,
            "<= the edit p99 (10 ms)",
        ),
        Result(
            f"CPU of starting {PODS:,} pods (fake runtime)",
            cpu,
            "s",
            "(none)",
            0.0,
            "(informative)",
        ),
    ]


def percentile(samples: list[float], fraction: float) -> float:
    """The sample below which ``fraction`` of them lie (nearest rank)."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def edit_latencies(
    fastpod: Fastpod, directory: str, edits: int, *, first: int = 0, pause: float = 0.01
) -> list[float]:
    """Seconds from each of ``edits`` manifest edits (a rename into place, as editors and
    kubeadm write) to the ``pod added`` line of its new spec, one edit at a time."""
    latencies = []
    for edit in range(first, first + edits):
        index = (edit * 7919) % 10_000
        key = pod_key(index, NODE).encode()
        path = os.path.join(directory, f"scheduler-{index:05d}.yaml")
        temporary = os.path.join(directory, f".edit-{index}")
        with open(temporary, "wb") as file:
            file.write(manifest(index, generation=3 + edit))
        edited_at = time.time()
        os.replace(temporary, path)
        latencies.append(_time_of_add(fastpod, key) - edited_at)
        time.sleep(pause)
    return latencies


def _time_of_add(fastpod: Fastpod, key: bytes) -> float:
    while True:
        for line in fastpod.read_lines():
            if ADDED in line and key in line:
                record = json.loads(line)
                stamp = record["time"].replace("Z", "+00:00")
                from datetime import datetime

                return datetime.fromisoformat(stamp).timestamp()


def _inotify_floor(root: str) -> float:
    """Median time for a bare inotify watch to see a rename, read in a blocking loop."""
    from inotify_simple import INotify, flags  # type: ignore[import-untyped]

    directory = tempfile.mkdtemp(dir=root)
    inotify = INotify()
    inotify.add_watch(directory, flags.MOVED_TO)
    samples = []
    for index in range(50):
        temporary = os.path.join(directory, f".t{index}")
        with open(temporary, "wb") as file:
            file.write(b"x")
        started = time.perf_counter()
        os.replace(temporary, os.path.join(directory, "target"))
        inotify.read()
        samples.append(time.perf_counter() - started)
    inotify.close()
    return statistics.median(samples)


def scenario_memory(root: str) -> list[Result]:
    """The memory of every process holding 10,000 pods, after a cold start (a fresh
    ``--root-dir``) and after a restart over the same files and root (its parse cache read):
    the default root is shared by every run on the machine, whose cache would make the
    figure one or the other by chance."""
    return _memory(root, probes=True)


def scenario_memory_quiet(root: str) -> list[Result]:
    """:func:`scenario_memory` with pods that have no probes: the manifests' probes dial a
    port nobody listens on, and how many of those connections are open when the memory is
    taken moves the figure by tens of megabytes from run to run. Without them, what is left
    is what a pod costs to hold, which is what a change to it should be judged by."""
    return _memory(root, probes=False)


def _memory(root: str, *, probes: bool) -> list[Result]:
    directory = write_dir(root, 10_000, probes=probes)
    root_dir = tempfile.mkdtemp(dir=root)
    pods = "10,000 pods" if probes else "10,000 probe-less pods"
    results = []
    for start in ("cold start", "warm restart"):
        held = _memory_holding(directory, root_dir)
        count = len(held)
        idle = _idle_interpreters(count)
        results += [
            Result(
                f"memory, {pods}, {start}, RSS ({count} proc.)",
                sum(rss for _, rss, _ in held) / 2**20,
                "MB",
                f"{count} idle interpreters, RSS",
                idle / 2**20,
                "<= 150 MB RSS",
            ),
            Result(
                f"memory, {pods}, {start}, USS (unshared)",
                sum(uss for _, _, uss in held) / 2**20,
                "MB",
                f"{count} idle interpreters, RSS",
                idle / 2**20,
                "(informative)",
            ),
        ]
        results += [
            Result(
                f"  {name}, RSS / USS",
                rss / 2**20,
                "MB",
                "its USS",
                uss / 2**20,
                "(informative)",
            )
            for name, rss, uss in held
        ]
    return results


HOLDING = 30.0
"""Seconds after the last ``pod added`` when the memory is taken: the pods are added
seconds before they have started, and their probes (the manifests' startup and liveness
probes, 10 s after the start and every 10 s) begin later still; both are memory too."""


def _memory_holding(directory: str, root_dir: str) -> list[tuple[str, int, int]]:
    """The processes of a ``fastpod run`` holding every pod of ``directory``: the name of
    each (its ``process started`` line), its RSS and its USS (bytes), :data:`HOLDING`
    seconds after the last pod was added."""
    fastpod = Fastpod(directory, 2, "--root-dir", root_dir)
    try:
        fastpod.wait_for_added(10_000)
        time.sleep(HOLDING)
        names = {pid: name for name, pid in fastpod.children.items()}
        held = [
            (
                names.get(process.pid, "supervisor"),
                process.memory_info().rss,
                process.memory_full_info().uss,
            )
            for process in fastpod.processes()
        ]
    finally:
        fastpod.stop()
    return held


def _idle_interpreters(count: int) -> int:
    idle = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        for _ in range(count)
    ]
    time.sleep(0.5)
    try:
        return sum(psutil.Process(process.pid).memory_info().rss for process in idle)
    finally:
        for process in idle:
            process.kill()
            process.wait()


def write_dir(root: str, count: int, *, probes: bool = True) -> str:
    directory = os.path.join(root, f"manifests-{count}" + ("" if probes else "-probe-less"))
    if not os.path.isdir(directory):
        write_manifests(directory, count, probes=probes)
    return directory


SCENARIOS: dict[str, Callable[[str], list[Result]]] = {
    "cold": scenario_cold,
    "relist": scenario_relist,
    "edit": scenario_edit,
    "busy-edit": scenario_busy_edit,
    "pods-edit": scenario_pods_edit,
    "start-turns": scenario_start_turns,
    "memory": scenario_memory,
    "memory-quiet": scenario_memory_quiet,
    "scaling": scenario_scaling,
}


def run_scenarios(scenarios: dict[str, Callable[[str], list[Result]]], description: str) -> None:
    """The command line of a synchronous macro suite: run the scenarios named (all by
    default) in one scratch directory, printing each figure as it comes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("scenarios", nargs="*", choices=[*scenarios, []], default=[])
    names = parser.parse_args().scenarios or list(scenarios)
    root = tempfile.mkdtemp(prefix="fastpod-bench-")
    try:
        for name in names:
            for result in scenarios[name](root):
                print(result.line(), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    run_scenarios(SCENARIOS, __doc__.splitlines()[0])
