"""What the processes tell each other, as msgspec Structs sent in batches over sockets.

Every message states a fact about the present (this manifest now holds these bytes, this
source now claims this pod), never a delta, so a message delivered twice, or a state sent
again after a process restarts, changes nothing: resyncing is just saying it all again.
"""

from __future__ import annotations

import zlib

import msgspec

from fastpod.model import Pod, PodSource


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


class Resync(msgspec.Struct, tag=True, frozen=True):
    """Supervisor to watcher: a worker was restarted; send its shard everything again."""

    shard: int


Message = (
    ManifestChanged | ManifestRemoved | RelistDone | Barrier | BarrierPassed | PodClaim | Resync
)


def shard_of(key: str, shards: int) -> int:
    """The shard of a manifest location or a pod key: stable across processes and runs."""
    return zlib.crc32(key.encode()) % shards
