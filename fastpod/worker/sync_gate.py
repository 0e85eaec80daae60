"""When a worker owner may act on what it holds: the kubelet's ``SeenAllSources``, across
processes that may each die and be started again at any moment.

The watcher sends a :class:`Barrier` after the manifests it must follow; each worker answers
it to every worker with a :class:`BarrierPassed` once it has sent the claims those manifests
caused (and, for a resync barrier, every claim it holds for the restarted shards). An owner
that holds a barrier and every worker's answer to it holds every claim made before it.

Two faults shape the rules. An answer can be lost with the process that queued it (a worker
killed before its outbox reached a peer that was itself restarting), so the barrier it
answered never completes: any barrier the watcher sent *after* this worker's first one
(which came after its own manifests) will do as well, and every worker answers every
barrier to every worker. And a worker started again can be sent another shard's resync
barrier before its own manifests: its answer would claim it had sent claims it has not yet
decoded, so it holds such answers back until a barrier of its own has come
(:meth:`SyncGate.concerns`).
"""

from __future__ import annotations

from collections.abc import Iterable

from fastpod.ipc.messages import Barrier, BarrierPassed


class SyncGate:
    """Whether every claim from every configured source has reached this owner.

    Until then nothing that runs is treated as unwanted. It opens on a barrier that names
    every source, came after this worker's first own barrier, and that every worker has
    passed. ``listed`` comes earlier, with the first such barrier whatever the sources: the
    pods of a first listing are all known.
    """

    def __init__(
        self, index: int, workers: int, sources: Iterable[str], *, restarted: bool = False
    ) -> None:
        self.index = index
        self.restarted = restarted
        """This process replaced a dead worker while the watcher ran on."""
        self.workers = workers
        self.sources = frozenset(sources)
        self.open = False
        self.listed = False
        self.anchored = False
        """A barrier of this worker's own has come: its manifests and every claim for its
        pods were sent before it, so it and every later barrier can vouch for them."""
        self._barriers: dict[int, Barrier] = {}
        self._passed: dict[int, set[int]] = {}

    def concerns(self, barrier: Barrier) -> bool:
        """Whether ``barrier`` was sent for this worker: a resync of its shard, or (for a
        worker of the first start, which has had every manifest sent to it) a listing's.
        A restarted worker waits for its resync: a listing's barrier sent meanwhile (a
        source seen for the first time) may come before its manifests."""
        if barrier.resync_shards:
            return self.index in barrier.resync_shards
        return not self.restarted

    def barrier(self, barrier: Barrier) -> bool:
        """Note a barrier from the watcher; True when the gate has just opened. One sent
        before this worker's first own barrier is no proof of anything and is ignored."""
        if self.open:
            return False
        if not self.anchored:
            if not self.concerns(barrier):
                return False
            self.anchored = True
        self._barriers[barrier.token] = barrier
        return self._check(barrier.token)

    def passed(self, message: BarrierPassed) -> bool:
        """Note a worker's answer; True when the gate has just opened."""
        if self.open:
            return False
        self._passed.setdefault(message.token, set()).add(message.worker)
        return self._check(message.token)

    def _check(self, token: int) -> bool:
        barrier = self._barriers.get(token)
        if barrier is None or len(self._passed.get(token, ())) < self.workers:
            return False
        del self._barriers[token], self._passed[token]
        # every claim from a first listing has arrived: pods can start, nothing be removed yet
        self.listed = True
        if not self.sources <= set(barrier.sources_seen):
            return False
        self.open = True
        # the answers to barriers that no longer matter
        self._barriers.clear()
        self._passed.clear()
        return True
