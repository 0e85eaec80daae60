"""fastpod's runtime adapters read the pods a kubelet left on real Docker (as cri-dockerd
makes them) and real containerd (as its CRI keeps them): found, compared with what fastpod
would run, and once adopted listed, stopped and followed as fastpod's own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastpod.manifest.decode import decode_pod
from fastpod.model import Container
from fastpod.runtime.base import ForeignPod, RuntimeEvent
from fastpod.runtime.spec import Mount, PodContext, container_hash, container_spec
from fastpod.takeover.plan import decide, with_uid
from tests.support import FILE
from tests.support.docker_engine import BUSYBOX
from tests.support.engines import Engine
from tests.support.kubelet_pods import (
    NAMESPACE,
    KubeletContainer,
    KubeletPod,
    leave,
    static_manifest,
)
from tests.support.pods import NODE

SERVICE_LINKS = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}


def web(data: Path) -> KubeletPod:
    """The kubelet's ``web`` static pod: host network, one busybox container reading a
    hostPath volume, with the service variables a kubelet with an API server adds."""
    return KubeletPod(
        "web-node1",
        [
            KubeletContainer(
                "main",
                command=["sh", "-c", "sleep 3600"],
                env={"MODE": "prod", **SERVICE_LINKS},
                volumes=[(str(data), "/data", True)],
            )
        ],
        labels={"app": "web"},
    )


def web_manifest(data: Path, command: str = "sleep 3600") -> bytes:
    """The manifest of :func:`web` (without the service variables: the kubelet adds them)."""
    return static_manifest("web", command, env={"MODE": "prod"}, data=(data, True))


def run(scenario: asyncio.Future[None] | object) -> None:
    assert asyncio.iscoroutine(scenario)
    asyncio.run(scenario)


def found(pods: list[ForeignPod]) -> dict[str, ForeignPod]:
    return {pod.name: pod for pod in pods if pod.namespace == NAMESPACE}


def test_the_kubelets_pods_are_found_with_their_source_identity_and_annotations(
    kubelet: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pod = web(data)
    left = leave(kubelet, pod, tmp_path / "root", tmp_path / "logs")
    proxy = KubeletPod("proxy-x7", [KubeletContainer("proxy", command=["sleep", "3600"])])
    proxy = KubeletPod(proxy.name, proxy.containers, source="api")
    leave(kubelet, proxy, tmp_path / "root", tmp_path / "logs")

    async def scenario() -> None:
        runtime = kubelet.adapter(str(tmp_path / "logs"))
        try:
            pods = found(await runtime.list_foreign_pods())
        finally:
            await runtime.close()
        assert set(pods) == {"web-node1", "proxy-x7"}
        assert pods["proxy-x7"].source == "api"
        foreign = pods["web-node1"]
        assert (foreign.uid, foreign.source) == (pod.uid, "file")
        (sandbox,) = foreign.sandboxes
        assert (sandbox.id, sandbox.ready, sandbox.attempt) == (left.sandbox_id, True, 0)
        (container,) = foreign.containers
        assert (container.id, container.sandbox_id) == (left.container_ids["main"], sandbox.id)
        assert (container.name, container.state, container.restart_count) == ("main", "running", 0)
        assert container.hash == container_hash(Container(name="main", image=BUSYBOX))

    run(scenario())


def test_a_kubelets_container_reads_as_created_and_matches_the_same_manifest(
    kubelet: Engine, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pod = web(data)
    left = leave(kubelet, pod, tmp_path / "root", tmp_path / "logs")

    async def scenario() -> None:
        runtime = kubelet.adapter(str(tmp_path / "logs"))
        try:
            foreign = found(await runtime.list_foreign_pods())["web-node1"]
            created = await runtime.container_config(left.container_ids["main"])
            namespaces = await runtime.sandbox_namespaces(left.sandbox_id)
            image = await runtime.image_defaults(BUSYBOX)
        finally:
            await runtime.close()
        assert created is not None
        assert namespaces is not None
        assert image is not None
        assert created.image_id == image.id
        assert created.command == ["sh", "-c", "sleep 3600"]
        assert {"MODE": "prod", **SERVICE_LINKS}.items() <= created.env.items()
        assert Mount(str(data), "/data", read_only=True) in created.mounts
        assert (created.privileged, created.pid) == (False, "container")
        assert namespaces.network == "node"

        def decision(manifest: bytes) -> list[tuple[str, str]]:
            wanted = with_uid(decode_pod(manifest, FILE, NODE).pod, pod.uid)
            context = PodContext("127.0.0.1", "", str(tmp_path / "root" / "pods" / pod.uid))
            specs = {
                c.name or "": container_spec(wanted, c, 0, "regular", context)
                for c in wanted.spec.containers or ()
            }
            verdict = decide(
                wanted,
                foreign,
                specs,
                {left.container_ids["main"]: created},
                namespaces,
                {BUSYBOX: image},
            )
            return verdict.reasons

        assert decision(web_manifest(data)) == []
        assert decision(web_manifest(data, "sleep 60")) == [
            (
                "main",
                'command: runs ["sh", "-c", "sleep 3600"], '
                'the manifest says ["sh", "-c", "sleep 60"]',
            )
        ]

    run(scenario())


def test_an_adopted_pod_is_listed_stopped_and_followed_as_fastpods_own(
    kubelet: Engine, tmp_path: Path
) -> None:
    pod = web(tmp_path)
    left = leave(kubelet, pod, tmp_path / "root", tmp_path / "logs")
    api = KubeletPod("proxy-x7", [KubeletContainer("proxy", command=["sleep", "3600"])])
    leave(kubelet, KubeletPod(api.name, api.containers, source="api"), tmp_path, tmp_path / "l")

    async def scenario() -> None:
        runtime = kubelet.adapter(str(tmp_path / "logs"))
        events: list[RuntimeEvent] = []

        async def follow() -> None:
            async for event in runtime.events():
                events.append(event)

        try:
            assert await runtime.list_pod_sandboxes(pod.uid) == []
            runtime.adopt(found(await runtime.list_foreign_pods())[pod.name])
            follower = asyncio.create_task(follow())
            (sandbox,) = await runtime.list_pod_sandboxes(pod.uid)
            (container,) = await runtime.list_containers(pod.uid)
            assert (sandbox.id, container.id) == (left.sandbox_id, left.container_ids["main"])
            assert (container.state, container.restart_count) == ("running", 0)
            node = {s.pod_key for s in await runtime.list_pod_sandboxes()}
            assert f"{NAMESPACE}/web-node1" in node
            assert f"{NAMESPACE}/proxy-x7" not in node
            await asyncio.sleep(0.5)  # the event stream is followed
            await runtime.stop_container(container.id, 1)
            async with asyncio.timeout(20):
                while not any(event.pod_uid == pod.uid for event in events):
                    await asyncio.sleep(0.05)
            (stopped,) = await runtime.list_containers(pod.uid)
            assert stopped.state == "exited"
            follower.cancel()
        finally:
            await runtime.close()

    run(scenario())
