"""What the processes tell each other, as msgspec Structs sent in batches over sockets.

Every message states a fact about the present (this manifest now holds these bytes, this
source now claims this pod), never a delta, so a message delivered twice, or a state sent
again after a process restarts, changes nothing: resyncing is just saying it all again.
"""

from __future__ import annotations

import zlib
from typing import Literal

import msgspec

from fastpod.health import HealthProblem
from fastpod.metrics import MetricsSnapshot
from fastpod.model import Pod, PodSource
from fastpod.runtime.base import ListedObject


class ManifestChanged(msgspec.Struct, tag=True, frozen=True):
    """A manifest's current bytes, sent by the watcher to the worker that decodes it.

    ``relisted`` says a re-list found it (an invalid manifest then drops its pods) rather
    than an inotify hint (the kubelet keeps the old pod until the next re-list).
    """

    source: PodSource
    body: bytes
    relisted: bool


class ManifestRemoved(msgspec.Struct, tag=True, frozen=True):
    """A manifest file is gone (deleted or renamed away)."""

    source: PodSource


class RelistDone(msgspec.Struct, tag=True, frozen=True):
    """A re-list of the manifest path has been sent in full.

    ``complete`` marks the first re-list of a watcher process: every manifest was sent, so
    a file its worker still holds but which was not mentioned has gone.
    """

    complete: bool


class Barrier(msgspec.Struct, tag=True, frozen=True):
    """Sent by the watcher to every worker after the events it must follow.

    Each worker answers with :class:`BarrierPassed` to the owners concerned, after resending
    its claims for the pods of ``resync_shards``; an owner that has every answer knows all
    claims caused by earlier events have reached it.
    """

    token: int
    sources_seen: tuple[str, ...]
    resync_shards: tuple[int, ...] = ()


class BarrierPassed(msgspec.Struct, tag=True, frozen=True):
    """A worker has sent every claim that a :class:`Barrier` asked for."""

    token: int
    worker: int


class PodClaim(msgspec.Struct, tag=True, frozen=True):
    """A source's current word on one pod name: this pod, or (``pod`` None) no pod any more."""

    pod_key: str
    source: PodSource
    pod: Pod | None
    warnings: tuple[str, ...] = ()


class SourcesHeld(msgspec.Struct, tag=True, frozen=True):
    """A restarted worker to each owner, once it has decoded its manifests again: every
    (pod key, source) it claims for that owner's pods now.

    A claim the owner holds from another source this worker decodes came from its
    predecessor, and the file was removed (or the URL dropped the pod) while no decoder
    knew of it: the owner drops it, as it would have dropped the claim withdrawn. Only
    for the kinds of source (``file``, ``http``) the watcher had seen when it sent the
    worker its manifests again: a URL not fetched since a watcher restart keeps its pods.
    """

    worker: int
    held: tuple[tuple[str, PodSource], ...]
    kinds: tuple[str, ...]


class Resync(msgspec.Struct, tag=True, frozen=True):
    """Supervisor to watcher: a worker was restarted; send its shard everything again."""

    shard: int


class StatusQuery(msgspec.Struct, tag=True, frozen=True):
    """Supervisor to a worker or the watcher: how are you, and (``pods``) what do you run?

    With ``pod_key`` only that pod is wanted, with its source and recent events; with
    ``metrics`` the process's numbers too (counting the gauges walks every pod: only a
    scrape of ``/metrics`` asks for them); with ``health`` the process checks what it
    depends on first (a worker pings its runtime: only ``/healthz`` asks).
    """

    token: int
    pods: bool = False
    pod_key: str | None = None
    metrics: bool = False
    health: bool = False


class StatusAnswer(msgspec.Struct, tag=True, frozen=True):
    """A process's answer to a :class:`StatusQuery`.

    ``problems`` is empty while the process is healthy (its runtime is named only when the
    query asked for ``health``); ``synced`` says every source has
    been seen and every pod synced once (readiness). ``pods`` is JSON: the inspection of
    ``pod_key`` (empty when it is not here); a worker's Pods came before it as
    :class:`PodsPart`, and the supervisor puts them here as one array.
    """

    token: int
    process: str
    problems: tuple[HealthProblem, ...]
    synced: bool
    metrics: MetricsSnapshot | None = None
    pods: bytes = b""


class PodsPart(msgspec.Struct, tag=True, frozen=True):
    """Part of a worker's answer to a :class:`StatusQuery` for ``pods``, sent as its walk
    goes (5,000 pods' status is some 15 MB of JSON: sent at once, it held the worker's
    event loop 15 to 30 ms). ``pods`` is JSON Pods separated by commas, without brackets;
    the parts come in order, and the :class:`StatusAnswer` that follows ends them."""

    token: int
    process: str
    pods: bytes


class PodEventReported(msgspec.Struct, tag=True, frozen=True):
    """Worker to the cluster process (only with a kubeconfig): something that happened to
    the static pod ``namespace/name`` (its UID, the config hash its mirror names), or to its
    container at ``field_path``, to be written as the kubelet's Event about it."""

    namespace: str
    name: str
    uid: str
    field_path: str
    event_type: Literal["Normal", "Warning"]
    reason: str
    message: str
    time: float


class StaticPodReported(msgspec.Struct, tag=True, frozen=True):
    """Worker to the cluster process (only with a kubeconfig): a static pod it owns now, as
    ``/pods`` serves it without its status (JSON: metadata with the config hash, and spec),
    or (``pod`` empty) no pod under ``pod_key`` any more. Mirror pods are made from it."""

    worker: int
    pod_key: str
    pod: bytes


class PodStatusReported(msgspec.Struct, tag=True, frozen=True):
    """Worker to the cluster process: the status of the pod ``uid`` under ``pod_key`` now,
    as ``/pods`` serves it (JSON), sent when it changed (a mirror pod's status)."""

    worker: int
    pod_key: str
    uid: str
    status: bytes


class PodsReported(msgspec.Struct, tag=True, frozen=True):
    """Worker to the cluster process, once every source has been seen and after reporting
    each pod: every pod key it owns now. A pod the cluster process holds from this worker
    and not named here is gone (its mirror is an orphan)."""

    worker: int
    pod_keys: tuple[str, ...]


class ReportAll(msgspec.Struct, tag=True, frozen=True):
    """Cluster process to every worker when it starts: report every pod and status again
    (what a cluster process knew died with it)."""


class NodeRelisted(msgspec.Struct, tag=True, frozen=True):
    """Worker 0 to every other worker, at each relist of a CRI runtime's node: the
    sandboxes and containers of the pods the receiver owns (empty: none), so that the node
    is listed once, not once per worker."""

    objects: tuple[ListedObject, ...]


Message = (
    ManifestChanged
    | ManifestRemoved
    | RelistDone
    | Barrier
    | BarrierPassed
    | PodClaim
    | SourcesHeld
    | Resync
    | StatusQuery
    | StatusAnswer
    | PodsPart
    | PodEventReported
    | StaticPodReported
    | PodStatusReported
    | PodsReported
    | ReportAll
    | NodeRelisted
)


def shard_of(key: str, shards: int) -> int:
    """The shard of a manifest location or a pod key: stable across processes and runs."""
    return zlib.crc32(key.encode()) % shards
