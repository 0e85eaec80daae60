"""``kill -9`` of fastpod's workers at the moments that matter, on Docker and containerd: what
runs afterwards is exactly one sandbox and one container per desired pod, nothing of a
removed or replaced pod, and no running pod restarted.

A worker killed half way through stopping a pod leaves that pod to the housekeeping of its
successor (the kubelet's ``HandlePodCleanups``), which may act only once every claim for
its pods has reached it: two workers killed together must not leave either waiting for an
answer that died with the other (:mod:`fastpod.worker.sync_gate`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastpod.ipc.messages import shard_of
from tests.support.engines import Engine, manifest, start, wait_until
from tests.support.pods import pod_key
from tests.support.running import RunningFastpod, write_atomically

STUBBORN = "trap '' TERM; sleep 3600 & wait"
"""A container that ignores SIGTERM: stopping its pod takes the whole grace period."""

SLOW_STOP = manifest("slow", command=STUBBORN).replace(
    b"terminationGracePeriodSeconds: 2", b"terminationGracePeriodSeconds: 30"
)


@pytest.fixture
def fastpod(engine: Engine, manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(engine, manifests, tmp_path)
    yield running
    running.stop()


def owner(key: str) -> str:
    """The worker that owns the pod ``key`` (the tests run two)."""
    return f"worker-{shard_of(key, 2)}"


def kill_child(fastpod: RunningFastpod, name: str) -> None:
    """SIGKILL one child and wait until the supervisor has started another."""
    victim = fastpod.child_pid(name)
    os.kill(victim, signal.SIGKILL)
    fastpod.wait_for(lambda: fastpod.child_pid(name) != victim)


def synced_since(fastpod: RunningFastpod, mark: int, process: str) -> bool:
    return any(r.get("process") == process for r in fastpod.since(mark, "all sources seen"))


def test_a_worker_killed_while_a_removed_pod_stops_leaves_nothing_of_it_running(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "slow.yaml").write_bytes(SLOW_STOP)
    (manifests / "kept.yaml").write_bytes(manifest("kept"))
    wait_until(lambda: len(engine.containers(running_only=True)) == 2)
    kept = {c.id for c in engine.containers("kept")} | {s.id for s in engine.sandboxes("kept")}
    (manifests / "slow.yaml").unlink()
    fastpod.wait_for_event("pod removed", pod=pod_key("slow"))
    time.sleep(0.5)  # into the 30 s grace period of its container

    mark = fastpod.mark()
    kill_child(fastpod, owner(pod_key("slow")))

    fastpod.wait_for(lambda: synced_since(fastpod, mark, owner(pod_key("slow"))), timeout=20)
    wait_until(lambda: engine.containers("slow") == [] and engine.sandboxes("slow") == [])
    assert fastpod.since(mark, "orphan pod removed")[0]["pod"] == pod_key("slow")
    assert kept <= engine.everything(), "the other pod was not restarted"


def test_a_worker_killed_while_a_replaced_pod_stops_leaves_only_its_successor(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "slow.yaml").write_bytes(SLOW_STOP)
    wait_until(lambda: len(engine.containers("slow", running_only=True)) == 1)
    (old,) = engine.sandboxes("slow")
    write_atomically(str(manifests / "slow.yaml"), SLOW_STOP.replace(b"3600", b"3601"))
    fastpod.wait_for_event("pod removed", pod=pod_key("slow"), uid=old.pod_uid)
    time.sleep(0.5)  # the old pod is stopping: the new one waits for it

    kill_child(fastpod, owner(pod_key("slow")))

    def only_the_successor() -> bool:
        sandboxes = engine.sandboxes("slow")
        containers = engine.containers("slow")
        return (
            len(sandboxes) == 1
            and sandboxes[0].ready
            and sandboxes[0].pod_uid != old.pod_uid
            and [(c.pod_uid, c.state) for c in containers] == [(sandboxes[0].pod_uid, "running")]
        )

    wait_until(only_the_successor)


def test_two_workers_killed_together_both_take_up_their_pods_again(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    """The first one's resync is answered by the second just before it dies too, to a
    successor not yet listening: the answer is lost, and the next barrier must do."""
    for index in range(6):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    wait_until(lambda: len(engine.containers(running_only=True)) == 6)
    before = engine.everything()
    fastpod.wait_for_event("all sources seen", 2)

    mark = fastpod.mark()
    os.kill(fastpod.child_pid("worker-0"), signal.SIGKILL)
    time.sleep(0.1)  # the watcher has sent worker 0's resync; worker 1 has answered it
    os.kill(fastpod.child_pid("worker-1"), signal.SIGKILL)
    (manifests / "pod-0.yaml").unlink()

    fastpod.wait_for(
        lambda: all(synced_since(fastpod, mark, w) for w in ("worker-0", "worker-1")), timeout=20
    )
    wait_until(lambda: engine.containers("pod-0") == [] and engine.sandboxes("pod-0") == [])
    left = {c.id for c in engine.containers()} | {s.id for s in engine.sandboxes()}
    assert left <= before, "no pod restarted"
    assert len(left) == 10, "the five other pods ran on"
