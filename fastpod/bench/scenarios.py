"""Each scenario's runs (fastpod, then its floor and peers), and the record they make."""

from __future__ import annotations

import datetime
from collections.abc import Callable

from fastpod import __version__
from fastpod.bench import churn, density, floors, podman, probes, restart, startup
from fastpod.bench.figures import with_figures
from fastpod.bench.machine import this_machine
from fastpod.bench.record import Record, Role, Run, Settings
from fastpod.bench.session import Bench

Measure = Callable[[Bench], Run]
Other = tuple[str, Role, Measure]


def _startup(bench: Bench) -> tuple[Measure, list[Other]]:
    runtime = bench.options.target.runtime
    if runtime == "fake":
        return startup.measure_fastpod, []
    return startup.measure_fastpod, [
        (floors.floor_name(runtime), "floor", floors.startup_floor),
        (podman.NAME, "peer", podman.podman_peer),
    ]


def _restart(bench: Bench) -> tuple[Measure, list[Other]]:
    runtime = bench.options.target.runtime
    others: list[Other] = [(floors.floor_name(runtime), "floor", floors.restart_floor)]
    if runtime == "docker":
        others.append((restart.POLICY_NAME, "peer", restart.docker_restart_policy))
    return restart.measure_fastpod, others


def _alone(measure: Measure) -> Callable[[Bench], tuple[Measure, list[Other]]]:
    """A scenario measured on fastpod alone: its floor is the runtime's own columns."""
    return lambda bench: (measure, [])


SCENARIOS: dict[str, Callable[[Bench], tuple[Measure, list[Other]]]] = {
    "startup": _startup,
    "restart": _restart,
    "churn": _alone(churn.measure_fastpod),
    "density": _alone(density.measure_fastpod),
    "probes": _alone(probes.measure_fastpod),
}


def run(bench: Bench) -> tuple[list[Run], dict[str, str]]:
    """Check the runtime, then measure fastpod and, unless told not to, the floor and the
    peers in turn; with the versions seen."""
    versions = {"fastpod": __version__, bench.target.name: bench.target.version()}
    bench.target.check_image(bench.options.image)
    bench.target.check_alone()
    bench.say(
        f"{bench.options.scenario}: {bench.options.pods} pods on {bench.target.name} "
        f"({versions[bench.target.name]}), namespace {bench.namespace}"
    )
    subject, others = SCENARIOS[bench.options.scenario](bench)
    runs = [subject(bench)]
    for name, role, measure in others if bench.options.peers else []:
        if bench.interrupted():
            reason = "the run was interrupted before it"
            runs.append(Run(name=name, role=role, status="cannot run", reason=reason))
            continue
        runs.append(measure(bench))
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
            rounds=options.rounds if options.scenario == "restart" else None,
            rates=list(options.rates) if options.scenario == "churn" else None,
            p99_bound=options.p99_bound if options.scenario == "churn" else None,
            duration=options.duration if options.scenario == "churn" else None,
            steps=list(options.steps) if options.scenario == "density" else None,
            window=options.window if options.scenario in ("density", "probes") else None,
            probe_command=list(options.probe) if options.scenario == "probes" else None,
        ),
        runs=[
            with_figures(measured, options.p99_bound if options.scenario == "churn" else None)
            for measured in runs
        ],
    )
