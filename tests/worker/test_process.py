"""The worker process: how it routes claims and answers barriers (its gate: test_sync_gate.py).

The Worker is driven through ``receive`` inside a running loop, without sockets: what it sends
to its peers stays queued in their outboxes, where the tests read it.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest

from fastpod.config.settings import Config
from fastpod.ipc.channels import Outbox
from fastpod.ipc.messages import (
    Barrier,
    BarrierPassed,
    ManifestChanged,
    ManifestRemoved,
    Message,
    NodeRelisted,
    PodClaim,
    PodsPart,
    RelistDone,
    SourcesHeld,
    StatusAnswer,
    StatusQuery,
    shard_of,
)
from fastpod.model import PodSource
from fastpod.runtime.base import ListedObject, SandboxInfo
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import POD_UID
from fastpod.worker import process, reports
from fastpod.worker.desired import PodChange
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.process import Worker
from tests.support.logs import LogCapture
from tests.support.pods import decoded, pod_key, pod_manifest
from tests.support.worker import eventually, name_in_shard

CONFIG = Config(node_name="node1", pod_manifest_path="/x", workers=2)
MINE = name_in_shard(0, 2, "mine")
THEIRS = name_in_shard(1, 2, "theirs")
ALSO_THEIRS = name_in_shard(1, 2, "also")
_frames = msgspec.msgpack.Decoder(list[Message])


def manifest(name: str) -> PodSource:
    return PodSource("file", f"/x/{name}.yaml")


def changed(name: str, **options: Any) -> ManifestChanged:
    return ManifestChanged(manifest(name), pod_manifest(name, **options), relisted=True)


# Worker.receive


def queued(outbox: Outbox) -> list[list[Message]]:
    """The batches waiting in ``outbox`` (no peer listens in these tests)."""
    return [_frames.decode(frame[4:]) for frame in outbox._frames]


def run_worker(
    scenario: Callable[[Worker], Awaitable[None]], index: int = 0, *, restarted: bool = False
) -> None:
    """Run ``scenario`` on worker ``index`` of :data:`CONFIG` inside a loop, then clean up."""

    async def main() -> None:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        worker = Worker(CONFIG, index, run_dir=run_dir, restarted=restarted)
        try:
            await scenario(worker)
        finally:
            await worker.runner.close()
            for peer in worker._peers:
                await peer.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    asyncio.run(main())


def listed(worker: Worker) -> None:
    """The first listing is in, as far as ``worker`` can tell: its pods may start."""
    worker.receive([Barrier(99, ()), BarrierPassed(99, 1 - worker.index)])


def test_pods_start_only_once_every_worker_has_passed_a_first_barrier() -> None:
    """Decoding a cold listing comes first; starting pods in the middle would only slow it."""

    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE), Barrier(1, ())])
        await asyncio.sleep(0.05)
        assert fake_sandboxes(worker.runner) == {}
        worker.receive([BarrierPassed(1, 1)])
        await eventually(lambda: len(fake_sandboxes(worker.runner)) == 1, "its pod's sandbox")

    run_worker(scenario)


def test_claims_for_its_own_shard_are_applied_by_the_worker_itself() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE)])

        assert list(worker.desired.pods) == [pod_key(MINE)]
        assert [peer.pending for peer in worker._peers] == [0, 0]
        listed(worker)
        await eventually(lambda: len(fake_sandboxes(worker.runner)) == 1, "its pod's sandbox")

    run_worker(scenario)


def test_a_message_that_fails_costs_only_itself_not_the_rest_of_its_batch(
    captured_logs: LogCapture,
) -> None:
    """The manifests after it in the same batch are still claimed, and the log names it."""
    broken = name_in_shard(0, 2, "broken")

    async def scenario(worker: Worker) -> None:
        decode = worker.decoder.changed

        def failing(event: ManifestChanged) -> list[PodClaim]:
            if event.source == manifest(broken):
                raise RuntimeError("a bug in the decoder")
            return decode(event)

        worker.decoder.changed = failing  # type: ignore[method-assign]
        worker.receive([changed(broken), changed(MINE)])

        assert list(worker.desired.pods) == [pod_key(MINE)]

    run_worker(scenario)
    (failure,) = captured_logs.records("message handling failed")
    assert failure["message"] == f"ManifestChanged file /x/{broken}.yaml"
    assert "a bug in the decoder" in failure["error"]


def test_claims_for_another_shard_are_queued_for_their_owner() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(THEIRS), changed(MINE)])

        assert list(worker.desired.pods) == [pod_key(MINE)]
        (batch,) = queued(worker._peers[1])
        assert batch == [
            PodClaim(
                pod_key(THEIRS), manifest(THEIRS), decoded(pod_manifest(THEIRS), manifest(THEIRS))
            )
        ]

    run_worker(scenario)


def test_a_removed_manifest_releases_its_pod_at_its_owner() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(THEIRS), changed(MINE)])
        worker.receive([ManifestRemoved(manifest(THEIRS)), ManifestRemoved(manifest(MINE))])

        assert worker.desired.pods == {}
        assert queued(worker._peers[1])[-1] == [PodClaim(pod_key(THEIRS), manifest(THEIRS), None)]

    run_worker(scenario)


def test_on_a_cri_runtime_worker_0_relists_the_node_for_each_worker_by_pod_key() -> None:
    config = msgspec.structs.replace(
        CONFIG, runtime="cri", container_runtime_endpoint="unix:///nonexistent/cri.sock"
    )

    def listed_object(name: str) -> ListedObject:
        return ListedObject(f"id-{name}", "", pod_key(name), f"uid-{name}", 0, managed=True)

    async def main() -> None:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        leader, follower = (Worker(config, index, run_dir=run_dir) for index in (0, 1))
        try:
            mine, theirs = listed_object(MINE), listed_object(THEIRS)
            assert leader._publish_relist([mine, theirs]) == [mine]
            assert queued(leader._peers[1]) == [[NodeRelisted((theirs,))]]
            assert queued(leader._peers[0]) == []
            # worker 1 is not there to take it: the next relist is not piled up behind
            assert leader._publish_relist([mine, theirs]) == [mine]
            assert queued(leader._peers[1]) == [[NodeRelisted((theirs,))]]

            feed = follower.runner.runtime._feed  # type: ignore[attr-defined]
            follower.receive([NodeRelisted((theirs,))])
            assert await feed.next(60.0, first=True) == ([theirs], "leader")
        finally:
            for worker in (leader, follower):
                await worker.runner.close()
                for peer in worker._peers:
                    await peer.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    asyncio.run(main())


def test_claims_from_peers_are_applied() -> None:
    async def scenario(worker: Worker) -> None:
        source = manifest(MINE)
        pod = decoded(pod_manifest(MINE), source)

        worker.receive([PodClaim(pod_key(MINE), source, pod)])
        assert worker.desired.pods[pod_key(MINE)].pod is pod

        worker.receive([PodClaim(pod_key(MINE), source, None)])
        assert worker.desired.pods == {}

    run_worker(scenario)


def test_an_invalid_edit_is_released_at_its_owner_by_the_relist_done() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(THEIRS)])
        worker.receive([ManifestChanged(manifest(THEIRS), pod_manifest(THEIRS, image=""), False)])
        assert len(queued(worker._peers[1])) == 1

        worker.receive([RelistDone(complete=False)])

        assert queued(worker._peers[1])[-1] == [PodClaim(pod_key(THEIRS), manifest(THEIRS), None)]

    run_worker(scenario)


def test_claims_before_a_barrier_are_sent_before_the_worker_passes_it() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(THEIRS), Barrier(1, ("file",)), changed(ALSO_THEIRS)])

        batches = queued(worker._peers[1])
        assert [type(message).__name__ for batch in batches for message in batch][:2] == [
            "PodClaim",
            "BarrierPassed",
        ]
        assert batches[1] == [BarrierPassed(1, 0)]

    run_worker(scenario)


def test_a_barrier_is_answered_to_every_worker_and_the_gate_opens_on_the_last_answer(
    captured_logs: LogCapture,
) -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE), Barrier(1, ("file",))])
        assert worker.gate.open is False
        assert queued(worker._peers[1]) == [[BarrierPassed(1, 0)]]

        worker.receive([BarrierPassed(1, 1)])

        assert worker.gate.open is True
        (synced,) = captured_logs.records("all sources seen")
        assert synced["pods"] == 1

    run_worker(scenario)


def test_a_resync_barrier_resends_the_claims_of_the_restarted_shard_only() -> None:
    async def scenario(worker: Worker) -> None:
        listed(worker)
        worker.receive([changed(THEIRS), changed(MINE)])
        before = len(queued(worker._peers[1]))

        worker.receive([Barrier(2, ("file",), resync_shards=(1,))])

        resent = queued(worker._peers[1])[before:]
        assert [[type(message) for message in batch] for batch in resent] == [
            [PodClaim],
            [BarrierPassed],
        ]
        (resent_claim,) = resent[0]
        assert isinstance(resent_claim, PodClaim)
        assert resent_claim.pod_key == pod_key(THEIRS)
        assert resent[1] == [BarrierPassed(2, 0)]
        assert worker.gate.open is False

    run_worker(scenario)


def fake_sandboxes(runner: PodRunner) -> dict[str, SandboxInfo]:
    """The sandboxes of the fake runtime the runner drives."""
    assert isinstance(runner.runtime, FakeRuntime)
    return runner.runtime.sandboxes


async def _start_pod(runner: PodRunner, name: str) -> str:
    pod = decoded(pod_manifest(name), manifest(name))
    runner.submit(PodChange("added", pod, manifest(name)))
    uid = pod.metadata.uid or ""
    await eventually(lambda: uid in {s.pod_uid for s in fake_sandboxes(runner).values()})
    return uid


async def _running_uids(worker: Worker) -> set[str]:
    sandboxes = await worker.runner.runtime.list_pod_sandboxes()
    return {sandbox.labels[POD_UID] for sandbox in sandboxes}


@pytest.mark.parametrize("sources_seen", [("file",), ()])
def test_orphans_of_its_shard_are_removed_only_once_every_source_has_been_seen(
    sources_seen: tuple[str, ...],
) -> None:
    async def scenario(worker: Worker) -> None:
        # what a previous worker left running: a pod still wanted and two orphans
        previous = PodRunner(worker.runner.runtime, worker.runner.settings)
        wanted = await _start_pod(previous, MINE)
        orphan = await _start_pod(previous, name_in_shard(0, 2, "gone"))
        not_mine = await _start_pod(previous, name_in_shard(1, 2, "gone"))
        await previous.close()

        worker.receive([changed(MINE), Barrier(1, sources_seen)])
        await asyncio.sleep(0.05)
        assert await _running_uids(worker) == {wanted, orphan, not_mine}

        worker.receive([BarrierPassed(1, 1)])
        if sources_seen:
            expected = {wanted, not_mine}
            await eventually(
                lambda: {s.pod_uid for s in fake_sandboxes(worker.runner).values()} == expected
            )
        else:
            await asyncio.sleep(0.05)
            assert await _running_uids(worker) == {wanted, orphan, not_mine}
        containers = await worker.runner.runtime.list_containers()
        assert {container.labels[POD_UID] for container in containers} == await _running_uids(
            worker
        )

    run_worker(scenario)


def test_each_decision_is_logged_with_the_pod_uid_and_source(captured_logs: LogCapture) -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE)])
        worker.receive([changed(MINE, image="busybox:1.37")])
        listed(worker)
        new = decoded(pod_manifest(MINE, image="busybox:1.37"), manifest(MINE)).metadata.uid
        await eventually(
            lambda: [s.pod_uid for s in fake_sandboxes(worker.runner).values()] == [new]
        )

    run_worker(scenario)

    old = decoded(pod_manifest(MINE), manifest(MINE)).metadata.uid
    new = decoded(pod_manifest(MINE, image="busybox:1.37"), manifest(MINE)).metadata.uid
    decisions = [
        (record["event"], record["uid"])
        for record in captured_logs.records()
        if record["event"] in ("pod added", "pod removed", "pod updated")
    ]
    assert decisions == [("pod added", old), ("pod removed", old), ("pod added", new)]
    assert {record["pod"] for record in captured_logs.records("pod added")} == {pod_key(MINE)}
    assert {record["source"] for record in captured_logs.records("pod added")} == {
        manifest(MINE).location
    }


def test_what_a_pod_sets_and_fastpod_does_not_honour_is_on_its_added_line_and_events(
    captured_logs: LogCapture,
) -> None:
    sandboxed = name_in_shard(0, 2, "sandboxed")
    warning = (
        "spec.runtimeClassName: not honoured by fastpod: the runtime's default handler runs the pod"
    )

    async def scenario(worker: Worker) -> None:
        worker.receive(
            [changed(MINE), changed(sandboxed, extra_spec={"runtimeClassName": "gvisor"})]
        )
        listed(worker)
        await eventually(lambda: len(fake_sandboxes(worker.runner)) == 2, "both sandboxes")
        events = worker.runner.state.events
        first = events.of(pod_key(sandboxed))[0]
        assert (first.reason, first.message) == ("FeatureNotSupported", warning)
        assert "FeatureNotSupported" not in [event.reason for event in events.of(pod_key(MINE))]

    run_worker(scenario)

    added = {record["pod"]: record for record in captured_logs.records("pod added")}
    assert added[pod_key(sandboxed)]["level"] == "warning"
    assert added[pod_key(sandboxed)]["not_honoured"] == [warning]
    assert added[pod_key(MINE)]["level"] == "info"
    assert "not_honoured" not in added[pod_key(MINE)]


def test_two_manifests_claiming_one_pod_are_logged_as_a_duplicate(
    captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "DUPLICATE_SETTLE", 0.01)
    backup = PodSource("file", f"{manifest(MINE).location}.bak")

    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE)])
        worker.receive([ManifestChanged(backup, pod_manifest(MINE), relisted=True)])

        assert worker.desired.pods[pod_key(MINE)].source == backup
        await eventually(lambda: bool(captured_logs.records("duplicate pod name")), "said")

    run_worker(scenario)

    (duplicate,) = captured_logs.records("duplicate pod name")
    assert duplicate["level"] == "warning"
    assert duplicate["pod"] == pod_key(MINE)
    assert duplicate["source"] == backup.location
    assert duplicate["ignored"] == [manifest(MINE).location]


def test_a_restarted_worker_answers_another_shards_resync_only_after_its_own() -> None:
    """Its answer would otherwise vouch for claims it has not decoded yet."""

    async def scenario(worker: Worker) -> None:
        worker.receive([Barrier(1, ("file",), resync_shards=(1,))])
        assert queued(worker._peers[1]) == []

        worker.receive([changed(THEIRS), Barrier(2, ("file",), resync_shards=(0,))])

        batches = queued(worker._peers[1])
        assert [type(message).__name__ for batch in batches for message in batch] == [
            "PodClaim",  # decoded before its own resync barrier
            "PodClaim",  # resent for the earlier barrier, the claims of shard 1
            "BarrierPassed",
            "BarrierPassed",
            "SourcesHeld",
        ]
        assert batches[-3:-1] == [[BarrierPassed(1, 0)], [BarrierPassed(2, 0)]]

    run_worker(scenario, restarted=True)


def test_a_resync_barrier_is_answered_to_every_worker() -> None:
    """Not only to the restarted one: a peer whose own answer was lost counts on it."""

    run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
    config = Config(node_name="node1", pod_manifest_path="/x", workers=3)

    async def main() -> None:
        worker = Worker(config, 0, run_dir=run_dir)
        try:
            worker.receive([Barrier(1, ("file",)), Barrier(2, ("file",), resync_shards=(1,))])
            assert queued(worker._peers[2])[-1] == [BarrierPassed(2, 0)]
        finally:
            await worker.runner.close()
            for peer in worker._peers:
                await peer.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    asyncio.run(main())


def test_a_restarted_worker_tells_each_owner_what_it_claims_once_its_manifests_are_in() -> None:
    async def scenario(worker: Worker) -> None:
        worker.receive([changed(THEIRS), changed(MINE), Barrier(1, ("file",), (0,))])

        batches = queued(worker._peers[1])
        assert [type(message).__name__ for batch in batches for message in batch] == [
            "PodClaim",
            "BarrierPassed",
            "SourcesHeld",
        ]
        held = ((pod_key(THEIRS), manifest(THEIRS)),)
        assert batches[-1] == [SourcesHeld(0, held, ("file",))]

    run_worker(scenario, restarted=True)


def test_an_owner_drops_what_a_restarted_decoder_no_longer_claims(
    captured_logs: LogCapture,
) -> None:
    """The file went while its decoder was down: nothing else would ever withdraw it."""
    gone = name_in_shard(0, 2, "gone")
    source = PodSource("file", f"/x/{gone}.yaml")
    decoder = shard_of(source.location, 2)

    async def scenario(worker: Worker) -> None:
        pod = decoded(pod_manifest(gone), source)
        worker.receive([PodClaim(pod_key(gone), source, pod)])
        assert pod_key(gone) in worker.desired.pods

        worker.receive([SourcesHeld(decoder, (), ("http",))])
        assert pod_key(gone) in worker.desired.pods, "a file source not sent again: kept"

        worker.receive([SourcesHeld(decoder, (), ("file",))])

        assert worker.desired.pods == {}
        assert captured_logs.records("pod removed")[0]["pod"] == pod_key(gone)

    run_worker(scenario)


def test_a_rename_seen_new_name_first_is_no_duplicate(
    captured_logs: LogCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """web.yaml renamed to web2.yaml: the new name's claim came before the old one's
    withdrawal; for a moment two sources claimed the pod, never on disk."""
    monkeypatch.setattr(process, "DUPLICATE_SETTLE", 0.05)
    renamed = PodSource("file", f"{manifest(MINE).location}2")

    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE)])
        worker.receive([ManifestChanged(renamed, pod_manifest(MINE), relisted=False)])
        worker.receive([ManifestRemoved(manifest(MINE))])
        await asyncio.sleep(0.1)

    run_worker(scenario)

    assert captured_logs.records("duplicate pod name") == []


def test_a_pods_walk_lets_the_event_loop_run_and_sends_its_parts_as_it_goes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Walking 5,000 pods' status for ``/pods`` takes some 200 ms and sending it at once
    15 to 30 ms: a manifest event arriving meanwhile is handled between two slices, each
    slice's pods already sent, and the answer comes last."""
    monkeypatch.setattr(reports, "POD_SLICE", 1)
    second = name_in_shard(0, 2, "second")

    async def scenario(worker: Worker) -> None:
        worker.receive([changed(MINE), changed(second)])
        sent_between_slices: list[list[type]] = []
        worker.receive([StatusQuery(7, pods=True)])
        asyncio.get_running_loop().call_soon(
            lambda: sent_between_slices.append(
                [type(m) for batch in queued(worker._supervisor) for m in batch]
            )
        )
        await eventually(lambda: worker._supervisor.pending == 3, "the answer")
        assert sent_between_slices == [[PodsPart]]
        batches = queued(worker._supervisor)
        *parts, answer = [message for batch in batches for message in batch]
        assert isinstance(answer, StatusAnswer)
        assert (answer.token, answer.pods) == (7, b"")
        assert all(isinstance(p, PodsPart) and p.token == 7 for p in parts)
        array = b"[" + b",".join(p.pods for p in parts if isinstance(p, PodsPart)) + b"]"
        names = [item["metadata"]["name"] for item in msgspec.json.decode(array)]
        assert sorted(names) == sorted([f"{MINE}-node1", f"{second}-node1"])

    run_worker(scenario)
