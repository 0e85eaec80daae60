"""The core/v1 ``PodStatus``, as far as the kubelet reports it for a static pod, as Structs.

Encoded as the kubelet's JSON: camelCase names, unset optional fields left out, fields in the
Go struct's order. A field the official clients require (``V1ContainerStatus.name``,
``imageID``, ``ready``, ...) has no default, so it is always encoded even when false, zero or
empty; so are the ones the kubelet always writes although the API calls them optional
(``state``, ``lastState``, ``started``). Times are ``metav1.Time`` strings: RFC 3339, UTC,
whole seconds. Instances are frozen, so one value (an empty ``lastState``) can be shared.
"""

from __future__ import annotations

import functools
import math
import time

import msgspec


class StatusObject(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename="camel",
    frozen=True,
    gc=False,
):
    """Base of every status object: encoded as ``fastpod.model.ApiObject``, and immutable."""


class ContainerStateWaiting(StatusObject, frozen=True):
    """Not running yet, or again: why (``ContainerCreating``, ``CrashLoopBackOff``, ...)."""

    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(StatusObject, frozen=True):
    """Running since ``started_at``."""

    started_at: str | None = None


class ContainerStateTerminated(StatusObject, frozen=True):
    """Exited: how (``Completed``, ``Error``, ``OOMKilled``) and when."""

    exit_code: int
    reason: str | None = None
    message: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str | None = msgspec.field(default=None, name="containerID")


class ContainerState(StatusObject, frozen=True):
    """Exactly one of waiting, running or terminated; none at all for an empty ``lastState``."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(StatusObject, frozen=True, kw_only=True):
    """One container of the spec: its current and previous instance, as ``kubectl`` shows them."""

    name: str
    state: ContainerState
    last_state: ContainerState
    ready: bool
    restart_count: int
    image: str
    image_id: str = msgspec.field(name="imageID")
    container_id: str | None = msgspec.field(default=None, name="containerID")
    started: bool


class PodCondition(StatusObject, frozen=True):
    """One of the kubelet's conditions (``Ready``, ...), ``status`` ``"True"`` or ``"False"``."""

    type: str
    status: str
    last_transition_time: str | None = None
    reason: str | None = None
    message: str | None = None


class HostIP(StatusObject, frozen=True):
    """An address of the node."""

    ip: str


class PodIP(StatusObject, frozen=True):
    """An address of the pod."""

    ip: str


class PodStatus(StatusObject, frozen=True):
    """``status`` of a pod in the kubelet's ``GET /pods``."""

    phase: str
    conditions: list[PodCondition]
    reason: str | None = None
    message: str | None = None
    host_ip: str | None = msgspec.field(default=None, name="hostIP")
    host_ips: list[HostIP] | None = msgspec.field(default=None, name="hostIPs")
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    pod_ips: list[PodIP] | None = msgspec.field(default=None, name="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] | None = None
    container_statuses: list[ContainerStatus] | None = None
    qos_class: str | None = None


def rfc3339(seconds: float) -> str:
    """A time as ``metav1.Time`` encodes it: UTC, whole seconds (``2026-12-01T14:00:00Z``)."""
    return _second(math.floor(seconds))


@functools.lru_cache(maxsize=16384)
def _second(second: int) -> str:
    # the same few moments (start times, container starts) recur in every listing of a node
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
