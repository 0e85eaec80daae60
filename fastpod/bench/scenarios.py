"""Each scenario's runs (fastpod, then its floor and peers), and the record they make."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from fastpod import __version__
from fastpod.bench import (
    churn,
    density,
    floors,
    load_floors,
    podman,
    probes,
    restart,
    startup,
)
from fastpod.bench.figures import with_figures
from fastpod.bench.machine import this_machine
from fastpod.bench.record import Record, Role, Run, Settings
from fastpod.bench.session import Bench

Measure = Callable[[Bench], Run]


@dataclass(frozen=True)
class Peer:
    """A floor or a peer ``--compare`` can name: what it measures, and on what."""

    key: str
    """Its name on the command line."""
    role: Role
    measures: dict[str, Measure]
    """By scenario: how it measures that scenario."""
    runtimes: tuple[str, ...]
    label: Callable[[str], str]
    """Its name in the record and report, on a runtime."""
    labelled: bool = False
    """Its containers carry fastpod's label: a running fastpod removes them as orphans."""


PEERS = (
    Peer(
        "floor",
        "floor",
        {
            "startup": floors.startup_floor,
            "restart": floors.restart_floor,
            "churn": load_floors.churn_floor,
            "density": load_floors.density_floor,
            "probes": load_floors.probes_floor,
        },
        ("docker", "cri"),
        floors.floor_name,
        labelled=True,
    ),
    Peer(
        "docker-restart-policy",
        "peer",
        {"restart": restart.docker_restart_policy},
        ("docker",),
        lambda runtime: restart.POLICY_NAME,
        labelled=True,
    ),
    Peer(
        "podman",
        "peer",
        {"startup": podman.podman_peer},
        ("docker", "cri"),
        lambda runtime: podman.NAME,
    ),
)

SUBJECTS: dict[str, Measure] = {
    "startup": startup.measure_fastpod,
    "restart": restart.measure_fastpod,
    "churn": churn.measure_fastpod,
    "density": density.measure_fastpod,
    "probes": probes.measure_fastpod,
}


SERVED = (
    "fastpod runs on this node (--server) and would remove its containers, which carry "
    "fastpod's label, as orphans: measure it with a fastpod of the bench's own"
)


def chosen(
    scenario: str, runtime: str, keys: tuple[str, ...] | None, server: bool = False
) -> list[tuple[Peer, str | None]]:
    """The peers to run (all that apply, or those ``keys`` names), each with why it cannot
    run here (None when it can): one named that does not apply is kept, with its reason;
    with a running fastpod (``server``), those it would remove are kept with that reason
    (pure)."""
    result: list[tuple[Peer, str | None]] = []
    for peer in PEERS:
        if keys is not None and peer.key not in keys:
            continue
        if scenario not in peer.measures:
            if keys is not None:
                named = ", ".join(sorted(peer.measures))
                result.append((peer, f"it measures {named}, not {scenario}"))
        elif runtime not in peer.runtimes:
            if keys is not None:
                result.append((peer, f"it does not run on the {runtime} runtime"))
        else:
            result.append((peer, SERVED if server and peer.labelled else None))
    return result


def run(bench: Bench) -> tuple[list[Run], dict[str, str]]:
    """Check the runtime, then measure fastpod and the floor and peers chosen in turn; with
    the versions seen."""
    options = bench.options
    versions = {"fastpod": __version__, bench.target.name: bench.target.version()}
    bench.target.check_image(options.image)
    bench.check_alone()
    bench.say(
        f"{options.scenario}: {options.pods} pods on {bench.target.name} "
        f"({versions[bench.target.name]}), namespace {bench.namespace}"
    )
    runs = [SUBJECTS[options.scenario](bench)]
    for peer, reason in chosen(
        options.scenario, options.target.runtime, options.compare, options.server is not None
    ):
        name = peer.label(options.target.runtime)
        if reason is None and bench.interrupted():
            reason = "the run was interrupted before it"
        if reason is not None:
            bench.say(f"{name}: cannot run here: {reason}")
            runs.append(Run(name=name, role=peer.role, status="cannot run", reason=reason))
            continue
        runs.append(peer.measures[options.scenario](bench))
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
            server=options.server.url if options.server else None,
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
