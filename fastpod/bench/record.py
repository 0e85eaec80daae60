"""The JSON record of one ``fastpod bench`` run: a documented, versioned schema.

One record holds the machine, the versions, the settings and, for fastpod and each floor or
peer measured in the same run, every sample and the figures worked out from them, so that
runs made months apart can be compared (``fastpod bench compare``) and every figure checked
against its samples. docs/bench.md describes each field; a change that a reader of an older
record would misread takes a new :data:`SCHEMA_VERSION`.

Times in samples are seconds since the run began (wall clock, the same clock fastpod's log
lines carry); sizes are bytes; CPU is seconds.
"""

from __future__ import annotations

from typing import Literal

import msgspec

SCHEMA_VERSION = 1
"""The version of this schema; :func:`decode` refuses any other."""

Role = Literal["subject", "floor", "peer"]
"""fastpod itself; the runtime's own calls doing the same work (what cannot be beaten);
another tool doing the same job."""

Status = Literal["measured", "cannot run"]


class Machine(msgspec.Struct, frozen=True, kw_only=True):
    """Where the run was made."""

    hostname: str
    os: str
    kernel: str
    cpu_model: str
    cpus: int
    memory_bytes: int
    python: str


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """What was asked for: the scenario and its parameters (unused ones left out)."""

    scenario: str
    runtime: str
    namespace: str
    """The namespace of every pod the run made (``fastpod-bench-`` and six hex digits)."""
    server: str | None = None
    """With ``--server``: the API of the running fastpod measured (else the bench ran a
    fastpod of its own)."""
    pods: int
    containers_per_pod: int
    image: str
    workers: int | None = None
    profile: str | None = None
    rates: list[float] | None = None
    """churn: manifest changes a second, each rate kept up in turn."""
    p99_bound: float | None = None
    """churn: the p99 latency a rate must stay under to count as sustained."""
    duration: float | None = None
    """churn, probes: seconds the load is kept up."""
    steps: list[int] | None = None
    """density: the numbers of pods measured in turn."""
    rounds: int | None = None
    """restart: how many times every container was killed."""
    window: float | None = None
    """density, probes: seconds each settled window was measured."""
    probe_command: list[str] | None = None
    """probes: what each readiness probe ran."""


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    """One measured latency: from ``begin`` to ``end`` (seconds since the run began).

    ``kind`` says what was measured: ``start`` (first seen → all containers running),
    ``restart`` (a container's exit → its replacement running, no back-off),
    ``crash-loop restart`` (the same after a back-off), ``add`` / ``edit`` (churn).
    ``written`` is when the bench wrote the pod's manifest, where it wrote one.
    """

    pod: str
    kind: str
    begin: float
    end: float
    written: float | None = None
    rate: float | None = None
    """churn: the rate of changes (a second) it was made at."""

    @property
    def latency(self) -> float:
        return self.end - self.begin


class Usage(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """What a group of processes used, sampled at ``at`` (seconds since the run began):
    their CPU time so far and their resident memory now."""

    at: float
    cpu_seconds: float
    rss_bytes: int


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """density, probes: a window of ``seconds`` with ``pods`` pods running, settled: what
    fastpod (and the runtime) used in it."""

    pods: int
    seconds: float
    rss_bytes: int
    """fastpod's processes' resident memory, all together, at the window's end."""
    cpu_seconds: float
    """fastpod's CPU time (user and system) in the window."""
    runtime_rss_bytes: int | None = None
    runtime_cpu_seconds: float | None = None
    probes: int | None = None
    """probes: the probes fastpod ran in the window (its ``prober_probe_total``)."""


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One number of the report, worked out from the run's samples."""

    name: str
    value: float
    unit: str
    better: Literal["lower", "higher"] = "lower"


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """fastpod, a floor or a peer in this run: measured, or why it cannot run here."""

    name: str
    role: Role
    status: Status
    reason: str | None = None
    """Why it cannot run here, when it cannot."""
    version: str | None = None
    samples: list[Sample] = msgspec.field(default_factory=list)
    usage: dict[str, list[Usage]] = msgspec.field(default_factory=dict)
    """By process group (``fastpod``, ``runtime``): CPU and memory over the run."""
    steps: list[Step] = msgspec.field(default_factory=list)
    figures: list[Figure] = msgspec.field(default_factory=list)


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """One run of one scenario."""

    schema_version: int = SCHEMA_VERSION
    started: str
    """When the run began, RFC 3339 in UTC."""
    seconds: float
    """How long the whole run took, peers and cleanup included."""
    interrupted: bool = False
    """Stopped by a signal before every peer was measured: the samples are partial."""
    machine: Machine
    versions: dict[str, str]
    """fastpod's, the runtime's and each peer's version, by name."""
    settings: Settings
    runs: list[Run]


class RecordError(Exception):
    """A file that is not a record this version of fastpod can read, in one line."""


def encode(record: Record) -> bytes:
    """The record as indented JSON, one file per run."""
    return msgspec.json.format(msgspec.json.encode(record), indent=1) + b"\n"


def decode(data: bytes, where: str) -> Record:
    """The record in ``data`` (read from ``where``); RecordError naming the field at fault."""
    try:
        version = msgspec.json.decode(data, type=_Versioned).schema_version
    except msgspec.DecodeError as error:
        raise RecordError(f"{where}: not a fastpod bench record: {error}") from None
    if version != SCHEMA_VERSION:
        raise RecordError(
            f"{where}: record schema version {version}; this fastpod reads {SCHEMA_VERSION}"
        )
    try:
        return msgspec.json.decode(data, type=Record)
    except msgspec.DecodeError as error:
        raise RecordError(f"{where}: {error}") from None


class _Versioned(msgspec.Struct):
    schema_version: int
