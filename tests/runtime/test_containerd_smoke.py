"""Raw CRI v1 calls from Python to fastpod's private containerd (scripts/containerd-up).

The groundwork for the CRI runtime: a pod sandbox on the host's network and one with its own
network namespace (loopback only, from the test-only CNI plugin), a busybox container in
each, its log in the CRI format under the sandbox's log directory, and the way down again;
with the synchronous gRPC API, then ``grpc.aio`` on asyncio and on uvloop. Run with ``-s``
to see what each call took.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import uvloop
from cri_api.v1 import api_pb2 as cri_pb

from tests.support.containerd_engine import BUSYBOX, MANAGED, PAUSE, Cri, aio_cri, managed_sandboxes

pytestmark = pytest.mark.containerd

NAMESPACE = "fastpod-smoke"
POD_HOSTNAME = "fastpod-smoke-pod"
COMMAND = ["sh", "-c", "hostname; sleep 3600"]
# the CRI log format: RFC 3339 time with nanoseconds (trailing zeros trimmed), stream, F for
# a full line or P for a partial one, the text
CRI_LOG_LINE = re.compile(
    r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z) (?P<stream>stdout|stderr) "
    r"(?P<tag>[FP]) (?P<text>.*)$"
)


class Timings:
    """Milliseconds each CRI call took, printed at the end of a test (seen with ``-s``)."""

    def __init__(self) -> None:
        self.taken: list[tuple[str, float]] = []

    def call(self, name: str, method: Callable[..., Any], request: Any) -> Any:
        start = time.perf_counter()
        response = method(request, timeout=30)
        self.taken.append((name, (time.perf_counter() - start) * 1000))
        return response

    def print(self, title: str) -> None:
        print(f"\n{title}: " + ", ".join(f"{name} {ms:.1f} ms" for name, ms in self.taken))


def sandbox_config(
    name: str, log_directory: Path, *, host_network: bool
) -> cri_pb.PodSandboxConfig:
    """What a kubelet would send for a static pod, trimmed to what containerd 1.6 needs."""
    uid = str(uuid.uuid4())
    network = cri_pb.NODE if host_network else cri_pb.POD
    return cri_pb.PodSandboxConfig(
        metadata=cri_pb.PodSandboxMetadata(name=name, uid=uid, namespace=NAMESPACE, attempt=0),
        # a host-network sandbox must have none: runc cannot set a hostname without a
        # private UTS namespace
        hostname="" if host_network else POD_HOSTNAME,
        log_directory=str(log_directory / f"{NAMESPACE}_{name}_{uid}"),
        labels={
            **MANAGED,
            "io.kubernetes.pod.name": name,
            "io.kubernetes.pod.namespace": NAMESPACE,
            "io.kubernetes.pod.uid": uid,
        },
        linux=cri_pb.LinuxPodSandboxConfig(
            security_context=cri_pb.LinuxSandboxSecurityContext(
                namespace_options=cri_pb.NamespaceOption(
                    network=network, pid=cri_pb.CONTAINER, ipc=cri_pb.POD
                )
            )
        ),
    )


def container_config(name: str, *, host_network: bool, attempt: int = 0) -> cri_pb.ContainerConfig:
    network = cri_pb.NODE if host_network else cri_pb.POD
    return cri_pb.ContainerConfig(
        metadata=cri_pb.ContainerMetadata(name=name, attempt=attempt),
        image=cri_pb.ImageSpec(image=BUSYBOX),
        command=COMMAND,
        # relative to the sandbox's log_directory, as the kubelet's <container>/<attempt>.log
        log_path=f"{name}/{attempt}.log",
        labels={**MANAGED, "io.kubernetes.container.name": name},
        linux=cri_pb.LinuxContainerConfig(
            security_context=cri_pb.LinuxContainerSecurityContext(
                namespace_options=cri_pb.NamespaceOption(
                    network=network, pid=cri_pb.CONTAINER, ipc=cri_pb.POD
                )
            )
        ),
    )


def verbose_info(response: Any) -> dict[str, Any]:
    """The ``info`` JSON a verbose status carries (pid, runtimeSpec, ...)."""
    info: dict[str, Any] = json.loads(response.info["info"])
    return info


def log_lines(path: Path, *, wanted: int = 1) -> list[re.Match[str]]:
    """The CRI log lines of ``path``, once there are ``wanted`` of them (5 s at most)."""
    deadline = time.monotonic() + 5
    while True:
        text = path.read_text() if path.exists() else ""
        lines = text.splitlines()
        if len(lines) >= wanted or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    matches = [CRI_LOG_LINE.match(line) for line in lines]
    assert all(matches), f"not in the CRI log format: {lines!r}"
    return [match for match in matches if match]


def netns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/net")


def run_pod(
    client: Cri, tmp_path: Path, *, host_network: bool, expected_hostname: str, title: str
) -> None:
    """The whole life of a one-container pod through raw CRI calls, checked step by step."""
    timings = Timings()
    runtime = client.runtime
    config = sandbox_config(
        f"smoke-{'host' if host_network else 'pod'}", tmp_path, host_network=host_network
    )

    sandbox_id = timings.call(
        "RunPodSandbox", runtime.RunPodSandbox, cri_pb.RunPodSandboxRequest(config=config)
    ).pod_sandbox_id
    status = runtime.PodSandboxStatus(
        cri_pb.PodSandboxStatusRequest(pod_sandbox_id=sandbox_id, verbose=True)
    )
    assert status.status.state == cri_pb.SANDBOX_READY
    sandbox_pid = verbose_info(status)["pid"]
    spec = verbose_info(status)["runtimeSpec"]
    if host_network:
        assert status.status.network.ip == ""
        assert status.status.linux.namespaces.options.network == cri_pb.NODE
        assert netns(sandbox_pid) == netns(os.getpid())
        assert "hostname" not in spec
    else:
        # the CNI plugin's report: 127.0.0.1 on the pod's own loopback
        assert status.status.network.ip == "127.0.0.1"
        assert status.status.linux.namespaces.options.network == cri_pb.POD
        assert netns(sandbox_pid) != netns(os.getpid())
        assert spec["hostname"] == POD_HOSTNAME

    create = cri_pb.CreateContainerRequest(
        pod_sandbox_id=sandbox_id,
        config=container_config("main", host_network=host_network),
        # required: containerd 1.6.20 dereferences it unchecked and crashes without it
        sandbox_config=config,
    )
    container_id = timings.call("CreateContainer", runtime.CreateContainer, create).container_id
    timings.call(
        "StartContainer",
        runtime.StartContainer,
        cri_pb.StartContainerRequest(container_id=container_id),
    )
    response = timings.call(
        "ContainerStatus",
        runtime.ContainerStatus,
        cri_pb.ContainerStatusRequest(container_id=container_id, verbose=True),
    )
    assert response.status.state == cri_pb.CONTAINER_RUNNING
    assert response.status.labels["io.fastpod.managed"] == "true"
    assert response.status.image.image == BUSYBOX
    log_path = Path(config.log_directory) / "main" / "0.log"
    assert response.status.log_path == str(log_path)
    container_pid = verbose_info(response)["pid"]
    assert netns(container_pid) == netns(sandbox_pid)

    [line] = log_lines(log_path)
    assert (line["stream"], line["tag"], line["text"]) == ("stdout", "F", expected_hostname)

    if not host_network:
        # its own network namespace holds loopback only, and it is up (IFF_UP)
        interfaces = runtime.ExecSync(
            cri_pb.ExecSyncRequest(
                container_id=container_id,
                cmd=["sh", "-c", "ls /sys/class/net; cat /sys/class/net/lo/flags"],
                timeout=5,
            ),
            timeout=10,
        )
        assert interfaces.exit_code == 0, interfaces.stderr
        names, flags = interfaces.stdout.decode().split()
        assert names == "lo"
        assert int(flags, 16) & 1

        # a new container in the sandbox that is already there
        second = timings.call(
            "CreateContainer (2nd)",
            runtime.CreateContainer,
            cri_pb.CreateContainerRequest(
                pod_sandbox_id=sandbox_id,
                config=container_config("second", host_network=False),
                sandbox_config=config,
            ),
        ).container_id
        timings.call(
            "StartContainer (2nd)",
            runtime.StartContainer,
            cri_pb.StartContainerRequest(container_id=second),
        )
        [line] = log_lines(Path(config.log_directory) / "second" / "0.log")
        assert line["text"] == POD_HOSTNAME

    # timeout 0: SIGKILL at once (sleep as the container's PID 1 would ignore SIGTERM)
    timings.call(
        "StopContainer",
        runtime.StopContainer,
        cri_pb.StopContainerRequest(container_id=container_id, timeout=0),
    )
    stopped = runtime.ContainerStatus(cri_pb.ContainerStatusRequest(container_id=container_id))
    assert stopped.status.state == cri_pb.CONTAINER_EXITED
    assert stopped.status.exit_code == 137
    timings.call(
        "RemoveContainer",
        runtime.RemoveContainer,
        cri_pb.RemoveContainerRequest(container_id=container_id),
    )
    # the log stays: removing the container leaves the kubelet's log files alone
    assert log_path.exists()
    timings.call(
        "StopPodSandbox",
        runtime.StopPodSandbox,
        cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox_id),
    )
    timings.call(
        "RemovePodSandbox",
        runtime.RemovePodSandbox,
        cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id),
    )
    # (only this test's: another test may use the same containerd meanwhile)
    assert sandbox_id not in {sandbox.id for sandbox in managed_sandboxes(client)}
    left = runtime.ListContainers(
        cri_pb.ListContainersRequest(filter=cri_pb.ContainerFilter(pod_sandbox_id=sandbox_id))
    )
    assert list(left.containers) == []
    timings.print(title)


def test_the_private_containerd_is_ready_with_fastpods_settings_and_images(
    clean_containerd: Cri,
) -> None:
    runtime = clean_containerd.runtime
    version = runtime.Version(cri_pb.VersionRequest(), timeout=5)
    assert (version.runtime_name, version.runtime_api_version) == ("containerd", "v1")
    status = runtime.Status(cri_pb.StatusRequest(verbose=True), timeout=5)
    conditions = {condition.type: condition.status for condition in status.status.conditions}
    assert conditions == {"RuntimeReady": True, "NetworkReady": True}
    config = json.loads(status.info["config"])
    assert config["sandboxImage"] == PAUSE
    assert config["restrictOOMScoreAdj"] is True
    assert config["containerd"]["snapshotter"] in ("overlayfs", "native")
    images = clean_containerd.image.ListImages(cri_pb.ListImagesRequest(), timeout=5)
    tags = {tag for image in images.images for tag in image.repo_tags}
    assert {BUSYBOX, PAUSE, "registry.k8s.io/pause:3.10"} <= tags


def test_a_host_network_pod_runs_with_the_hosts_hostname(
    clean_containerd: Cri, tmp_path: Path
) -> None:
    run_pod(
        clean_containerd,
        tmp_path,
        host_network=True,
        expected_hostname=socket.gethostname(),
        title="host network",
    )


def test_a_pod_network_pod_runs_with_its_own_hostname_and_loopback(
    clean_containerd: Cri, tmp_path: Path
) -> None:
    run_pod(
        clean_containerd,
        tmp_path,
        host_network=False,
        expected_hostname=POD_HOSTNAME,
        title="pod network",
    )


def test_host_network_sandbox_with_a_hostname_fails(clean_containerd: Cri, tmp_path: Path) -> None:
    config = sandbox_config("smoke-hostname", tmp_path, host_network=True)
    config.hostname = "not-allowed"
    with pytest.raises(grpc.RpcError) as caught:
        clean_containerd.runtime.RunPodSandbox(
            cri_pb.RunPodSandboxRequest(config=config), timeout=30
        )
    details = caught.value.details() or ""
    assert "unable to set hostname without a private UTS namespace" in details
    uid = config.metadata.uid
    assert uid not in {sandbox.metadata.uid for sandbox in managed_sandboxes(clean_containerd)}


def test_container_events_are_unimplemented_on_containerd_1_6(clean_containerd: Cri) -> None:
    """GetContainerEvents (the evented PLEG's stream) is not there on containerd 1.6."""
    version = clean_containerd.runtime.Version(cri_pb.VersionRequest(), timeout=5)
    stream = clean_containerd.runtime.GetContainerEvents(cri_pb.GetEventsRequest(), timeout=1)
    with pytest.raises(grpc.RpcError) as caught:
        next(stream)
    code = caught.value.code()
    if version.runtime_version.startswith("1.6."):
        assert code == grpc.StatusCode.UNIMPLEMENTED
    else:
        # a stream that opens and has nothing to say within the second
        assert code == grpc.StatusCode.DEADLINE_EXCEEDED


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_grpc_aio_calls_run_a_pod_on_asyncio_and_on_uvloop(
    clean_containerd: Cri, tmp_path: Path, loop: str
) -> None:
    """The same calls through ``grpc.aio``, on asyncio's loop and on uvloop's."""
    config = sandbox_config("smoke-aio", tmp_path, host_network=False)

    async def main() -> tuple[str, list[str]]:
        async with aio_cri() as client:
            runtime = client.runtime
            sandbox = await runtime.RunPodSandbox(cri_pb.RunPodSandboxRequest(config=config))
            created = await runtime.CreateContainer(
                cri_pb.CreateContainerRequest(
                    pod_sandbox_id=sandbox.pod_sandbox_id,
                    config=container_config("main", host_network=False),
                    sandbox_config=config,
                )
            )
            await runtime.StartContainer(
                cri_pb.StartContainerRequest(container_id=created.container_id)
            )
            # concurrent calls on the one channel
            statuses = await asyncio.gather(
                *(
                    runtime.ContainerStatus(
                        cri_pb.ContainerStatusRequest(container_id=created.container_id)
                    )
                    for _ in range(10)
                )
            )
            states = [cri_pb.ContainerState.Name(status.status.state) for status in statuses]
            await runtime.StopContainer(
                cri_pb.StopContainerRequest(container_id=created.container_id, timeout=0)
            )
            await runtime.RemoveContainer(
                cri_pb.RemoveContainerRequest(container_id=created.container_id)
            )
            await runtime.StopPodSandbox(
                cri_pb.StopPodSandboxRequest(pod_sandbox_id=sandbox.pod_sandbox_id)
            )
            await runtime.RemovePodSandbox(
                cri_pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox.pod_sandbox_id)
            )
            return sandbox.pod_sandbox_id, states

    factory = uvloop.new_event_loop if loop == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        sandbox_id, states = runner.run(main())
    assert states == ["CONTAINER_RUNNING"] * 10
    assert sandbox_id not in {sandbox.id for sandbox in managed_sandboxes(clean_containerd)}
