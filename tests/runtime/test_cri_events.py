"""How container events reach fastpod from a CRI runtime that streams them.

containerd 1.7 and later answer ``GetContainerEvents``; only containerd 1.6 can be installed
here, and it does not (the real-containerd tests run the relist fallback). So this stream is
served by a gRPC server speaking CRI v1 in the test, over a unix socket like the runtime's:
the client code under test is fastpod's own CRI runtime, unchanged.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

from fastpod.runtime.base import ContainerInfo, ListedObject, RuntimeEvent, SandboxInfo
from fastpod.runtime.cri.runtime import CriRuntime
from fastpod.runtime.labels import MANAGED_BY, POD_UID

TIMEOUT = 5.0


class StreamingRuntime(cri_grpc.RuntimeServiceServicer):
    """A CRI runtime service with an event stream: :meth:`send` sends an event to every
    stream open, :meth:`break_streams` ends them all with UNAVAILABLE."""

    runtime_name = "containerd"

    def __init__(self) -> None:
        self.streams: list[asyncio.Queue[cri_pb.ContainerEventResponse | grpc.StatusCode]] = []
        self.containers: list[cri_pb.Container] = []
        self.sandboxes: list[cri_pb.PodSandbox] = []
        self.opened = asyncio.Event()

    async def Version(self, request: cri_pb.VersionRequest, context: Any) -> cri_pb.VersionResponse:
        return cri_pb.VersionResponse(
            version="0.1.0", runtime_name=self.runtime_name, runtime_api_version="v1"
        )

    def send(self, uid: str) -> None:
        event = cri_pb.ContainerEventResponse(
            container_id="c1",
            container_event_type=cri_pb.ContainerEventType.CONTAINER_STOPPED_EVENT,
            pod_sandbox_status=cri_pb.PodSandboxStatus(metadata=cri_pb.PodSandboxMetadata(uid=uid)),
        )
        for queue in self.streams:
            queue.put_nowait(event)

    def break_streams(self) -> None:
        for queue in self.streams:
            queue.put_nowait(grpc.StatusCode.UNAVAILABLE)
        self.streams.clear()
        self.opened.clear()

    async def GetContainerEvents(
        self, request: cri_pb.GetEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[cri_pb.ContainerEventResponse]:
        queue: asyncio.Queue[cri_pb.ContainerEventResponse | grpc.StatusCode] = asyncio.Queue()
        self.streams.append(queue)
        self.opened.set()
        while True:
            item = await queue.get()
            if isinstance(item, grpc.StatusCode):
                await context.abort(item, "the runtime went away")
            yield item

    async def ListPodSandbox(
        self, request: cri_pb.ListPodSandboxRequest, context: Any
    ) -> cri_pb.ListPodSandboxResponse:
        return cri_pb.ListPodSandboxResponse(items=self.sandboxes)

    async def ListContainers(
        self, request: cri_pb.ListContainersRequest, context: Any
    ) -> cri_pb.ListContainersResponse:
        return cri_pb.ListContainersResponse(containers=self.containers)


class EventlessRuntime(StreamingRuntime):
    """containerd 1.6: ``GetContainerEvents`` is UNIMPLEMENTED."""

    async def GetContainerEvents(  # type: ignore[override]
        self, request: cri_pb.GetEventsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "unknown method GetContainerEvents")


def container(uid: str, state: cri_pb.ContainerState.ValueType) -> cri_pb.Container:
    return cri_pb.Container(
        id=f"container-of-{uid}",
        pod_sandbox_id=f"sandbox-of-{uid}",
        state=state,
        labels={MANAGED_BY: "true", POD_UID: uid},
    )


def served(
    service: StreamingRuntime,
    tmp_path: Path,
    scenario: Callable[[CriRuntime, AsyncIterator[RuntimeEvent]], Awaitable[None]],
    *,
    follow: bool = False,
) -> None:
    """Run ``scenario`` with fastpod's CRI runtime on ``service``, its events followed (as
    a worker following another's relists if ``follow``)."""

    async def main() -> None:
        server = grpc.aio.server()
        cri_grpc.add_RuntimeServiceServicer_to_server(service, server)
        socket = tmp_path / "cri.sock"
        server.add_insecure_port(f"unix://{socket}")
        await server.start()
        runtime = CriRuntime(f"unix://{socket}", str(tmp_path / "pods"), relist_period=0.05)
        if follow:
            # the other worker's part of the node: its pod "uid-other"
            runtime.follow_relist(lambda item: item.pod_uid != "uid-other")
        events = runtime.events()
        assert isinstance(events, AsyncGenerator)
        try:
            await scenario(runtime, events)
        finally:
            await events.aclose()
            await runtime.close()
            await server.stop(None)

    asyncio.run(main())


async def next_event(events: AsyncIterator[RuntimeEvent]) -> RuntimeEvent:
    return await asyncio.wait_for(anext(events), TIMEOUT)


def test_a_streamed_container_event_wakes_its_pod(tmp_path: Path) -> None:
    service = StreamingRuntime()

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        await asyncio.wait_for(service.opened.wait(), TIMEOUT)
        service.send("uid-web")
        assert await pending == RuntimeEvent("uid-web", "container event")
        service.send("uid-api")
        assert await next_event(events) == RuntimeEvent("uid-api", "container event")

    served(service, tmp_path, scenario)


def test_after_a_lost_stream_every_pod_is_woken_once_and_events_flow_again(
    tmp_path: Path,
) -> None:
    service = StreamingRuntime()

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        await asyncio.wait_for(service.opened.wait(), TIMEOUT)
        service.send("uid-web")
        assert await pending == RuntimeEvent("uid-web", "container event")

        service.break_streams()
        assert await next_event(events) == RuntimeEvent(None, "events resumed")
        await asyncio.wait_for(service.opened.wait(), TIMEOUT)
        service.send("uid-web")
        assert await next_event(events) == RuntimeEvent("uid-web", "container event")

    served(service, tmp_path, scenario)


def test_without_an_event_stream_the_relist_reports_a_changed_container(tmp_path: Path) -> None:
    service = EventlessRuntime()
    service.containers = [container("uid-web", cri_pb.ContainerState.CONTAINER_RUNNING)]

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.2)  # a few relists that see no change
        assert not pending.done()
        service.containers = [container("uid-web", cri_pb.ContainerState.CONTAINER_EXITED)]
        assert await pending == RuntimeEvent("uid-web", "state changed")

    served(service, tmp_path, scenario)


def test_what_is_dead_in_the_first_relist_is_reported_with_its_pod(tmp_path: Path) -> None:
    """A sandbox that died before the first relist (a follower's first comes after its pods
    have started) is news all the same; what runs is not."""
    service = EventlessRuntime()
    service.sandboxes = [
        cri_pb.PodSandbox(
            id="sandbox-of-uid-web",
            state=cri_pb.PodSandboxState.SANDBOX_NOTREADY,
            labels={MANAGED_BY: "true", POD_UID: "uid-web"},
        )
    ]
    service.containers = [
        container("uid-web", cri_pb.ContainerState.CONTAINER_RUNNING),
        container("uid-db", cri_pb.ContainerState.CONTAINER_RUNNING),
    ]

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        assert await next_event(events) == RuntimeEvent("uid-web", "found not running")
        pending = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.3)  # its own relists, past its patience: no more news
        assert not pending.done()
        pending.cancel()
        await asyncio.gather(pending, return_exceptions=True)

    served(service, tmp_path, scenario, follow=True)


def test_a_container_the_relist_finds_is_asked_about_by_its_pods_sync(tmp_path: Path) -> None:
    class Statuses(EventlessRuntime):
        async def ContainerStatus(
            self, request: cri_pb.ContainerStatusRequest, context: Any
        ) -> cri_pb.ContainerStatusResponse:
            return cri_pb.ContainerStatusResponse(
                status=cri_pb.ContainerStatus(
                    id=request.container_id,
                    state=cri_pb.ContainerState.CONTAINER_EXITED,
                    labels={MANAGED_BY: "true", POD_UID: "uid-web"},
                )
            )

    service = Statuses()

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        assert await runtime.list_containers("uid-web") == []
        await asyncio.sleep(0.2)  # a few relists of an empty node
        # made by someone else (an earlier fastpod whose create timed out): the relist finds it
        service.containers = [container("uid-web", cri_pb.ContainerState.CONTAINER_EXITED)]
        assert await pending == RuntimeEvent("uid-web", "state changed")
        (found,) = await runtime.list_containers("uid-web")
        assert found.id == "container-of-uid-web"
        assert found.sandbox_id == "sandbox-of-uid-web"
        assert found.state == "exited"

    served(service, tmp_path, scenario)


class OnePodNode(EventlessRuntime):
    """containerd 1.6 with one pod (a ready sandbox, one container), counting status calls."""

    def __init__(self) -> None:
        super().__init__()
        self.state = cri_pb.ContainerState.CONTAINER_RUNNING
        self.status_calls = 0
        self.containers = [container("uid-web", self.state)]

    def die(self) -> None:
        self.state = cri_pb.ContainerState.CONTAINER_EXITED
        self.containers = [container("uid-web", self.state)]

    async def ListPodSandbox(
        self, request: cri_pb.ListPodSandboxRequest, context: Any
    ) -> cri_pb.ListPodSandboxResponse:
        sandbox = cri_pb.PodSandbox(
            id="sandbox-of-uid-web",
            state=cri_pb.PodSandboxState.SANDBOX_READY,
            labels={MANAGED_BY: "true", POD_UID: "uid-web"},
        )
        return cri_pb.ListPodSandboxResponse(items=[sandbox])

    async def PodSandboxStatus(
        self, request: cri_pb.PodSandboxStatusRequest, context: Any
    ) -> cri_pb.PodSandboxStatusResponse:
        self.status_calls += 1
        return cri_pb.PodSandboxStatusResponse(
            status=cri_pb.PodSandboxStatus(
                id=request.pod_sandbox_id,
                state=cri_pb.PodSandboxState.SANDBOX_READY,
                labels={MANAGED_BY: "true", POD_UID: "uid-web"},
            )
        )

    async def ContainerStatus(
        self, request: cri_pb.ContainerStatusRequest, context: Any
    ) -> cri_pb.ContainerStatusResponse:
        if not request.verbose:
            self.status_calls += 1
        return cri_pb.ContainerStatusResponse(
            status=cri_pb.ContainerStatus(
                id=request.container_id,
                state=self.state,
                labels={MANAGED_BY: "true", POD_UID: "uid-web"},
            ),
            # a process that outlives the test, for the pidfd watch of a running container
            info={"info": json.dumps({"pid": os.getpid()})},
        )


def test_an_idle_pods_sync_asks_nothing_until_the_relist_sees_a_change(tmp_path: Path) -> None:
    service = OnePodNode()

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))

        async def sync() -> tuple[list[SandboxInfo], list[ContainerInfo]]:
            sandboxes = await runtime.list_pod_sandboxes("uid-web")
            return sandboxes, await runtime.list_containers("uid-web")

        first = await sync()
        asked = service.status_calls
        assert asked == 2
        for _ in range(5):
            assert await sync() == first
        assert service.status_calls == asked, "an idle pod's syncs ask the runtime nothing"

        await asyncio.sleep(0.2)  # a few relists with nothing new
        service.die()
        assert await pending == RuntimeEvent("uid-web", "state changed")
        _, (after,) = await sync()
        assert after.state == "exited"
        assert service.status_calls > asked

    served(service, tmp_path, scenario)


def test_what_the_relist_no_longer_shows_is_forgotten_and_its_pod_woken(tmp_path: Path) -> None:
    service = OnePodNode()

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        assert len(await runtime.list_containers("uid-web")) == 1
        await asyncio.sleep(0.2)  # a few relists that show it
        service.containers = []  # removed by someone else
        assert await pending == RuntimeEvent("uid-web", "state changed")
        asked = service.status_calls
        assert await runtime.list_containers("uid-web") == []
        assert service.status_calls == asked, "a forgotten container is not asked about"

    served(service, tmp_path, scenario)


def test_the_runtime_is_named_as_its_version_reply_names_it(tmp_path: Path) -> None:
    """The scheme of the container IDs in pod statuses, as the kubelet takes it."""

    class CriO(EventlessRuntime):
        runtime_name = "cri-o"

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        assert await runtime.list_containers("uid-web") == []
        assert runtime.name == "cri-o"

    served(CriO(), tmp_path, scenario)


class CountedListings(EventlessRuntime):
    """containerd 1.6, counting the listings asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.listings = 0

    async def ListContainers(
        self, request: cri_pb.ListContainersRequest, context: Any
    ) -> cri_pb.ListContainersResponse:
        self.listings += 1
        return await super().ListContainers(request, context)


def test_a_following_worker_sees_the_leaders_relist_and_lists_nothing_itself(
    tmp_path: Path,
) -> None:
    """Two workers: the leader lists the node and hands the follower its part (here: every
    pod, in the worker process split by pod key); the follower's runtime is never listed."""
    node = CountedListings()
    node.containers = [container("uid-web", cri_pb.ContainerState.CONTAINER_RUNNING)]
    unlisted = CountedListings()
    unlisted.containers = node.containers

    async def scenario(
        leader: CriRuntime, follower: CriRuntime, follower_events: AsyncIterator[RuntimeEvent]
    ) -> None:
        def publish(objects: list[ListedObject]) -> list[ListedObject]:
            follower.relisted(objects)
            return []

        leader.lead_relist(publish)
        follower.follow_relist(lambda item: True)
        leader_events = leader.events()
        assert isinstance(leader_events, AsyncGenerator)
        pending = asyncio.ensure_future(next_event(follower_events))
        relisting = asyncio.ensure_future(next_event(leader_events))
        try:
            await asyncio.sleep(0.3)  # a few relists that see no change
            assert not pending.done()
            node.containers = [container("uid-web", cri_pb.ContainerState.CONTAINER_EXITED)]
            assert await pending == RuntimeEvent("uid-web", "state changed")
            assert node.listings >= 3
            assert unlisted.listings == 0
            assert not relisting.done(), "the leader keeps only its own part"
        finally:
            relisting.cancel()
            await asyncio.gather(relisting, return_exceptions=True)
            await leader_events.aclose()

    two_served(node, unlisted, tmp_path, scenario)


def test_a_follower_whose_leader_is_silent_lists_the_node_itself(tmp_path: Path) -> None:
    service = CountedListings()
    running, exited = (
        cri_pb.ContainerState.CONTAINER_RUNNING,
        cri_pb.ContainerState.CONTAINER_EXITED,
    )
    service.containers = [container("uid-web", running), container("uid-other", running)]

    async def scenario(runtime: CriRuntime, events: AsyncIterator[RuntimeEvent]) -> None:
        pending = asyncio.ensure_future(next_event(events))
        await asyncio.sleep(0.3)  # past its patience: it listed the node itself
        assert service.listings >= 1
        service.containers = [container("uid-web", running), container("uid-other", exited)]
        await asyncio.sleep(0.3)
        assert not pending.done(), "the other worker's pod is the other worker's to see"
        service.containers = [container("uid-web", exited), container("uid-other", exited)]
        assert await pending == RuntimeEvent("uid-web", "state changed")

    served(service, tmp_path, scenario, follow=True)


def two_served(
    leading: StreamingRuntime,
    following: StreamingRuntime,
    tmp_path: Path,
    scenario: Callable[[CriRuntime, CriRuntime, AsyncIterator[RuntimeEvent]], Awaitable[None]],
) -> None:
    """Run ``scenario`` with two of fastpod's CRI runtimes, each on its own service (which
    one is asked what shows), the second one's events followed."""

    async def main() -> None:
        servers = []
        runtimes = []
        for name, service in (("leading", leading), ("following", following)):
            server = grpc.aio.server()
            cri_grpc.add_RuntimeServiceServicer_to_server(service, server)
            socket = tmp_path / f"{name}.sock"
            server.add_insecure_port(f"unix://{socket}")
            await server.start()
            servers.append(server)
            runtimes.append(
                CriRuntime(f"unix://{socket}", str(tmp_path / "pods"), relist_period=0.05)
            )
        leader, follower = runtimes
        events = follower.events()
        assert isinstance(events, AsyncGenerator)
        try:
            await scenario(leader, follower, events)
        finally:
            await events.aclose()
            for runtime in runtimes:
                await runtime.close()
            for server in servers:
                await server.stop(None)

    asyncio.run(main())
