"""Macro benchmarks of reading manifests: cold start, warm start, the JSON decode, identity.

Each figure is printed beside its floor measured in the same run, with the ratio and the
target (issue 19); targets are reported, never asserted. ``identity`` is the exception: it
is a proof, not a timing, and exits non-zero if rapidyaml's fast path ever reads a generated
document otherwise than libyaml.

    python -m bench.macro.parse                    # cold warm json yaml
    python -m bench.macro.parse identity           # 100,000 generated documents (~20 min)
    python -m bench.macro.parse identity --documents 5000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import msgspec
import yaml

from bench.macro.pipeline import Fastpod, Result, parse_floor, settle, write_dir
from bench.manifests import manifest
from fastpod.manifest.decode import decode_pod
from fastpod.manifest.documents import load_yaml11
from fastpod.manifest.fast_yaml import fast_load
from fastpod.model import PodSource
from tests.support.corpus import corpus_location

COUNT = 10_000
WORKERS = 2
RUNS = 3


class Start(NamedTuple):
    """One start of ``fastpod run``: its wall time and the CPU all its processes used."""

    wall: float
    cpu: float


def start(directory: str, root_dir: str) -> Start:
    """From launching ``fastpod run`` until every manifest's pod was added."""
    fastpod = Fastpod(directory, WORKERS, "--root-dir", root_dir)
    try:
        wall = fastpod.wait_for_added(COUNT)
        cpu = sum(sum(process.cpu_times()[:2]) for process in fastpod.processes())
        return Start(wall, cpu)
    finally:
        fastpod.stop()


def floor_run(directory: str) -> Start:
    """The floor: one process reading and parsing every manifest with CSafeLoader."""
    started = time.process_time()
    wall = parse_floor(directory)
    return Start(wall, time.process_time() - started)


def _results(label: str, figures: list[Start], floors: list[Start], target: str) -> list[Result]:
    return [
        Result(
            f"{label}, wall",
            statistics.median(figure.wall for figure in figures),
            "s",
            "1 process read+CSafeLoader, wall",
            statistics.median(floor.wall for floor in floors),
            target,
        ),
        Result(
            f"{label}, CPU of all processes",
            statistics.median(figure.cpu for figure in figures),
            "s",
            "1 process read+CSafeLoader, CPU",
            statistics.median(floor.cpu for floor in floors),
            "(informative: immune to a busy machine)",
        ),
    ]


def scenario_cold(root: str) -> list[Result]:
    """A fresh --root-dir each run (no parse cache), each run beside a floor run."""
    directory = write_dir(root, COUNT)
    settle(directory)
    floors, figures = [], []
    for _ in range(RUNS):
        floors.append(floor_run(directory))
        figures.append(start(directory, tempfile.mkdtemp(dir=root)))
    label = f"cold start, {COUNT:,} manifests, {WORKERS} workers"
    return _results(label, figures, floors, "<= 0.35x the floor")


def scenario_warm(root: str) -> list[Result]:
    """The same --root-dir as a first run's: the manifests are unchanged, the cache full."""
    directory = write_dir(root, COUNT)
    settle(directory)
    root_dir = tempfile.mkdtemp(dir=root)
    start(directory, root_dir)
    floors, figures = [], []
    for _ in range(RUNS):
        floors.append(floor_run(directory))
        figures.append(start(directory, root_dir))
    label = f"warm start, {COUNT:,} unchanged manifests"
    return _results(label, figures, floors, "<= 0.15x the floor")


def _per_call(function: Callable[[], object], loops: int = 2000) -> float:
    """Microseconds of CPU a call, the best of 9 rounds (CPU time: the machine is shared)."""
    best = float("inf")
    for _ in range(9):
        started = time.process_time()
        for _ in range(loops):
            function()
        best = min(best, (time.process_time() - started) / loops)
    return best * 1e6


def scenario_json(root: str) -> list[Result]:
    """decode_pod on a manifest as JSON, beside msgspec's bare decode of the same bytes:
    the bench manifest (kube-scheduler) and, with the corpus, kubeadm's kube-apiserver."""
    manifests = {"kube-scheduler (bench)": manifest(1)}
    apiserver = corpus_location() / "zetaoss__zeta-linux" / "kube-apiserver.yaml"
    if apiserver.is_file():
        manifests["kube-apiserver (corpus)"] = apiserver.read_bytes()
    source = PodSource("file", "/etc/kubernetes/manifests/pod.json")
    results = []
    for name, yaml_bytes in manifests.items():
        data: bytes = json.dumps(yaml.safe_load(yaml_bytes)).encode()
        figure = _per_call(partial(decode_pod, data, source, "bench"))
        floor = _per_call(partial(msgspec.json.decode, data))
        results.append(
            Result(
                f"JSON {name}: decode+default+validate",
                figure,
                "us",
                "msgspec.json.decode alone",
                floor,
                "<= 30 us",
            )
        )
    return results


def scenario_yaml(root: str) -> list[Result]:
    """One manifest's parse on each path, beside CSafeLoader's."""
    data = manifest(1)
    floor = _per_call(lambda: yaml.load(data, Loader=yaml.CSafeLoader), 500)
    assert fast_load(data) is not None, "the bench manifest takes the fast path"
    return [
        Result("YAML parse, rapidyaml fast path", _per_call(lambda: fast_load(data)),
               "us", "CSafeLoader", floor, "(informative)"),
        Result("YAML parse, libyaml with go-yaml rules", _per_call(lambda: load_yaml11(data), 500),
               "us", "CSafeLoader", floor, "(informative)"),
    ]  # fmt: skip


def identity(documents: int) -> int:
    """Generated documents through both paths; the number of differences (0 expected)."""
    from hypothesis import HealthCheck, given, settings

    from tests.support.yaml_documents import fast_path_differs, yaml_documents

    counts = {"documents": 0, "fast": 0, "differences": 0}

    @settings(
        max_examples=documents,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(yaml_documents())
    def check(data: bytes) -> None:
        counts["documents"] += 1
        if counts["documents"] % 10_000 == 0:
            print(f"identity: {counts['documents']:,} documents so far", flush=True)
        counts["fast"] += fast_load(data) is not None
        why = fast_path_differs(data)
        if why is not None:
            counts["differences"] += 1
            print(f"DIFFERENT: {data!r}: {why}", flush=True)

    check()
    print(
        f"identity: {counts['documents']:,} generated documents, {counts['fast']:,} read by "
        f"rapidyaml, {counts['differences']} read differently from libyaml",
        flush=True,
    )
    return counts["differences"]


SCENARIOS: dict[str, Callable[[str], list[Result]]] = {
    "cold": scenario_cold,
    "warm": scenario_warm,
    "json": scenario_json,
    "yaml": scenario_yaml,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", choices=[*SCENARIOS, "identity", []], default=[])
    parser.add_argument("--documents", type=int, default=100_000)
    arguments = parser.parse_args()
    names = arguments.scenarios or list(SCENARIOS)
    root = tempfile.mkdtemp(prefix="fastpod-bench-parse-")
    failed = False
    try:
        for name in names:
            if name == "identity":
                failed |= identity(arguments.documents) > 0
                continue
            for result in SCENARIOS[name](root):
                print(result.line(), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
