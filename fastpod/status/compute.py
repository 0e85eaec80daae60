"""PURE: a pod's status as the kubelet reports it, from what one sync of the pod saw.

The kubelet's ``generateAPIPodStatus`` (``kubelet_pods.go``: ``convertToAPIContainerStatuses``
and ``getPhase``), its prober manager's ``ready`` and ``started`` for containers without
probes, and the conditions of ``status/generate.go`` (the phase and the conditions:
:mod:`fastpod.status.conditions`). The kubelet merges each new status
into the one it kept; fastpod keeps only the last :class:`Observed` of each pod, so what
that history would give is approximated from what the runtime still lists:

* ``lastState`` is the instance before the newest of that name (the kubelet also takes the
  second newest; the lifecycle keeps at most one dead container per name);
* ``restartCount`` is the newest instance's count, 0 once the runtime lists none;
* a container the runtime no longer lists shows as waiting to be created, not as the
  ``ContainerStatusUnknown`` termination the kubelet infers from its previous status;
* a condition's ``lastTransitionTime`` is the latest moment the observation shows that
  could have flipped it (a container starting or finishing, a sandbox being created), and
  never before ``start_time``, as the kubelet's first status of a pod is no older than that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec

from fastpod.lifecycle import ContainerKind, should_restart
from fastpod.model import Container, Pod
from fastpod.probes import decisions
from fastpod.probes.decisions import ContainerProbes
from fastpod.runtime import addresses
from fastpod.runtime.admission import Rejection
from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.status.conditions import pod_conditions, pod_phase
from fastpod.status.qos import qos_class
from fastpod.status.types import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
    HostIP,
    PodIP,
    PodStatus,
    rfc3339,
)


class Observed(msgspec.Struct, frozen=True, gc=False):
    """What one sync of a pod saw and decided: the runtime's lists and the lifecycle's word.

    A worker keeps the last one of each pod; it only refers to values the sync made anyway.
    """

    sandboxes: list[SandboxInfo]
    containers: list[ContainerInfo]
    waiting: dict[str, str]
    """Container name → why it is not started (``CrashLoopBackOff``, ``ImagePullBackOff``,
    ``ErrImageNeverPull``, ``CreateContainerError``, ...): the kubelet's reason cache."""
    messages: dict[str, str] = {}
    """Container name → the message for its waiting reason; ``""`` → what blocks the whole
    pod (a failed hostPath check), shown on each container that has no instance yet."""
    deadline_exceeded: bool = False
    """The pod was stopped for running past its ``activeDeadlineSeconds``."""
    rejection: Rejection | None = None
    """Why the node refused the pod (:func:`~fastpod.runtime.admission.admit`): it never
    runs."""


REJECTED = "Pod was rejected: "
"""What the kubelet's ``rejectPod`` puts before an admit handler's message."""

DEADLINE_EXCEEDED = (
    "DeadlineExceeded",
    "Pod was active on the node longer than the specified deadline",
)
"""The kubelet's reason and message for a pod past its ``activeDeadlineSeconds``."""

MAX_POD_TERMINATION_MESSAGE_LENGTH = 12 * 1024
"""The bytes of termination messages a pod's status holds, shared evenly by its containers
and init containers: each ``terminated.message`` is cut to its share, keeping its start
(``MaxPodTerminationMessageLogLength``, the status manager's ``normalizeStatus``)."""

_NOTHING_SEEN = Observed(sandboxes=[], containers=[], waiting={})
_NO_STATE = ContainerState()
_CREATED = ContainerState(waiting=ContainerStateWaiting())
_ASSUMED_COMPLETED = ContainerState(
    terminated=ContainerStateTerminated(
        exit_code=0,
        reason="Completed",
        message="Unable to get init container status from container runtime and pod has been "
        "initialized, treat it as exited normally",
    )
)


_NO_PROBES: Mapping[str, ContainerProbes] = {}


def pod_status(
    pod: Pod,
    observed: Observed | None,
    *,
    host_ip: str,
    pod_ips: Sequence[str],
    start_time: float,
    runtime_name: str,
    probes: Mapping[str, ContainerProbes] = _NO_PROBES,
) -> PodStatus:
    """The status of ``pod`` as the kubelet would report it in ``GET /pods``.

    ``observed`` is the pod's last sync, None when its loop has not synced yet (the pod is
    being started: Pending, each container waiting to be created). ``host_ip`` is the node's
    address (``""`` when unknown), ``pod_ips`` the pod's as its sandbox reported them
    (:func:`~fastpod.runtime.addresses.pod_ips`; a hostNetwork pod without any has the
    node's). ``start_time`` is when fastpod took the pod, in seconds since the epoch, and
    ``runtime_name`` (:attr:`Runtime.name <fastpod.runtime.base.Runtime.name>`) is the
    scheme of container IDs (``containerd://...``); image IDs are the runtime's image
    reference as it gives it, as the kubelet reports them. ``probes`` are the prober's
    states by container name: they decide ``started`` and ``ready`` of a probed container.
    """
    seen = observed or _NOTHING_SEEN
    if seen.rejection is not None:
        # rejectPod: the phase, the reason, the message, and the start time the status
        # manager adds; no condition, no container status
        return PodStatus(
            phase="Failed",
            conditions=[],
            reason=seen.rejection.reason,
            message=REJECTED + seen.rejection.message,
            start_time=rfc3339(start_time),
            qos_class=qos_class(pod),
        )
    spec = pod.spec
    init_containers = spec.init_containers or []
    regular_containers = spec.containers or []
    instances = _instances(seen.containers)
    containers = len(init_containers) + len(regular_containers)
    sync = _Sync(
        seen=seen,
        instances=instances,
        main_created=any(c.name in instances for c in regular_containers),
        policy=spec.restart_policy or "Always",
        runtime_name=runtime_name,
        probes=probes,
        message_length=MAX_POD_TERMINATION_MESSAGE_LENGTH // max(1, containers),
        creating=ContainerState(
            waiting=ContainerStateWaiting(
                reason="PodInitializing" if init_containers else "ContainerCreating",
                message=seen.messages.get(""),
            )
        ),
    )
    init_statuses = [
        _container_status(sync, c, "sidecar" if c.restart_policy == "Always" else "init")
        for c in init_containers
    ]
    statuses = [_container_status(sync, c, "regular") for c in regular_containers]
    phase = (
        "Failed" if seen.deadline_exceeded else pod_phase(pod, init_statuses, statuses, sync.policy)
    )
    latest = {name: found.latest for name, found in instances.items()}
    conditions = pod_conditions(
        pod, seen.sandboxes, seen.containers, latest, init_statuses, statuses, phase, start_time
    )
    ips = addresses.pod_ips(bool(spec.host_network), pod_ips, host_ip)
    return PodStatus(
        phase=phase,
        reason=DEADLINE_EXCEEDED[0] if seen.deadline_exceeded else None,
        message=DEADLINE_EXCEEDED[1] if seen.deadline_exceeded else None,
        conditions=conditions,
        host_ip=host_ip or None,
        host_ips=[HostIP(ip=host_ip)] if host_ip else None,
        pod_ip=ips[0] if ips else None,
        pod_ips=[PodIP(ip=ip) for ip in ips] or None,
        start_time=rfc3339(start_time),
        init_container_statuses=init_statuses or None,
        container_statuses=sorted(statuses, key=lambda status: status.name),
        qos_class=qos_class(pod),
    )


class _Instances(msgspec.Struct, frozen=True, gc=False):
    """The newest container of one name, and the one before it."""

    latest: ContainerInfo
    previous: ContainerInfo | None


class _Sync(msgspec.Struct, frozen=True, gc=False):
    """What every container's status is worked out from."""

    seen: Observed
    instances: dict[str, _Instances]
    main_created: bool
    policy: str
    runtime_name: str
    probes: Mapping[str, ContainerProbes]
    message_length: int
    """The bytes each ``terminated.message`` is cut to."""
    creating: ContainerState
    """The state of a container with no instance yet."""


def _instances(containers: Sequence[ContainerInfo]) -> dict[str, _Instances]:
    """The newest two containers of each name, in ``lifecycle.latest_by_name``'s order, so
    the status shows the instance the lifecycle acted on."""
    found: dict[str, _Instances] = {}
    for info in sorted(containers, key=lambda info: (info.restart_count, info.created)):
        known = found.get(info.name)
        found[info.name] = _Instances(info, known.latest if known else None)
    return found


def _container_status(sync: _Sync, container: Container, kind: ContainerKind) -> ContainerStatus:
    """One entry of ``initContainerStatuses`` or ``containerStatuses``."""
    name = container.name or ""
    instances = sync.instances.get(name)
    latest = instances.latest if instances else None
    previous = instances.previous if instances else None
    last = _state(previous, sync) if previous else _NO_STATE
    reason = sync.seen.waiting.get(name)
    if latest is not None:
        state = _state(latest, sync)
    elif kind == "init" and sync.main_created:
        # the main containers exist, so this step did complete: only its container is gone
        state, reason = _ASSUMED_COMPLETED, None
    else:
        state = sync.creating
    if reason and _to_start(kind, latest, sync.policy):
        last = state if state.terminated is not None else last
        message = sync.seen.messages.get(name)
        state = ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message))
    running = state.running is not None
    probes = sync.probes.get(name)
    if probes is not None and (latest is None or probes.container_id != latest.id):
        probes = None
    if kind == "init":
        ready = state.terminated is not None and state.terminated.exit_code == 0
    else:
        ready = decisions.ready(container, probes, running)
    return ContainerStatus(
        name=name,
        state=state,
        last_state=last,
        ready=ready,
        restart_count=latest.restart_count if latest else 0,
        image=(latest.image if latest else "") or container.image or "",
        image_id=latest.image_id if latest else "",
        container_id=f"{sync.runtime_name}://{latest.id}" if latest else None,
        started=decisions.started(container, probes, running),
    )


def _state(info: ContainerInfo, sync: _Sync) -> ContainerState:
    """What the runtime says of one container; a created one waits, with no reason."""
    if info.state == "running":
        return ContainerState(running=ContainerStateRunning(started_at=_time(info.started_at)))
    if info.state == "created":
        return _CREATED
    exit_code = info.exit_code or 0
    return ContainerState(
        terminated=ContainerStateTerminated(
            exit_code=exit_code,
            reason=info.reason or ("Completed" if exit_code == 0 else "Error"),
            message=_cut(info.message, sync.message_length) or None,
            started_at=_time(info.started_at),
            finished_at=_time(info.finished_at),
            container_id=f"{sync.runtime_name}://{info.id}",
        )
    )


def _cut(message: str, length: int) -> str:
    """The first ``length`` bytes of ``message``; a character cut in two is replaced."""
    if len(message) * 4 <= length:
        return message  # short enough whatever its characters: nothing to encode
    data = message.encode()
    return data[:length].decode(errors="replace") if len(data) > length else message


def _to_start(kind: ContainerKind, latest: ContainerInfo | None, policy: str) -> bool:
    """``ShouldContainerBeRestarted``: whether the container's waiting reason applies."""
    if latest is None or latest.state == "created":
        return True
    if latest.state == "running" or (kind == "init" and latest.exit_code == 0):
        return False
    return kind == "sidecar" or should_restart(policy, latest.exit_code)


def _time(seconds: float | None) -> str | None:
    return rfc3339(seconds) if seconds else None
