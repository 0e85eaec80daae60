"""PURE: what to do with one pod now, given its spec, what the runtime runs, and the time.

The kubelet's ``computePodActions`` (``kuberuntime_manager.go``) for static pods: a sandbox
when there is none ready, init containers one at a time in order, sidecars kept running
beside the main containers, regular containers restarted by the restart policy under the
crash-loop back-off, a container whose image changed replaced, a container created but
never started (``ShouldContainerBeRestarted``) started again, and at most one dead
container kept per container name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import msgspec

from fastpod.backoff import BackOff
from fastpod.model import Container, Pod
from fastpod.runtime.base import ContainerInfo, SandboxInfo
from fastpod.runtime.spec import container_hash

ContainerKind = Literal["init", "sidecar", "regular"]


class StartContainer(NamedTuple):
    """Create and start ``container`` as its ``restart_count``-th restart."""

    container: Container
    kind: ContainerKind
    restart_count: int


class PodActions(msgspec.Struct, kw_only=True):
    """Everything to do to a pod in one sync, in this order: kill, create sandbox, start."""

    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    """The attempt number of the sandbox to create: one past the pod's latest."""
    sandbox_id: str = ""
    """The ready sandbox to start containers in, when there is one to keep."""
    kill: list[str] = msgspec.field(default_factory=list)
    start: list[StartContainer] = msgspec.field(default_factory=list)
    remove: list[str] = msgspec.field(default_factory=list)
    remove_sandboxes: list[str] = msgspec.field(default_factory=list)
    waiting: dict[str, str] = msgspec.field(default_factory=dict)
    messages: dict[str, str] = msgspec.field(default_factory=dict)
    """Container name → what its waiting reason means (the kubelet's back-off message)."""
    retry_at: float | None = None
    restarts: list[tuple[str, float]] = msgspec.field(default_factory=list)
    """Back-off keys to advance, with the failure time, once the starts are done."""
    deadline_exceeded: bool = False
    """The pod ran past its ``activeDeadlineSeconds``: stopped, and never started again."""


def backoff_key(pod: Pod, container: Container) -> str:
    """The kubelet's key: a new image starts the back-off over."""
    return f"{pod.metadata.uid}_{container.name}_{container_hash(container)}"


def image_backoff_key(pod: Pod, image: str) -> str:
    """The kubelet's image-pull back-off key: per pod and image."""
    return f"{pod.metadata.uid}_{image}"


def image_step(policy: str | None, present: bool) -> Literal["use", "pull", "missing"]:
    """The pull policy: ``Never`` takes what is there (else ``ErrImageNeverPull``),
    ``IfNotPresent`` pulls a missing image, ``Always`` pulls before every start."""
    if policy == "Never":
        return "use" if present else "missing"
    return "use" if present and policy != "Always" else "pull"


def image_checked_before_create(policy: str | None, restart_count: int) -> bool:
    """Whether to look for the image before creating the container. A restart's image was
    there at its last start: under ``Never`` and ``IfNotPresent`` it is looked for only if
    the create finds it gone (one runtime call less on the way back from a crash)."""
    return restart_count == 0 or policy == "Always"


def back_off_message(pod: Pod, container: str, delay: float) -> str:
    """The kubelet's CrashLoopBackOff message, its delay as Go prints a duration."""
    minutes, seconds = divmod(round(delay), 60)
    spelled = f"{minutes}m{seconds}s" if minutes else f"{seconds}s"
    metadata = pod.metadata
    return (
        f"back-off {spelled} restarting failed container={container} "
        f"pod={metadata.name}_{metadata.namespace}({metadata.uid})"
    )


def should_restart(policy: str, exit_code: int | None) -> bool:
    """``ShouldContainerBeRestarted`` for a container that has exited."""
    if policy == "Always":
        return True
    if policy == "OnFailure":
        return exit_code != 0
    return False


def latest_by_name(containers: Sequence[ContainerInfo]) -> dict[str, ContainerInfo]:
    """The newest container of each name: the one whose state counts."""
    latest: dict[str, ContainerInfo] = {}
    for info in sorted(containers, key=lambda info: (info.restart_count, info.created)):
        latest[info.name] = info
    return latest


def compute_pod_actions(
    pod: Pod,
    sandboxes: Sequence[SandboxInfo],
    containers: Sequence[ContainerInfo],
    backoff: BackOff,
    now: float,
    starting: frozenset[str] = frozenset(),
    deadline: float | None = None,
) -> PodActions:
    """What to do with ``pod`` now. ``starting`` names the sidecars that run but whose
    startup probe has not succeeded yet: the init sequence waits for them. Past
    ``deadline`` (:func:`active_deadline`) the pod is stopped for good."""
    if deadline is not None and now >= deadline:
        alive = any(s.ready for s in sandboxes) or any(i.state != "exited" for i in containers)
        return PodActions(kill_pod=alive, deadline_exceeded=True)
    actions = _pod_actions(pod, sandboxes, containers, backoff, now, starting)
    if deadline is not None:
        actions.retry_at = deadline if actions.retry_at is None else min(actions.retry_at, deadline)
    return actions


def active_deadline(pod: Pod, start_time: float) -> float | None:
    """When the pod's ``activeDeadlineSeconds`` runs out, counted from its start time as
    the kubelet counts it (``pastActiveDeadline``); None without one."""
    seconds = pod.spec.active_deadline_seconds
    return None if seconds is None else start_time + seconds


def _pod_actions(
    pod: Pod,
    sandboxes: Sequence[SandboxInfo],
    containers: Sequence[ContainerInfo],
    backoff: BackOff,
    now: float,
    starting: frozenset[str],
) -> PodActions:
    actions = PodActions()
    ready = [sandbox for sandbox in sandboxes if sandbox.ready]
    latest = latest_by_name(containers)
    actions.remove = _collectable(containers)
    policy = pod.spec.restart_policy or "Always"
    if len(ready) != 1:
        alive = bool(ready) or any(info.state != "exited" for info in containers)
        first = _first_steps(pod, latest, policy)
        if not first or (policy == "Never" and any(i.state == "exited" for i in containers)):
            # the pod has completed: nothing to start, so no sandbox to start it in
            actions.kill_pod = alive
            return actions
        actions.kill_pod = alive
        actions.create_sandbox = True
        actions.sandbox_attempt = max((sandbox.attempt for sandbox in sandboxes), default=-1) + 1
        actions.start = [StartContainer(c, kind, _next_count(latest, c)) for c, kind in first]
        return actions
    sandbox_id = actions.sandbox_id = ready[0].id
    actions.remove_sandboxes = [sandbox.id for sandbox in sandboxes if not sandbox.ready]
    for info in containers:
        if info.sandbox_id != sandbox_id and info.state != "exited":
            actions.kill.append(info.id)
    current = {name: info for name, info in latest.items() if info.sandbox_id == sandbox_id}
    initialized = _init_containers(pod, current, latest, policy, backoff, now, actions, starting)
    if not initialized:
        return actions
    if not _regular_containers(pod, current, latest, policy, backoff, now, actions):
        # nothing left to run: the pod is done, and its sidecars are not restarted
        actions.kill_pod = True
        actions.start = []
        actions.restarts = []
        actions.retry_at = None
    return actions


def _first_steps(
    pod: Pod, latest: dict[str, ContainerInfo], policy: str
) -> list[tuple[Container, ContainerKind]]:
    """The containers to start in a new sandbox: the first init step, or the main ones.

    None when every main container has completed for good: the pod needs no sandbox.
    """
    regular = [
        container
        for container in pod.spec.containers or ()
        if not _completed(latest.get(container.name or ""), policy)
    ]
    if not regular:
        return []
    for container in pod.spec.init_containers or ():
        kind: ContainerKind = "sidecar" if container.restart_policy == "Always" else "init"
        return [(container, kind)]
    return [(container, "regular") for container in regular]


def _completed(info: ContainerInfo | None, policy: str) -> bool:
    """Whether a container has exited and its restart policy says it stays so."""
    return (
        info is not None and info.state == "exited" and not should_restart(policy, info.exit_code)
    )


def _init_containers(
    pod: Pod,
    current: dict[str, ContainerInfo],
    latest: dict[str, ContainerInfo],
    policy: str,
    backoff: BackOff,
    now: float,
    actions: PodActions,
    starting: frozenset[str],
) -> bool:
    """Advance the init sequence; True once every init container is done or running (a
    sidecar started: its startup probe, if any, succeeded)."""
    regular_started = any(c.name in current for c in pod.spec.containers or ())
    for container in pod.spec.init_containers or ():
        info = current.get(container.name or "")
        if container.restart_policy == "Always":
            if info is None or info.state == "created":
                count = _next_count(latest, container)
                actions.start.append(StartContainer(container, "sidecar", count))
                return regular_started
            if info.state == "exited":
                _restart(pod, container, "sidecar", info, backoff, now, actions)
                if not regular_started:
                    return False
            if info.state != "exited" and info.hash != container_hash(container):
                actions.kill.append(info.id)
                actions.start.append(StartContainer(container, "sidecar", info.restart_count + 1))
            elif info.state == "running" and container.name in starting and not regular_started:
                return False
            continue
        if regular_started:
            continue
        if info is None or info.state == "created":
            actions.start.append(StartContainer(container, "init", _next_count(latest, container)))
            return False
        if info.state != "exited":
            return False
        if info.exit_code == 0:
            continue
        if policy == "Never":
            actions.kill_pod = True
            actions.waiting[container.name or ""] = "Init:Error"
            return False
        _restart(pod, container, "init", info, backoff, now, actions)
        return False
    return True


def _regular_containers(
    pod: Pod,
    current: dict[str, ContainerInfo],
    latest: dict[str, ContainerInfo],
    policy: str,
    backoff: BackOff,
    now: float,
    actions: PodActions,
) -> bool:
    """Start, keep, restart or replace each main container; True while one has a future."""
    alive = False
    for container in pod.spec.containers or ():
        info = current.get(container.name or "")
        if info is None:
            # it may have completed in an earlier sandbox: that counts too
            if not _completed(latest.get(container.name or ""), policy):
                count = _next_count(latest, container)
                actions.start.append(StartContainer(container, "regular", count))
                alive = True
            continue
        alive = alive or info.state != "exited" or should_restart(policy, info.exit_code)
        if info.state == "created":
            count = _next_count(latest, container)
            actions.start.append(StartContainer(container, "regular", count))
            continue
        if info.state != "exited":
            if info.hash != container_hash(container):
                actions.kill.append(info.id)
                actions.start.append(StartContainer(container, "regular", info.restart_count + 1))
            continue
        if should_restart(policy, info.exit_code):
            _restart(pod, container, "regular", info, backoff, now, actions)
    return alive


def _restart(
    pod: Pod,
    container: Container,
    kind: ContainerKind,
    info: ContainerInfo,
    backoff: BackOff,
    now: float,
    actions: PodActions,
) -> None:
    key = backoff_key(pod, container)
    failed_at = info.finished_at if info.finished_at is not None else now
    retry_at = backoff.waiting_until(key, failed_at, now)
    if retry_at is not None:
        name = container.name or ""
        actions.waiting[name] = "CrashLoopBackOff"
        actions.messages[name] = back_off_message(pod, name, backoff.delay(key) or 0.0)
        actions.retry_at = retry_at if actions.retry_at is None else min(actions.retry_at, retry_at)
        return
    actions.start.append(StartContainer(container, kind, info.restart_count + 1))
    actions.restarts.append((key, failed_at))


def _next_count(latest: dict[str, ContainerInfo], container: Container) -> int:
    info = latest.get(container.name or "")
    return info.restart_count + 1 if info is not None else 0


def _collectable(containers: Sequence[ContainerInfo]) -> list[str]:
    """Containers not running but the newest of each name (kept for its logs), as the
    kubelet's container GC evicts them: exited ones, and ones created but never started."""
    dead = [info for info in containers if info.state != "running"]
    kept = {info.id for info in latest_by_name(dead).values()}
    return [info.id for info in dead if info.id not in kept]
