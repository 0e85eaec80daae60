"""PURE: a pod's phase and conditions, from its containers' statuses, as the kubelet makes
them: ``getPhase`` (``kubelet_pods.go``) and the conditions of ``status/generate.go``.

fastpod keeps no history of a pod's status, so a condition's ``lastTransitionTime`` is the
latest moment the runtime's listing shows that could have flipped it (a container starting
or finishing, a sandbox being created), and never before the pod's start time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from fastpod.model import Container, Pod
from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.status.types import ContainerStatus, PodCondition, rfc3339


def pod_phase(
    pod: Pod, init_statuses: list[ContainerStatus], statuses: list[ContainerStatus], policy: str
) -> str:
    """``getPhase``: Pending until each init container is done and each container has run;
    then Running, or Succeeded / Failed once all have stopped for good."""
    pending_init = failed_init = running = waiting = stopped = succeeded = 0
    for container, status in zip(pod.spec.init_containers or (), init_statuses, strict=True):
        state, ended = status.state, status.last_state.terminated
        if container.restart_policy == "Always":
            running += state.running is not None
            waiting += state.waiting is not None and ended is None
        elif state.terminated is not None:
            failed_init += state.terminated.exit_code != 0
        elif state.waiting is not None and ended is not None:
            failed_init += ended.exit_code != 0
        else:
            pending_init += 1
    for status in statuses:
        state, ended = status.state, status.last_state.terminated
        if state.running is not None:
            running += 1
        elif state.terminated is not None:
            stopped += 1
            succeeded += state.terminated.exit_code == 0
        elif ended is not None:
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if not stopped:
        return "Pending"
    if policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == "Never" else "Running"


def pod_conditions(
    pod: Pod,
    sandboxes: Sequence[SandboxInfo],
    containers: Sequence[ContainerInfo],
    latest: Mapping[str, ContainerInfo],
    init_statuses: list[ContainerStatus],
    statuses: list[ContainerStatus],
    phase: str,
    start_time: float,
) -> list[PodCondition]:
    """The kubelet's conditions, in its order, with the module's transition times: from the
    pod's ``sandboxes`` and ``containers`` as the runtime lists them, the ``latest``
    instance of each container name, and the statuses made of them."""
    ready_sandboxes = [sandbox.created for sandbox in sandboxes if sandbox.ready]
    sandbox_created = max((sandbox.created for sandbox in sandboxes), default=None)
    if len(ready_sandboxes) == 1:
        to_start = _condition("PodReadyToStartContainers", True, _last(ready_sandboxes, start_time))
    else:
        finished = _last((info.finished_at for info in containers), start_time)
        to_start = _condition("PodReadyToStartContainers", False, finished)

    inits = pod.spec.init_containers or []
    incomplete = [
        status.name
        for container, status in zip(inits, init_statuses, strict=True)
        if not (status.started if container.restart_policy == "Always" else status.ready)
    ]
    done = _last((_done_at(c, latest.get(c.name or "")) for c in inits), start_time)
    if phase == "Succeeded":
        initialized = _condition("Initialized", True, done, "PodCompleted")
    elif not incomplete or any(_has_run(status) for status in statuses):
        initialized = _condition("Initialized", True, done)
    else:
        initialized = _condition(
            "Initialized",
            False,
            _last([sandbox_created], start_time),
            "ContainersNotInitialized",
            f"containers with incomplete status: {_go_list(incomplete)}",
        )

    by_name = {status.name: status for status in [*init_statuses, *statuses]}
    counted = [c.name or "" for c in inits if c.restart_policy == "Always"]
    counted += [c.name or "" for c in pod.spec.containers or ()]
    unready = [name for name in counted if not by_name[name].ready]
    if unready:
        ended = (_finished_at(latest.get(name)) for name in unready)
        changed = _last([sandbox_created, *ended], start_time)
    else:
        changed = _last((_started_at(latest.get(name)) for name in counted), start_time)
    if phase in ("Succeeded", "Failed"):
        reason = "PodCompleted" if phase == "Succeeded" else "PodFailed"
        containers_ready = _condition("ContainersReady", False, changed, reason)
    elif unready:
        message = f"containers with unready status: {_go_list(unready)}"
        containers_ready = _condition(
            "ContainersReady", False, changed, "ContainersNotReady", message
        )
    else:
        containers_ready = _condition("ContainersReady", True, changed)

    ready = _ready(pod, containers_ready, [to_start, initialized])
    scheduled = _condition("PodScheduled", True, _last((), start_time))
    return [to_start, initialized, ready, containers_ready, scheduled]


def _ready(pod: Pod, containers_ready: PodCondition, earlier: list[PodCondition]) -> PodCondition:
    """``Ready``: as ``ContainersReady``, unless a readiness gate names a condition that is not
    True (nothing sets one on a static pod, so a gate keeps it unready for good)."""
    ready = msgspec.structs.replace(containers_ready, type="Ready")
    if ready.status != "True":
        return ready
    statuses = {condition.type: condition.status for condition in earlier}
    problems = []
    for gate in pod.spec.readiness_gates or ():
        kind = str(gate.get("conditionType", "")) if isinstance(gate, dict) else ""
        if kind not in statuses:
            problems.append(
                f'corresponding condition of pod readiness gate "{kind}" does not exist.'
            )
        elif statuses[kind] != "True":
            problems.append(
                f'the status of pod readiness gate "{kind}" is not "True", but {statuses[kind]}'
            )
    if not problems:
        return ready
    return msgspec.structs.replace(
        ready, status="False", reason="ReadinessGatesNotReady", message=", ".join(problems)
    )


def _condition(
    kind: str, status: bool, since: str, reason: str | None = None, message: str | None = None
) -> PodCondition:
    truth = "True" if status else "False"
    return PodCondition(
        type=kind, status=truth, last_transition_time=since, reason=reason, message=message
    )


def _done_at(container: Container, latest: ContainerInfo | None) -> float | None:
    """When an init step was done: a sidecar started, an init container finished."""
    if latest is None:
        return None
    return latest.started_at if container.restart_policy == "Always" else latest.finished_at


def _started_at(latest: ContainerInfo | None) -> float | None:
    return latest.started_at if latest else None


def _finished_at(latest: ContainerInfo | None) -> float | None:
    return latest.finished_at if latest else None


def _has_run(status: ContainerStatus) -> bool:
    """``HasAnyRegularContainerStarted`` for one container: it runs or has run."""
    return status.state.running is not None or status.state.terminated is not None


def _last(times: Iterable[float | None], start_time: float) -> str:
    """The latest of the known ``times``, but not before ``start_time``."""
    return rfc3339(max([start_time, *(moment for moment in times if moment)]))


def _go_list(names: list[str]) -> str:
    """Names as Go's ``%s`` prints a string slice: ``[a b]``."""
    return f"[{' '.join(names)}]"
