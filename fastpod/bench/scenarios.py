"""Each scenario's runs (fastpod, then its floor and peers), and the record they make."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from fastpod import __version__
from fastpod.bench import floors, podman, startup
from fastpod.bench.figures import with_figures
from fastpod.bench.machine import this_machine
from fastpod.bench.record import Record, Role, Run, Settings
from fastpod.bench.session import Bench

Measure = Callable[[Bench], list[Run]]


def _startup(bench: Bench) -> list[Run]:
    others: list[tuple[str, Role, Callable[[Bench], Run]]] = []
    if bench.options.peers and bench.options.target.runtime != "fake":
        floor = (
            floors.docker_floor if bench.options.target.runtime == "docker" else floors.cri_floor
        )
        floor_name = "Engine API" if bench.options.target.runtime == "docker" else "CRI calls"
        others = [(floor_name, "floor", floor), (podman.NAME, "peer", podman.podman_peer)]
    return _in_turn(bench, startup.measure_fastpod, others)


def _in_turn(
    bench: Bench,
    subject: Callable[[Bench], Run],
    others: list[tuple[str, Role, Callable[[Bench], Run]]],
) -> list[Run]:
    """fastpod, then each floor and peer in turn; those an interruption left unmeasured are
    in the record all the same, saying so."""
    runs = [subject(bench)]
    for name, role, measure in others:
        if bench.interrupted():
            runs.append(
                Run(
                    name=name,
                    role=role,
                    status="cannot run",
                    reason="the run was interrupted before it",
                )
            )
            continue
        runs.append(measure(bench))
    return runs


MEASURES: dict[str, Measure] = {"startup": _startup}


def run(bench: Bench) -> tuple[list[Run], dict[str, str]]:
    """Check the runtime, then measure the scenario's runs; with the versions seen."""
    versions = {"fastpod": __version__, bench.target.name: bench.target.version()}
    bench.target.check_alone()
    bench.say(
        f"{bench.options.scenario}: {bench.options.pods} pods on {bench.target.name} "
        f"({versions[bench.target.name]}), namespace {bench.namespace}"
    )
    runs = MEASURES[bench.options.scenario](bench)
    for measured in runs:
        if measured.version is not None and measured.role == "peer":
            versions[measured.name] = measured.version
    return runs, versions


def record(bench: Bench, runs: list[Run], versions: dict[str, str], seconds: float) -> Record:
    """The run's record: its runs with their figures worked out."""
    options = bench.options
    started = datetime.datetime.fromtimestamp(bench.origin, datetime.UTC)
    return Record(
        started=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        seconds=seconds,
        interrupted=bench.interrupted(),
        machine=this_machine(),
        versions=versions,
        settings=Settings(
            scenario=options.scenario,
            runtime=options.target.runtime,
            namespace=bench.namespace,
            pods=options.pods,
            containers_per_pod=options.containers,
            image=options.image,
            workers=options.workers,
            profile=options.profile,
        ),
        runs=[with_figures(measured) for measured in runs],
    )
