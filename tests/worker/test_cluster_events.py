"""A worker's pod events go to the cluster process named as the kubelet names them: the
static pod's namespace, name and UID, a container by its place in the spec; a cluster
process away long enough has them dropped and counted, not queued without end."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Sequence

import msgspec

from fastpod.config.settings import Config
from fastpod.ipc.messages import Message, PodEventReported
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker.cluster_events import PENDING_MAX, ClusterEvents
from fastpod.worker.desired import DesiredPods
from fastpod.worker.process import Worker
from fastpod.worker.settings import WorkerSettings
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, run, runner_on


class Channel:
    """An outbox that keeps what it is given."""

    def __init__(self, pending: int = 0) -> None:
        self.pending = pending
        self.sent: list[PodEventReported] = []

    def send(self, messages: Sequence[Message]) -> None:
        self.sent.extend(m for m in messages if isinstance(m, PodEventReported))


def test_a_pod_start_sends_pulled_created_started_about_the_static_pod(
    settings: WorkerSettings,
) -> None:
    web = pod(
        "web",
        containers=["app"],
        extra_spec={"initContainers": [{"name": "setup", "image": "busybox:1.36"}]},
    )
    channel = Channel()

    def starts() -> list[PodEventReported]:
        return [e for e in channel.sent if e.reason in ("Pulled", "Created", "Started")]

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.state.events.forward = ClusterEvents(runner, DesiredPods(), channel).forward
            runner.submit(added(web))
            await eventually(lambda: len(starts()) >= 3, "the init container started")
            [setup] = [i.id for i in runtime.containers.values() if i.state == "running"]
            runtime.exit(setup, 0)
            await eventually(lambda: len(starts()) >= 6, "both containers started")

    run(scenario)

    assert [(e.field_path, e.reason) for e in starts()] == [
        ("spec.initContainers{setup}", "Pulled"),
        ("spec.initContainers{setup}", "Created"),
        ("spec.initContainers{setup}", "Started"),
        ("spec.containers{app}", "Pulled"),
        ("spec.containers{app}", "Created"),
        ("spec.containers{app}", "Started"),
    ]
    first = starts()[0]
    assert (first.namespace, first.name, first.uid) == ("default", "web-node1", web.metadata.uid)
    assert first.message == 'Container image "busybox:1.36" already present on machine'
    assert first.event_type == "Normal"


def test_while_the_cluster_process_does_not_read_events_are_dropped_and_counted(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = pod("web")
    channel = Channel(pending=PENDING_MAX)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.state.events.forward = ClusterEvents(runner, DesiredPods(), channel).forward
            runner.submit(added(web))
            await eventually(lambda: len(runner.state.events.of(pod_key("web"))) >= 3)
            await eventually(lambda: bool(captured_logs.records("pod events dropped")))
            channel.pending = 0
            runner.state.events.record(pod_key("web"), "Killing", "Stopping container app")
            await eventually(lambda: bool(channel.sent), "an event sent")

    run(scenario)

    assert [e.reason for e in channel.sent] == ["Killing"]
    [again] = captured_logs.records("pod events sent again")
    assert again["dropped"] >= 3


def test_a_worker_sends_its_pod_events_to_the_cluster_process_only_with_a_kubeconfig() -> None:
    frames = msgspec.msgpack.Decoder(list[Message])

    async def main() -> None:
        run_dir = tempfile.mkdtemp(dir="/tmp", prefix="fastpod-test-")
        plain = Worker(Config(node_name="node1", pod_manifest_path="/x"), 0, run_dir=run_dir)
        clustered = Worker(
            Config(node_name="node1", pod_manifest_path="/x", kubeconfig="/x/kubelet.conf"),
            0,
            run_dir=run_dir,
        )
        reports = clustered.cluster_reports
        try:
            assert plain.runner.state.events.forward is None
            assert reports is not None
            clustered.runner.submit(added(pod("web")))
            clustered.runner.state.events.record(
                pod_key("web"), "Killing", "Stopping container app"
            )
            await asyncio.sleep(0)  # the turn's events go as one frame
            sent = [
                message
                for frame in reports.outbox._frames
                for message in frames.decode(frame[4:])
                if isinstance(message, PodEventReported)
            ]
            assert [(m.name, m.reason) for m in sent] == [("web-node1", "Killing")]
        finally:
            for worker in (plain, clustered):
                await worker.runner.close()
                for peer in worker._peers:
                    await peer.close()
            if reports is not None:
                await reports.outbox.close()
            shutil.rmtree(run_dir, ignore_errors=True)

    asyncio.run(main())
