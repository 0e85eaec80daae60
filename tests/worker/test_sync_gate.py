"""The sync gate (the kubelet's SeenAllSources across processes): when an owner holds every
claim, whatever order barriers and answers come in, and whatever died on the way."""

from __future__ import annotations

from fastpod.ipc.messages import Barrier, BarrierPassed
from fastpod.worker.sync_gate import SyncGate

BOTH_SOURCES = ("file", "http")


def test_the_gate_opens_when_a_barrier_naming_every_source_has_been_passed_by_all() -> None:
    gate = SyncGate(0, 3, BOTH_SOURCES)

    assert gate.barrier(Barrier(1, BOTH_SOURCES)) is False
    assert gate.passed(BarrierPassed(1, 0)) is False
    assert gate.passed(BarrierPassed(1, 2)) is False
    assert gate.open is False
    assert gate.passed(BarrierPassed(1, 1)) is True
    assert gate.open is True


def test_the_gate_opens_whatever_order_the_barrier_and_the_answers_come_in() -> None:
    gate = SyncGate(1, 2, ("file",))

    assert gate.passed(BarrierPassed(7, 1)) is False
    assert gate.passed(BarrierPassed(7, 0)) is False
    assert gate.barrier(Barrier(7, ("file",))) is True
    assert gate.open is True


def test_the_gate_stays_shut_while_a_configured_source_has_not_been_seen() -> None:
    gate = SyncGate(0, 2, BOTH_SOURCES)

    gate.barrier(Barrier(1, ("file",)))
    gate.passed(BarrierPassed(1, 0))

    assert gate.passed(BarrierPassed(1, 1)) is False
    assert gate.open is False
    # a later barrier that names both opens it
    gate.barrier(Barrier(2, ("http", "file")))
    gate.passed(BarrierPassed(2, 1))
    assert gate.passed(BarrierPassed(2, 0)) is True


def test_the_gate_stays_shut_until_every_worker_has_passed() -> None:
    gate = SyncGate(0, 2, ("file",))

    gate.barrier(Barrier(1, ("file",)))
    assert gate.passed(BarrierPassed(1, 0)) is False
    assert gate.passed(BarrierPassed(1, 0)) is False
    assert gate.open is False


def test_answers_to_another_barrier_do_not_count() -> None:
    gate = SyncGate(0, 2, ("file",))

    gate.barrier(Barrier(1, ("file",)))
    gate.passed(BarrierPassed(1, 0))

    assert gate.passed(BarrierPassed(2, 1)) is False
    assert gate.open is False


def test_a_resync_barrier_for_another_shard_does_not_open_the_gate() -> None:
    gate = SyncGate(0, 2, ("file",))

    assert gate.barrier(Barrier(1, ("file",), resync_shards=(1,))) is False
    assert gate.passed(BarrierPassed(1, 0)) is False
    assert gate.passed(BarrierPassed(1, 1)) is False
    assert gate.open is False


def test_a_resync_barrier_for_this_shard_opens_the_gate() -> None:
    gate = SyncGate(1, 2, ("file",))

    gate.barrier(Barrier(1, ("file",), resync_shards=(1,)))
    gate.passed(BarrierPassed(1, 0))

    assert gate.passed(BarrierPassed(1, 1)) is True


def test_the_gate_opens_once_only() -> None:
    gate = SyncGate(0, 1, ("file",))
    gate.barrier(Barrier(1, ("file",)))
    assert gate.passed(BarrierPassed(1, 0)) is True

    assert gate.barrier(Barrier(2, ("file",))) is False
    assert gate.passed(BarrierPassed(2, 0)) is False
    assert gate.open is True


def test_a_gate_without_configured_sources_opens_on_any_complete_barrier() -> None:
    gate = SyncGate(0, 1, ())
    gate.barrier(Barrier(1, ()))

    assert gate.passed(BarrierPassed(1, 0)) is True


def test_a_later_barrier_stands_in_for_one_whose_answer_died_with_a_peer() -> None:
    """Worker 0 restarted; worker 1 died with its answer to worker 0's resync queued. Its
    successor never saw that barrier, but answers the next one."""
    gate = SyncGate(0, 2, ("file",), restarted=True)
    gate.barrier(Barrier(1, ("file",), resync_shards=(0,)))
    gate.passed(BarrierPassed(1, 0))

    gate.barrier(Barrier(2, ("file",), resync_shards=(1,)))
    assert gate.passed(BarrierPassed(2, 0)) is False
    assert gate.passed(BarrierPassed(2, 1)) is True
    assert gate.open is True


def test_a_barrier_sent_before_the_workers_own_one_opens_nothing() -> None:
    """Another shard's resync came first: its answers say nothing of this worker's claims."""
    gate = SyncGate(0, 2, ("file",), restarted=True)

    assert gate.barrier(Barrier(1, ("file",), resync_shards=(1,))) is False
    gate.passed(BarrierPassed(1, 1))
    assert gate.passed(BarrierPassed(1, 0)) is False
    assert gate.open is False
    assert gate.anchored is False


def test_a_restarted_worker_waits_for_its_resync_not_a_listings_barrier() -> None:
    """A listing's barrier (a source seen for the first time) can reach a restarted worker
    before the watcher has sent it its manifests again."""
    gate = SyncGate(0, 2, ("file",), restarted=True)

    assert gate.concerns(Barrier(1, ("file",))) is False
    assert gate.concerns(Barrier(2, ("file",), resync_shards=(0, 1))) is True
    assert SyncGate(0, 2, ("file",)).concerns(Barrier(1, ("file",))) is True
