"""PURE: the kubelet's probe decisions (v1.32 ``pkg/kubelet/prober``), time passed in.

One ``ProbeState`` per container instance and probe kind, as a kubelet probe ``worker``
holds it: the value its results manager holds (``results.Success``/``Failure``/``Unknown``),
the run of identical results that the thresholds count, and when the probe is next due.
Liveness and readiness wait until the container has started (its startup probe succeeded,
or it has none); the startup probe stops once it has. Liveness or startup failing
``failureThreshold`` times in a row asks for a kill; readiness only changes ``ready``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal, NamedTuple

import msgspec

from fastpod.model import Container, Pod, Probe
from fastpod.runtime.base import ContainerInfo

ProbeKind = Literal["liveness", "readiness", "startup"]
PROBE_KINDS: tuple[ProbeKind, ...] = ("startup", "liveness", "readiness")
"""Every kind, in the order a due container runs them."""
Result = Literal["success", "failure", "unknown"]
"""What the kubelet's results manager holds for a probe (``results.Result``)."""
HandlerResult = Literal["success", "warning", "failure", "unknown", "error"]
"""What running a probe handler gave (``probe.Result``), or ``error`` when it could not run."""

INITIAL_RESULT: dict[ProbeKind, Result] = {
    "liveness": "success",
    "readiness": "failure",
    "startup": "unknown",
}
"""A new instance's value before any probe (the worker's ``initialValue``)."""

MINIMUM_GRACE_SECONDS = 2
"""The kubelet's ``minimumGracePeriodInSeconds``: what the runtime's stop always gets."""


class ProbeTiming(NamedTuple):
    """A probe's timing and thresholds, in seconds and counts."""

    initial_delay: int
    period: int
    timeout: int
    success_threshold: int
    failure_threshold: int


def probe_timing(probe: Probe) -> ProbeTiming:
    """The timing of a probe as decoding defaulted it (``manifest/defaults.py``)."""
    return ProbeTiming(
        initial_delay=probe.initial_delay_seconds or 0,
        period=_defaulted(probe.period_seconds, "periodSeconds"),
        timeout=_defaulted(probe.timeout_seconds, "timeoutSeconds"),
        success_threshold=_defaulted(probe.success_threshold, "successThreshold"),
        failure_threshold=_defaulted(probe.failure_threshold, "failureThreshold"),
    )


def _defaulted(value: int | None, field: str) -> int:
    if value is None:
        raise ValueError(f"probe {field} is not set: the pod was not defaulted")
    return value


def probe_of(container: Container, kind: ProbeKind) -> Probe | None:
    """The container's probe of that kind, if it has one."""
    if kind == "liveness":
        return container.liveness_probe
    if kind == "readiness":
        return container.readiness_probe
    return container.startup_probe


def probed(container: Container) -> bool:
    """Whether the container has a probe (validation leaves each one a handler)."""
    return any(probe_of(container, kind) is not None for kind in PROBE_KINDS)


class ProbeState(msgspec.Struct, frozen=True, kw_only=True):
    """One probe of one container instance, between two probes."""

    kind: ProbeKind
    result: Result
    """The value the kubelet's results manager holds."""
    successes: int = 0
    """Consecutive successes (0 while the last counted result was a failure)."""
    failures: int = 0
    """Consecutive failures (0 while the last counted result was a success)."""
    on_hold: bool = False
    """Liveness or startup reached its failure threshold: no probe until a new instance."""
    next_due: float


class ContainerProbes(msgspec.Struct, frozen=True, kw_only=True):
    """The probes of one container instance (one runtime container id)."""

    container_id: str
    started: bool
    """The startup probe succeeded, or there is none (the status's ``started``)."""
    liveness: ProbeState | None = None
    readiness: ProbeState | None = None
    startup: ProbeState | None = None

    def state(self, kind: ProbeKind) -> ProbeState | None:
        """The state of the probe of that kind, if the container has one."""
        if kind == "liveness":
            return self.liveness
        if kind == "readiness":
            return self.readiness
        return self.startup


class ProbeVerdict(NamedTuple):
    """What one probe result means: the held result, whether it changed, whether to kill."""

    result: Result
    changed: bool
    kill: bool


def new_instance(
    container: Container,
    container_id: str,
    started_at: float,
    jitter: float,
) -> ContainerProbes:
    """The probes of a container instance that started at ``started_at``.

    A new instance starts over (the kubelet resets a worker when the container id
    changes): readiness false, not started if there is a startup probe. The first
    probe is due after ``initialDelaySeconds``, plus ``jitter`` (a fraction in [0, 1) the
    caller draws) of the period for liveness and startup, the kubelet's random first wait
    that keeps probes of pods started together apart. Readiness gets no jitter: the
    kubelet runs it at once whenever a started container is not yet ready.
    """
    if not 0.0 <= jitter < 1.0:
        raise ValueError(f"jitter must be in [0, 1), not {jitter}")
    states: dict[ProbeKind, ProbeState] = {}
    for kind in ("liveness", "readiness", "startup"):
        probe = probe_of(container, kind)
        if probe is None:
            continue
        timing = probe_timing(probe)
        spread = 0.0 if kind == "readiness" else jitter * timing.period
        states[kind] = ProbeState(
            kind=kind,
            result=INITIAL_RESULT[kind],
            next_due=started_at + timing.initial_delay + spread,
        )
    return ContainerProbes(
        container_id=container_id,
        started="startup" not in states,
        liveness=states.get("liveness"),
        readiness=states.get("readiness"),
        startup=states.get("startup"),
    )


def for_container(
    current: ContainerProbes | None,
    container: Container,
    container_id: str,
    started_at: float,
    jitter: float,
) -> ContainerProbes:
    """The probes to keep for the instance ``container_id``: the same ones, or new ones
    when the container was restarted (another id)."""
    if current is not None and current.container_id == container_id:
        return current
    return new_instance(container, container_id, started_at, jitter)


def runnable(probes: ContainerProbes, kind: ProbeKind) -> bool:
    """Whether the probe of that kind runs at all now: liveness and readiness only once
    the container has started, startup only until then, none on hold."""
    state = probes.state(kind)
    if state is None or state.on_hold:
        return False
    return probes.started != (kind == "startup")


def due(probes: ContainerProbes, kind: ProbeKind, now: float) -> bool:
    """Whether the probe of that kind should run now."""
    state = probes.state(kind)
    return state is not None and runnable(probes, kind) and now >= state.next_due


def next_due(probes: ContainerProbes) -> float | None:
    """When the earliest runnable probe is next due; None when none will run."""
    times = [
        state.next_due
        for kind in ("liveness", "readiness", "startup")
        if (state := probes.state(kind)) is not None and runnable(probes, kind)
    ]
    return min(times, default=None)


def counted(result: HandlerResult) -> Result | None:
    """A handler's result as the worker counts it: a warning is a success, an unknown
    result a failure, and an error (the probe could not run) is thrown away."""
    if result in ("success", "warning"):
        return "success"
    if result in ("failure", "unknown"):
        return "failure"
    return None


def record(
    probes: ContainerProbes,
    kind: ProbeKind,
    timing: ProbeTiming,
    result: HandlerResult,
    now: float,
) -> tuple[ContainerProbes, ProbeVerdict]:
    """The probes after one probe of ``kind`` gave ``result`` at ``now``, and what it means.

    The kubelet's ``doProbe``: a result changes what is held only once the run of equal
    results reaches its threshold; liveness or startup failing then holds the probe until
    a new instance (the container is killed). The next probe keeps the period's phase.
    """
    state = probes.state(kind)
    if state is None:
        raise ValueError(f"container has no {kind} probe")
    next_time = _next_tick(state.next_due, timing.period, now)
    value = counted(result)
    if value is None:
        updated = msgspec.structs.replace(state, next_due=next_time)
        return _with(probes, updated), ProbeVerdict(state.result, False, False)
    successes = state.successes + 1 if value == "success" else 0
    failures = state.failures + 1 if value == "failure" else 0
    run, threshold = (
        (successes, timing.success_threshold)
        if value == "success"
        else (failures, timing.failure_threshold)
    )
    held = value if run >= threshold else state.result
    kill = run >= threshold and value == "failure" and kind != "readiness"
    updated = ProbeState(
        kind=kind,
        result=held,
        successes=successes,
        failures=0 if kill else failures,
        on_hold=kill,
        next_due=next_time,
    )
    after = _with(probes, updated)
    if kind == "startup" and held == "success":
        after = msgspec.structs.replace(after, started=True)
    return after, ProbeVerdict(held, held != state.result, kill)


def _next_tick(due_at: float, period: int, now: float) -> float:
    """The first tick of the probe's ticker after ``now``; ticks missed while a probe ran
    are dropped, as a Go ticker drops them."""
    missed = max(0, math.floor((now - due_at) / period))
    return due_at + (missed + 1) * period


def _with(probes: ContainerProbes, state: ProbeState) -> ContainerProbes:
    if state.kind == "liveness":
        return msgspec.structs.replace(probes, liveness=state)
    if state.kind == "readiness":
        return msgspec.structs.replace(probes, readiness=state)
    return msgspec.structs.replace(probes, startup=state)


def started(
    container: Container,
    probes: ContainerProbes | None,
    running: bool,
) -> bool:
    """The container status's ``started`` (the prober manager's ``isContainerStarted``):
    running, and its startup probe succeeded if it has one.

    For a sidecar (a restartable init container) it is also the gate of the init
    sequence: the next init container may run once it holds (``computeInitContainerActions``).
    """
    if not running:
        return False
    startup = container.startup_probe
    if startup is None:
        return True
    return probes is not None and probes.started


def ready(
    container: Container,
    probes: ContainerProbes | None,
    running: bool,
) -> bool:
    """The container status's ``ready``: started, and its readiness probe holds success
    if it has one (a probe that has not run yet holds failure)."""
    if not started(container, probes, running):
        return False
    readiness = container.readiness_probe
    if readiness is None:
        return True
    return (
        probes is not None and probes.readiness is not None and probes.readiness.result == "success"
    )


def starting_sidecars(
    pod: Pod, containers: Sequence[ContainerInfo], probes: Mapping[str, ContainerProbes]
) -> frozenset[str]:
    """The sidecars that run but have not started (their startup probe has not succeeded
    for the running instance): ``computeInitContainerActions`` waits for them before the
    next init container."""
    if not pod.spec.init_containers:
        return frozenset()
    running = {info.name: info.id for info in containers if info.state == "running"}
    names = set()
    for container in pod.spec.init_containers or ():
        name = container.name or ""
        if container.restart_policy != "Always" or name not in running:
            continue
        instance = probes.get(name)
        if instance is not None and instance.container_id != running[name]:
            instance = None
        if not started(container, instance, running=True):
            names.add(name)
    return frozenset(names)


def kill_grace(pod_grace: int | None, probe: Probe | None) -> int:
    """The grace period of a kill for a failed liveness or startup probe
    (``setTerminationGracePeriod``): the probe's ``terminationGracePeriodSeconds`` if set,
    else the pod's, else the kubelet's minimum."""
    if pod_grace is None:
        return MINIMUM_GRACE_SECONDS
    if probe is not None and probe.termination_grace_period_seconds is not None:
        return probe.termination_grace_period_seconds
    return pod_grace


def remaining_grace(grace: int, pre_stop_seconds: float | None) -> int:
    """What the runtime's stop gets after a preStop hook took ``pre_stop_seconds`` (None:
    no hook ran): ``killContainer`` takes the hook's whole seconds off the grace, and
    always leaves at least the minimum."""
    left = grace if pre_stop_seconds is None else grace - int(pre_stop_seconds)
    return max(left, MINIMUM_GRACE_SECONDS)


_KIND_WORD: dict[ProbeKind, str] = {
    "liveness": "Liveness",
    "readiness": "Readiness",
    "startup": "Startup",
}


def unhealthy_message(kind: ProbeKind, output: str) -> str:
    """The ``Unhealthy`` event of a failed probe (``prober.probe``)."""
    return f"{_KIND_WORD[kind]} probe failed: {output}"


def errored_message(kind: ProbeKind, error: str) -> str:
    """The ``Unhealthy`` event of a probe that could not run; its result is thrown away."""
    return f"{_KIND_WORD[kind]} probe errored and resulted in unknown state: {error}"


def warning_message(kind: ProbeKind, output: str) -> str:
    """The ``ProbeWarning`` event of a probe that succeeded with a warning."""
    return f"{_KIND_WORD[kind]} probe warning: {output}"


def killing_message(
    container: str, kind: Literal["liveness", "startup"], restart_policy: str, sidecar: bool
) -> str:
    """The ``Killing`` event of a container failing its liveness or startup probe
    (``computePodActions``; ``computeInitContainerActions`` for a sidecar, which is always
    restarted and says so in other words)."""
    if sidecar:
        return f"Init container {container} failed {kind} probe"
    message = f"Container {container} failed {kind} probe"
    if restart_policy != "Never":
        message += ", will be restarted"
    return message
