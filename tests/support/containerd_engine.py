"""fastpod's private containerd for the CRI runtime tests, spoken to with raw CRI v1 calls.

``scripts/containerd-up`` starts it (its own root, state directory and socket, apart from
the containerd Docker runs) and imports the images; every test leaves no fastpod pod
sandbox behind (``clean_containerd``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

import grpc
import grpc.aio
import pytest
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

from tests.support.engine_lock import engines_held

CONTAINERD_SOCKET = "/run/fastpod-containerd/containerd.sock"
TARGET = f"unix://{CONTAINERD_SOCKET}"
BUSYBOX = "fastpod.local/busybox:1.36"
PAUSE = "fastpod.local/pause:3.10"
MANAGED = {"io.fastpod.managed": "true"}
TIMEOUT = 30.0


@dataclass
class Cri:
    """The CRI services on one channel (synchronous); a context manager that closes it."""

    channel: grpc.Channel
    runtime: cri_grpc.RuntimeServiceStub
    image: cri_grpc.ImageServiceStub

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> Cri:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@dataclass
class AioCri:
    """The CRI services on one ``grpc.aio`` channel; ``async with`` closes it."""

    channel: grpc.aio.Channel
    runtime: cri_grpc.RuntimeServiceStub
    image: cri_grpc.ImageServiceStub

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AioCri:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def cri(target: str = TARGET) -> Cri:
    """Synchronous CRI stubs on a new channel to the private containerd."""
    channel = grpc.insecure_channel(target)
    # api_pb2_grpc comes without type stubs (api_pb2 has them): its stubs are untyped
    runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
    image = cri_grpc.ImageServiceStub(channel)  # type: ignore[no-untyped-call]
    return Cri(channel, runtime, image)


def aio_cri(target: str = TARGET) -> AioCri:
    """``grpc.aio`` CRI stubs on a new channel; call it inside the running event loop."""
    channel = grpc.aio.insecure_channel(target)
    runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
    image = cri_grpc.ImageServiceStub(channel)  # type: ignore[no-untyped-call]
    return AioCri(channel, runtime, image)


def managed_sandboxes(client: Cri) -> list[cri_pb.PodSandbox]:
    """Every pod sandbox labelled ``io.fastpod.managed=true``, whatever its state."""
    request = cri_pb.ListPodSandboxRequest(filter=cri_pb.PodSandboxFilter(label_selector=MANAGED))
    response: cri_pb.ListPodSandboxResponse = client.runtime.ListPodSandbox(
        request, timeout=TIMEOUT
    )
    return list(response.items)


def remove_all(client: Cri) -> None:
    """Stop and remove every pod sandbox fastpod manages (and so their containers)."""
    for _ in range(20):
        sandboxes = managed_sandboxes(client)
        if not sandboxes:
            return
        for sandbox in sandboxes:
            try:
                client.runtime.StopPodSandbox(
                    cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=TIMEOUT
                )
                client.runtime.RemovePodSandbox(
                    cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=TIMEOUT
                )
            except grpc.RpcError as error:
                # gone between the listing and the call: fine; anything else: try again
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    time.sleep(0.1)
    raise AssertionError(f"fastpod pod sandboxes remain in containerd: {managed_sandboxes(client)}")


@pytest.fixture
def clean_containerd() -> Iterator[Cri]:
    """No fastpod pod sandbox in the private containerd before the test, none after it;
    the test gets synchronous CRI stubs. The machine's engine lock is held throughout: its
    clearing would otherwise remove another run's engine test's pods in the middle of it
    (whose calls then meet ``NOT_FOUND``), and theirs this test's."""
    with engines_held(), cri() as client:
        try:
            client.runtime.Version(cri_pb.VersionRequest(), timeout=5)
        except grpc.RpcError as error:
            pytest.fail(
                f"no containerd answers on {CONTAINERD_SOCKET} (run scripts/containerd-up): {error}"
            )
        remove_all(client)
        yield client
        remove_all(client)
