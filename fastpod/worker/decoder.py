"""A worker's first job: the manifests of its shard, decoded into claims on pod names.

Which worker decodes a manifest depends on where it lives (its path or URL); which worker
owns the pod depends on the pod's name, known only after decoding. So decoding ends in
claims, routed to the owners, and a source's claims are always its current word: when a
file's pod changes name or the file goes, the old name is released with an empty claim.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import msgspec

from fastpod import logs
from fastpod.ipc.messages import ManifestChanged, PodClaim, shard_of
from fastpod.manifest.decode import DecodedPod, decode_pod, decode_pod_list
from fastpod.manifest.problems import ManifestError
from fastpod.metrics import recorder
from fastpod.model import PodSource
from fastpod.sources.files import digest_of
from fastpod.worker.parse_cache import ParseCache, entry_key

Held = PodClaim | bytes
"""A claim as the decoder keeps it: the object when this process owns the pod (the owner
shares it), else only its encoding, a third of the size, for a resync or a comparison."""

_encoder = msgspec.msgpack.Encoder()
_claim_decoder = msgspec.msgpack.Decoder(PodClaim)


@dataclass(slots=True)
class SourceState:
    """What a source last held: its digest and the claims it made.

    ``stale`` marks a file whose new content failed to decode after an inotify hint: its
    pods are kept, as the kubelet keeps them, until the next re-list confirms the failure.
    """

    digest: bytes
    claims: dict[str, Held] = field(default_factory=dict)
    stale: bool = False


def pod_key(decoded: DecodedPod) -> str:
    """``namespace/name`` of a defaulted pod: what one pod is, whichever source says it."""
    metadata = decoded.pod.metadata
    return f"{metadata.namespace}/{metadata.name}"


class ManifestDecoder:
    """Turns manifest events into the claims that changed, remembering each source's claims."""

    def __init__(
        self,
        node_name: str,
        owned_here: Callable[[str], bool] | None = None,
        cache: ParseCache | None = None,
    ) -> None:
        self.node_name = node_name
        self.owned_here = owned_here or (lambda key: True)
        self.cache = cache
        self._sources: dict[PodSource, SourceState] = {}
        self._mentioned: set[PodSource] = set()

    def changed(self, event: ManifestChanged) -> list[PodClaim]:
        """A source's new bytes: the claims to send (new, changed and released pod names)."""
        source = event.source
        if event.relisted:
            self._mentioned.add(source)
        digest = digest_of(event.body)
        state = self._sources.get(source)
        if state is not None and state.digest == digest:
            if state.stale and event.relisted:
                return self._release(source)
            return []
        try:
            decoded = self._decode(event, digest)
        except ManifestError as error:
            recorder.count("fastpod_manifests_rejected_total")
            logs.emit(
                "pod rejected",
                level="error",
                source=source.location,
                errors=[problem.describe() for problem in error.problems],
            )
            if source.kind == "file" and event.relisted:
                return self._release(source, digest)
            # kept until the next re-list (a file) or the next good body (the URL)
            if state is not None:
                state.digest = digest
                state.stale = source.kind == "file"
            else:
                self._sources[source] = SourceState(digest, stale=source.kind == "file")
            return []
        return self._replace(source, digest, decoded)

    def removed(self, source: PodSource) -> list[PodClaim]:
        """A file is gone: release the pod names it claimed."""
        self._mentioned.discard(source)
        claims = self._release(source)
        self._sources.pop(source, None)
        return claims

    def relist_done(self, *, complete: bool) -> list[PodClaim]:
        """Release what a re-list has confirmed gone or invalid.

        After a ``complete`` re-list, a file not listed since the previous re-list is gone (the
        watcher restarted and could not know it had existed); inotify hints do not count, they
        may come from the watcher that died.
        """
        released: list[PodClaim] = []
        for source, state in list(self._sources.items()):
            if source.kind != "file":
                continue
            if complete and source not in self._mentioned:
                released.extend(self.removed(source))
            elif state.stale:
                released.extend(self._release(source))
        self._mentioned.clear()
        return released

    def claims_for(self, shard: int, shards: int) -> list[PodClaim]:
        """Every claim held for pods owned by ``shard``: a restarted owner's resync."""
        return [
            held if isinstance(held, PodClaim) else _claim_decoder.decode(held)
            for state in self._sources.values()
            for key, held in state.claims.items()
            if shard_of(key, shards) == shard
        ]

    def held_for(self, shard: int, shards: int) -> tuple[tuple[str, PodSource], ...]:
        """Every (pod key, source) claimed for pods owned by ``shard``."""
        return tuple(
            (key, source)
            for source, state in self._sources.items()
            for key in state.claims
            if shard_of(key, shards) == shard
        )

    def save_cache(self) -> None:
        """Write the parse cache, keeping the entries of the files held now."""
        if self.cache is not None:
            self.cache.save(self._held_entries())

    def prepare_cache(self) -> bytes | None:
        """The parse cache's new content (None if unchanged), for ``cache.write``."""
        return None if self.cache is None else self.cache.prepare(self._held_entries())

    def _held_entries(self) -> Iterator[str]:
        return (
            entry_key(state.digest, source)
            for source, state in self._sources.items()
            if source.kind == "file" and state.claims and not state.stale
        )

    def _decode(self, event: ManifestChanged, digest: bytes) -> list[DecodedPod]:
        source = event.source
        if source.kind == "file":
            if self.cache is None:
                return [decode_pod(event.body, source, self.node_name)]
            decoded = self.cache.get(digest, source)
            if decoded is None:
                decoded = decode_pod(event.body, source, self.node_name)
                self.cache.put(digest, source, decoded)
            return [decoded]
        if not event.body:
            logs.emit("manifest URL empty: removing its pods", level="warning", url=source.location)
            return []
        return decode_pod_list(event.body, source, self.node_name)

    def _replace(
        self, source: PodSource, digest: bytes, decoded: list[DecodedPod]
    ) -> list[PodClaim]:
        state = self._sources.setdefault(source, SourceState(digest))
        state.digest = digest
        state.stale = False
        previous = state.claims
        current: dict[str, PodClaim] = {}
        kept: dict[str, Held] = {}
        for item in decoded:
            key = pod_key(item)
            if key in current:
                logs.emit(
                    "duplicate pod name, ignoring",
                    level="warning",
                    pod=key,
                    source=source.location,
                )
                continue
            for warning in item.warnings:
                logs.emit(
                    "manifest warning",
                    level="warning",
                    source=source.location,
                    pod=key,
                    warning=warning.describe(),
                )
            claim = current[key] = PodClaim(key, source, item.pod)
            kept[key] = claim if self.owned_here(key) else _encoder.encode(claim)
        state.claims = kept
        claims = [PodClaim(key, source, None) for key in previous if key not in current]
        claims.extend(
            claim
            for key, claim in current.items()
            if key not in previous or _changed(previous[key], kept[key])
        )
        return claims

    def _release(self, source: PodSource, digest: bytes | None = None) -> list[PodClaim]:
        state = self._sources.get(source)
        if state is None:
            if digest is not None:
                self._sources[source] = SourceState(digest)
            return []
        released = [PodClaim(key, source, None) for key in state.claims]
        state.claims = {}
        state.stale = False
        if digest is not None:
            state.digest = digest
        return released


def _changed(before: Held, after: Held) -> bool:
    if isinstance(before, PodClaim) and isinstance(after, PodClaim):
        return before.pod != after.pod
    return before != after
