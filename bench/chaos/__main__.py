"""``python -m bench.chaos SCENARIO... --runtime docker|cri --seed N``: run fault scenarios,
print what each did and found, write one JSON record per scenario; exit 1 if any invariant
broke.

Scenarios: ``kills`` (1: kill -9 during churn), ``runtime-restarts`` (2: containerd
killed and started again during churn; ``--runtime cri`` only), ``manifest-dir`` (4: the manifest
directory deleted, recreated, swapped, made unreadable), ``manifest-url`` (5: the URL
down, slow, failing, oversized, garbage, looping, untrusted, flapping), ``fuzz`` (6: 100,000
fuzzed manifests through ``fastpod validate`` and a running fastpod's watcher), ``api-abuse``
(7: the read-only API under abuse). ``--quick`` runs each at the size the test suite uses.
Scenarios 6 and 7 test fastpod's own input handling and run it on the fake runtime
(``--runtime`` is then ignored, and no engine is needed).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.chaos import (
    api_abuse,
    docker_restarts,
    full_disk,
    fuzz,
    kills,
    manifest_dir,
    manifest_url,
    runtime_restarts,
)
from bench.chaos.harness import Record, Runtime, engine, git_commit

Scenario = Callable[[Runtime, int, argparse.Namespace, Path, Record], None]
FakeScenario = Callable[[int, argparse.Namespace, Path, Record], None]

ALIASES = {
    "1": "kills",
    "2": "runtime-restarts",
    "3": "full-disk",
    "4": "manifest-dir",
    "5": "manifest-url",
    "6": "fuzz",
    "7": "api-abuse",
}


def _kills(
    runtime: Runtime, seed: int, options: argparse.Namespace, work: Path, record: Record
) -> None:
    base = kills.QUICK if options.quick else kills.Sizes()
    sizes = kills.Sizes(
        kills=options.kills if options.kills is not None else base.kills,
        operations=options.operations if options.operations is not None else base.operations,
        pods=options.pods if options.pods is not None else base.pods,
        invalid=base.invalid,
        time_limit=options.time_limit if options.time_limit is not None else base.time_limit,
        settle_timeout=base.settle_timeout,
    )
    kills.run(runtime, seed, sizes, work, record)


def _runtime_restarts(
    runtime: Runtime, seed: int, options: argparse.Namespace, work: Path, record: Record
) -> None:
    quick = options.quick
    sizes = kills.Sizes(
        kills=options.kills or (2 if quick else 10),
        operations=options.operations or (16 if quick else 200),
        pods=options.pods or (10 if quick else 60),
        time_limit=options.time_limit or (40.0 if quick else 1800.0),
        settle_timeout=60.0,
    )
    if runtime.name == "docker":
        live_restore = not options.no_live_restore
        docker_restarts.run(runtime, seed, sizes, work, record, live_restore=live_restore)
    else:
        runtime_restarts.run(runtime, seed, sizes, work, record)


def _fuzz(seed: int, options: argparse.Namespace, work: Path, record: Record) -> None:
    sizes = fuzz.QUICK if options.quick else fuzz.Sizes()
    if options.inputs is not None:
        sizes = dataclasses.replace(sizes, inputs=options.inputs)
    if options.time_limit is not None:
        sizes = dataclasses.replace(sizes, time_limit=options.time_limit)
    fuzz.run(seed, sizes, work, record)


def _api_abuse(seed: int, options: argparse.Namespace, work: Path, record: Record) -> None:
    api_abuse.run(seed, api_abuse.QUICK if options.quick else api_abuse.Sizes(), work, record)


ON_THE_FAKE_RUNTIME: dict[str, FakeScenario] = {"fuzz": _fuzz, "api-abuse": _api_abuse}
"""Scenarios of fastpod's own input handling: no engine, whatever ``--runtime`` says."""


SCENARIOS: dict[str, Scenario] = {
    "kills": _kills,
    "runtime-restarts": _runtime_restarts,
    "full-disk": lambda runtime, seed, options, work, record: full_disk.run(
        runtime, seed, work, record, rounds=1 if options.quick else 3
    ),
    "manifest-dir": lambda runtime, seed, options, work, record: manifest_dir.run(
        runtime, seed, work, record, rounds=1 if options.quick else 5
    ),
    "manifest-url": lambda runtime, seed, options, work, record: manifest_url.run(
        runtime, seed, work, record, rounds=1 if options.quick else 5
    ),
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    names = [*SCENARIOS, *ON_THE_FAKE_RUNTIME]
    parser.add_argument("scenarios", nargs="+", metavar="SCENARIO", help=", ".join(names))
    parser.add_argument("--runtime", choices=("docker", "cri"), default="docker")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="the test suite's small sizes")
    parser.add_argument("--kills", type=int, help="kills: how many (default 100)")
    parser.add_argument("--operations", type=int, help="kills: churn operations (default 1000)")
    parser.add_argument("--pods", type=int, help="kills: pod names (default 200)")
    parser.add_argument("--time-limit", type=float, help="kills: seconds (default 3600)")
    parser.add_argument("--inputs", type=int, help="fuzz: fuzzed manifests (default 100,000)")
    parser.add_argument(
        "--no-live-restore",
        action="store_true",
        help="runtime-restarts on Docker: dockerd without --live-restore (it stops every "
        "container when it restarts)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("chaos-results"), help="where the JSON records go"
    )
    options = parser.parse_args(argv)
    options.scenarios = [ALIASES.get(name, name) for name in options.scenarios]
    unknown = [name for name in options.scenarios if name not in names]
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: choose from {', '.join(names)}")
    return options


def run_scenario(name: str, options: argparse.Namespace, argv: list[str]) -> Record:
    """One scenario on a clear engine, in a directory of its own; its record, written."""
    fake = name in ON_THE_FAKE_RUNTIME
    record = Record(
        scenario=name,
        runtime="fake" if fake else options.runtime,
        seed=options.seed,
        sizes={},
        command=shlex.join(["python", "-m", "bench.chaos", *argv]),
        started=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    )
    with contextlib.ExitStack() as stack:
        work = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix=f"fastpod-chaos-{name}-"))
        )
        if fake:
            ON_THE_FAKE_RUNTIME[name](options.seed, options, work, record)
        else:
            runtime = stack.enter_context(engine(options.runtime))
            SCENARIOS[name](runtime, options.seed, options, work, record)
    document = record.as_json()
    document["commit"] = git_commit()
    options.out.mkdir(parents=True, exist_ok=True)
    variant = "-no-live-restore" if options.no_live_restore and record.runtime == "docker" else ""
    path = options.out / f"{name}-{record.runtime}{variant}-seed{options.seed}.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    log = path.with_suffix(".log")
    log.write_bytes(record.log)
    print(record.summary())
    print(f"  record: {path}, fastpod's log: {log}")
    return record


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    options = parse(arguments)
    records = [run_scenario(name, options, arguments) for name in options.scenarios]
    return 1 if any(record.violations for record in records) else 0


if __name__ == "__main__":
    sys.exit(main())
