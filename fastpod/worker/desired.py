"""The pods a worker owns, and what changes when a source's claim on a pod name changes.

This is the kubelet's config merge (``pkg/kubelet/config/config.go``) for one shard of pod
names, kept pure: claims in, ADD / UPDATE / REMOVE out. A UID change (any content change of
a manifest without ``metadata.uid``) is a REMOVE of the old pod and an ADD of the new one;
the same UID with a semantic difference is an UPDATE; anything else changes nothing.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

from fastpod.ipc.messages import PodClaim
from fastpod.manifest.defaults import CONFIG_SEEN, CONFIG_SOURCE, stamp_first_seen
from fastpod.manifest.not_honoured import warnings
from fastpod.model import Pod, PodSource
from fastpod.takeover.plan import with_uid
from fastpod.worker.shared_strings import share_strings

LOCAL_ANNOTATIONS = frozenset({CONFIG_SOURCE, CONFIG_SEEN, "kubernetes.io/config.mirror"})


class DesiredPod(NamedTuple):
    """A pod this worker must run, and the source it came from."""

    pod: Pod
    source: PodSource


class PodChange(NamedTuple):
    """One decision about one pod: ``added``, ``updated`` (``previous`` set) or ``removed``.

    ``not_honoured`` names what an added or updated pod sets that fastpod does not honour
    (:func:`~fastpod.manifest.not_honoured.warnings`), worked out once for the log line and
    the pod's events."""

    kind: Literal["added", "updated", "removed"]
    pod: Pod
    source: PodSource
    previous: Pod | None = None
    not_honoured: tuple[str, ...] = ()


class Duplicate(NamedTuple):
    """Two or more sources claim one pod name; ``chosen`` is the one that runs."""

    pod_key: str
    chosen: PodSource
    others: tuple[PodSource, ...]


def precedence(source: PodSource) -> tuple[bool, str]:
    """Which claim wins a pod name: files over the URL, then the later path in sorted order.

    The later path is the kubelet's rule (its file store is keyed by pod name and filled in
    sorted order, kubernetes#136962); files over the URL keeps a local override local.
    """
    return (source.kind == "file", source.location)


def differs_semantically(old: Pod, new: Pod) -> bool:
    """The kubelet's ``podsDifferSemantically``: spec, labels, deletion, non-local annotations."""
    if old.spec != new.spec or old.metadata.labels != new.metadata.labels:
        return True
    if old.metadata.deletion_timestamp != new.metadata.deletion_timestamp:
        return True
    if old.metadata.deletion_grace_period_seconds != new.metadata.deletion_grace_period_seconds:
        return True
    return _shared_annotations(old.metadata.annotations) != _shared_annotations(
        new.metadata.annotations
    )


def _shared_annotations(annotations: Mapping[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (annotations or {}).items() if k not in LOCAL_ANNOTATIONS}


class DesiredPods:
    """The pods of one shard, from every source's claims, with duplicates resolved."""

    def __init__(self) -> None:
        self.pods: dict[str, DesiredPod] = {}
        self._claims: dict[str, dict[PodSource, Pod]] = {}

    def apply(
        self, claim: PodClaim, now: datetime.datetime
    ) -> tuple[list[PodChange], Duplicate | None]:
        """Take a source's new word on a pod name; the changes, and a duplicate to report."""
        # interned: the pod loops key their pods by the same string, held once
        key = sys.intern(claim.pod_key)
        claims = self._claims.setdefault(key, {})
        if claim.pod is None:
            claims.pop(claim.source, None)
        else:
            # held for as long as the pod is: one copy of the strings every pod repeats
            share_strings(claim.pod)
            claims[claim.source] = claim.pod
        if not claims:
            del self._claims[key]
        return self._settle(key, claims, now), self._duplicate(key, claims, claim)

    def _settle(
        self, key: str, claims: dict[PodSource, Pod], now: datetime.datetime
    ) -> list[PodChange]:
        held = self.pods.get(key)
        if not claims:
            if held is None:
                return []
            del self.pods[key]
            return [PodChange("removed", held.pod, held.source)]
        source = max(claims, key=precedence)
        pod = claims[source]
        if held is None:
            return [self._add(key, pod, source, now)]
        if held.pod.metadata.uid != pod.metadata.uid:
            return [PodChange("removed", held.pod, held.source), self._add(key, pod, source, now)]
        if held.pod is pod or not differs_semantically(held.pod, pod):
            self.pods[key] = DesiredPod(held.pod, source)
            return []
        # same UID: config.seen keeps its first value
        seen = (held.pod.metadata.annotations or {}).get(CONFIG_SEEN)
        if seen is not None:
            pod.metadata.annotations = {**(pod.metadata.annotations or {}), CONFIG_SEEN: seen}
        self.pods[key] = DesiredPod(pod, source)
        return [PodChange("updated", pod, source, held.pod, tuple(warnings(pod)))]

    def drop_unheld(
        self,
        decoded_by_them: Callable[[PodSource], bool],
        held: set[tuple[str, PodSource]],
        now: datetime.datetime,
    ) -> list[PodChange]:
        """Drop every claim from a source ``decoded_by_them`` that is not in ``held``: a
        restarted decoder's predecessor made it, and no source makes it now
        (:class:`~fastpod.ipc.messages.SourcesHeld`); the changes that follows."""
        changes = []
        for key in list(self._claims):
            claims = self._claims[key]
            stale = [s for s in claims if decoded_by_them(s) and (key, s) not in held]
            if not stale:
                continue
            for source in stale:
                del claims[source]
            if not claims:
                del self._claims[key]
            changes.extend(self._settle(key, claims, now))
        return changes

    def take_uid(self, key: str, uid: str) -> PodChange | None:
        """The pod held under ``key`` runs under ``uid`` from now on (an adopted pod: the
        kubelet's UID, :func:`~fastpod.takeover.plan.with_uid`), and so does every claim on
        ``key`` for that pod; the ``updated`` change to hand its loop, None if none is held."""
        held = self.pods.get(key)
        if held is None:
            return None
        old = held.pod.metadata.uid
        claims = self._claims.get(key, {})
        for source, claimed in claims.items():
            if claimed.metadata.uid == old:
                claims[source] = with_uid(claimed, uid)
        pod = with_uid(held.pod, uid)
        self.pods[key] = DesiredPod(pod, held.source)
        return PodChange("updated", pod, held.source, held.pod)

    def _add(self, key: str, pod: Pod, source: PodSource, now: datetime.datetime) -> PodChange:
        stamp_first_seen(pod.metadata, now)
        self.pods[key] = DesiredPod(pod, source)
        return PodChange("added", pod, source, None, tuple(warnings(pod)))

    def duplicate(self, key: str) -> Duplicate | None:
        """The sources that claim ``key`` now, if more than one does."""
        claims = self._claims.get(key, {})
        if len(claims) < 2:
            return None
        ranked = sorted(claims, key=precedence, reverse=True)
        return Duplicate(key, ranked[0], tuple(ranked[1:]))

    @staticmethod
    def _duplicate(key: str, claims: dict[PodSource, Pod], claim: PodClaim) -> Duplicate | None:
        if claim.pod is None or len(claims) < 2:
            return None
        ranked = sorted(claims, key=precedence, reverse=True)
        return Duplicate(key, ranked[0], tuple(ranked[1:]))
