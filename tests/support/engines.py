"""What runs on a real container runtime, read the same way whichever runtime runs it.

The runtime behaviour tests (``test_runtime_behaviour.py``) run ``fastpod run`` on Docker and
on containerd (the CRI runtime) and check what runs through an :class:`Engine`: Docker read
with the docker CLI (``tests/support/docker_engine.py``), containerd with raw CRI calls
(``tests/support/containerd_engine.py``), never through fastpod's own runtime code.

Containers and sandboxes are seen as :class:`ContainerView` and :class:`SandboxView`; a view's
``labels`` are the kubelet's labels and annotations in one dict (Docker keeps both as
labels; the CRI runtime puts the annotations, ``io.kubernetes.container.hash``,
``.restartCount``, ..., into CRI annotations). A sandbox's hostname and network are read from
its process (its UTS and network namespaces), as a container's are.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import grpc
from cri_api.v1 import api_pb2 as cri_pb

from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod
from fastpod.runtime.base import Runtime
from fastpod.runtime.cri.runtime import CriRuntime
from fastpod.runtime.docker.runtime import DockerRuntime
from fastpod.runtime.spec import PodContext, container_spec
from tests.support import FILE, containerd_engine, docker_engine
from tests.support.pods import NODE
from tests.support.running import RunningFastpod

State = Literal["created", "running", "exited"]

POD_NAME = "io.kubernetes.pod.name"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
RESTART_COUNT = "io.kubernetes.container.restartCount"
DOCKER_TYPE = "io.kubernetes.docker.type"

BUSYBOX = docker_engine.BUSYBOX
"""Imported into both engines (scripts/build-images, scripts/containerd-up)."""

_CRI_STATES: dict[int, State] = {
    cri_pb.CONTAINER_CREATED: "created",
    cri_pb.CONTAINER_RUNNING: "running",
}

DOCKER_BUNDLES = Path("/run/docker/containerd/daemon/io.containerd.runtime.v2.task/moby")
"""Where the containerd Docker runs keeps each container's OCI bundle."""

CRI_LOG_LINE = re.compile(rb"^\S+ (stdout|stderr) ([FP])(?::\S*)? ?(.*)$")


def _namespace(pid: int, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def _hostname(pid: int) -> str:
    """The hostname process ``pid`` sees (in its UTS namespace)."""
    result = subprocess.run(
        ["nsenter", "--uts", "--target", str(pid), "hostname"],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip()


@dataclass(frozen=True)
class ContainerView:
    """One container as the engine shows it."""

    id: str
    labels: dict[str, str]
    """The kubelet's labels and annotations, merged."""
    state: State
    exit_code: int | None
    """When exited."""
    pid: int
    """The host's pid of its process; 0 unless it runs."""
    command: list[str]
    """The process's command line (entrypoint and arguments)."""
    mounts: frozenset[str] = field(default_factory=frozenset)
    """The paths in the container where volumes are mounted."""
    image_ref: str = ""
    """The image it runs as the runtime names it: Docker's image ID, the CRI's imageRef."""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def name(self) -> str:
        return self.labels.get(CONTAINER_NAME, "")

    @property
    def pod_name(self) -> str:
        return self.labels.get(POD_NAME, "")

    @property
    def pod_uid(self) -> str:
        return self.labels.get(POD_UID, "")

    @property
    def restart_count(self) -> str:
        """The ``io.kubernetes.container.restartCount`` label, as written."""
        return self.labels.get(RESTART_COUNT, "")

    @property
    def hostname(self) -> str:
        """The hostname its process sees."""
        return _hostname(self.pid)

    def namespace(self, kind: str) -> str:
        """``/proc/<pid>/ns/<kind>`` of its process (``net``, ``ipc``, ...)."""
        return _namespace(self.pid, kind)


@dataclass(frozen=True)
class SandboxView:
    """One pod sandbox as the engine shows it."""

    id: str
    labels: dict[str, str]
    ready: bool
    """Running (Docker), ``SANDBOX_READY`` (CRI)."""
    pid: int
    """The host's pid of its process (the pause process); 0 unless it is ready."""
    ips: tuple[str, ...] = ()
    """Its addresses as the runtime reports them: Docker's ``NetworkSettings``, the CRI
    status's ``network.ip`` then ``additional_ips``."""

    @property
    def pod_uid(self) -> str:
        return self.labels.get(POD_UID, "")

    @property
    def hostname(self) -> str:
        """The hostname the sandbox's process sees."""
        return _hostname(self.pid)

    @property
    def host_network(self) -> bool:
        """Whether the sandbox is in the host's network namespace."""
        return _namespace(self.pid, "net") == _namespace(os.getpid(), "net")

    def namespace(self, kind: str) -> str:
        return _namespace(self.pid, kind)


def _docker_ips(settings: dict[str, Any]) -> tuple[str, ...]:
    """Every address ``docker inspect`` shows in a container's ``NetworkSettings``."""
    found: list[str] = []
    for network in (settings, *(settings.get("Networks") or {}).values()):
        for key in ("IPAddress", "GlobalIPv6Address"):
            if network.get(key) and network[key] not in found:
                found.append(network[key])
    return tuple(found)


class Engine(ABC):
    """A container runtime fastpod runs pods on, as the tests look at it."""

    runtime: str
    """What ``fastpod run --runtime`` takes."""

    scheme: str
    """The kubelet's name of the runtime: its container IDs are ``<scheme>://<id>``."""

    @property
    @abstractmethod
    def arguments(self) -> list[str]:
        """fastpod's command-line arguments selecting this runtime, beyond ``--runtime``."""

    @abstractmethod
    def adapter(self, pod_logs_dir: str) -> Runtime:
        """fastpod's own client of this runtime, as a worker makes it (the CRI runtime
        writes its pods' logs under ``pod_logs_dir``)."""

    @abstractmethod
    def containers(
        self, pod: str | None = None, container: str | None = None, *, running_only: bool = False
    ) -> list[ContainerView]:
        """fastpod's containers (not the sandboxes), of the pod called ``pod`` in its manifest
        (on the test node: ``<pod>-node1``) and the container called ``container``."""

    @abstractmethod
    def sandboxes(
        self, pod: str | None = None, *, uid: str | None = None, ready_only: bool = False
    ) -> list[SandboxView]:
        """fastpod's pod sandboxes, of the pod called ``pod`` in its manifest, or of ``uid``."""

    @abstractmethod
    def runtime_spec(self, container: ContainerView) -> dict[str, Any]:
        """The OCI runtime spec the runtime ran the container with (its seccomp filter,
        cgroup settings, user, ...): the bundle's ``config.json`` of Docker's containerd,
        the CRI's verbose status for containerd."""

    @abstractmethod
    def kill(self, container: ContainerView) -> None:
        """SIGKILL the container's process from the host, as the OOM killer would."""

    @abstractmethod
    def output(self, container: ContainerView) -> str:
        """What the container wrote to its standard output, as the runtime logged it."""

    @abstractmethod
    def exec(self, container: ContainerView, *command: str) -> str:
        """What ``command`` run in the running container writes to its standard output
        (through the runtime: ``docker exec``, the CRI's ``ExecSync``); it must succeed."""

    @abstractmethod
    def remove_all(self) -> None:
        """Remove every container and sandbox fastpod manages."""

    @abstractmethod
    def tag_image(self, image: str, name: str) -> None:
        """Give the image ``image`` a second name."""

    @abstractmethod
    def untag_image(self, name: str) -> None:
        """Take a name from its image (the image stays under its other names)."""

    def everything(self) -> set[str]:
        """The ids of every container and sandbox fastpod manages, whatever their state."""
        return {c.id for c in self.containers()} | {s.id for s in self.sandboxes()}

    @abstractmethod
    def close(self) -> None:
        """Release connections."""


class DockerEngine(Engine):
    """Docker, read with ``docker inspect``."""

    runtime = "docker"
    scheme = "docker"

    @property
    def arguments(self) -> list[str]:
        return []

    def adapter(self, pod_logs_dir: str) -> Runtime:
        return DockerRuntime(containerd_engine.PAUSE)

    def _inspect(self, *filters: str, running_only: bool) -> list[dict[str, Any]]:
        return docker_engine.managed(*filters, all_states=not running_only)

    def containers(
        self, pod: str | None = None, container: str | None = None, *, running_only: bool = False
    ) -> list[ContainerView]:
        filters = [f"label={DOCKER_TYPE}=container"]
        if pod is not None:
            filters.append(f"label={POD_NAME}={pod}-{NODE}")
        if container is not None:
            filters.append(f"label={CONTAINER_NAME}={container}")
        views = []
        for item in self._inspect(*filters, running_only=running_only):
            state = item["State"]
            status: State = (
                "running"
                if state["Running"]
                else "created"
                if state["Status"] == "created"
                else "exited"
            )
            if running_only and status != "running":
                continue  # it ended between the listing and the inspection
            views.append(
                ContainerView(
                    id=item["Id"],
                    labels=dict(item["Config"]["Labels"]),
                    state=status,
                    exit_code=state["ExitCode"] if status == "exited" else None,
                    pid=int(state["Pid"]),
                    command=[item["Path"], *item["Args"]],
                    mounts=frozenset(
                        bind.split(":")[1] for bind in item["HostConfig"]["Binds"] or []
                    ),
                    image_ref=item["Image"],
                )
            )
        return views

    def sandboxes(
        self, pod: str | None = None, *, uid: str | None = None, ready_only: bool = False
    ) -> list[SandboxView]:
        filters = [f"label={DOCKER_TYPE}=podsandbox"]
        if pod is not None:
            filters.append(f"label={POD_NAME}={pod}-{NODE}")
        if uid is not None:
            filters.append(f"label={POD_UID}={uid}")
        views = [
            SandboxView(
                id=item["Id"],
                labels=dict(item["Config"]["Labels"]),
                ready=bool(item["State"]["Running"]),
                pid=int(item["State"]["Pid"]),
                ips=_docker_ips(item["NetworkSettings"]),
            )
            for item in self._inspect(*filters, running_only=ready_only)
        ]
        return [view for view in views if view.ready or not ready_only]

    def runtime_spec(self, container: ContainerView) -> dict[str, Any]:
        spec: dict[str, Any] = json.loads(
            (DOCKER_BUNDLES / container.id / "config.json").read_text()
        )
        return spec

    def kill(self, container: ContainerView) -> None:
        docker_engine.docker("kill", container.id)

    def output(self, container: ContainerView) -> str:
        return docker_engine.docker("logs", container.id)

    def exec(self, container: ContainerView, *command: str) -> str:
        return docker_engine.docker("exec", container.id, *command)

    def remove_all(self) -> None:
        docker_engine.remove_all()

    def tag_image(self, image: str, name: str) -> None:
        docker_engine.docker("tag", image, name)

    def untag_image(self, name: str) -> None:
        docker_engine.docker("rmi", name)

    def close(self) -> None:
        pass  # every read is a docker CLI run of its own


class CriEngine(Engine):
    """containerd (fastpod's private one), read with raw CRI v1 calls."""

    runtime = "cri"
    scheme = "containerd"

    def __init__(self) -> None:
        self.client = containerd_engine.cri()

    @property
    def arguments(self) -> list[str]:
        return ["--container-runtime-endpoint", containerd_engine.TARGET]

    def adapter(self, pod_logs_dir: str) -> Runtime:
        return CriRuntime(containerd_engine.TARGET, pod_logs_dir, relist_period=1.0)

    def check(self) -> None:
        """Fail the test at once when the private containerd does not answer."""
        try:
            self.client.runtime.Version(cri_pb.VersionRequest(), timeout=5)
        except grpc.RpcError as error:
            raise AssertionError(
                f"no containerd answers on {containerd_engine.CONTAINERD_SOCKET} "
                f"(run scripts/containerd-up): {error}"
            ) from None

    def _selector(self, pod: str | None, **labels: str | None) -> dict[str, str]:
        selector = dict(containerd_engine.MANAGED)
        if pod is not None:
            selector[POD_NAME] = f"{pod}-{NODE}"
        selector.update({key: value for key, value in labels.items() if value is not None})
        return selector

    def containers(
        self, pod: str | None = None, container: str | None = None, *, running_only: bool = False
    ) -> list[ContainerView]:
        selector = self._selector(pod, **{CONTAINER_NAME: container})
        request = cri_pb.ListContainersRequest(
            filter=cri_pb.ContainerFilter(
                label_selector=selector,
                state=(
                    cri_pb.ContainerStateValue(state=cri_pb.CONTAINER_RUNNING)
                    if running_only
                    else None
                ),
            )
        )
        reply = self.client.runtime.ListContainers(request, timeout=containerd_engine.TIMEOUT)
        views = []
        for item in reply.containers:
            try:
                response = self.client.runtime.ContainerStatus(
                    cri_pb.ContainerStatusRequest(container_id=item.id, verbose=True),
                    timeout=containerd_engine.TIMEOUT,
                )
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    continue  # removed between the listing and the status
                raise
            status = response.status
            state = _CRI_STATES.get(status.state, "exited")
            if running_only and state != "running":
                continue
            info = json.loads(response.info.get("info", "{}"))
            views.append(
                ContainerView(
                    id=status.id,
                    labels={**status.annotations, **status.labels},
                    state=state,
                    exit_code=status.exit_code if state == "exited" else None,
                    pid=int(info.get("pid", 0)) if state == "running" else 0,
                    command=list(info.get("runtimeSpec", {}).get("process", {}).get("args", [])),
                    mounts=frozenset(mount.container_path for mount in status.mounts),
                    image_ref=status.image_ref,
                )
            )
        return views

    def sandboxes(
        self, pod: str | None = None, *, uid: str | None = None, ready_only: bool = False
    ) -> list[SandboxView]:
        request = cri_pb.ListPodSandboxRequest(
            filter=cri_pb.PodSandboxFilter(
                label_selector=self._selector(pod, **{POD_UID: uid}),
                state=(
                    cri_pb.PodSandboxStateValue(state=cri_pb.SANDBOX_READY) if ready_only else None
                ),
            )
        )
        reply = self.client.runtime.ListPodSandbox(request, timeout=containerd_engine.TIMEOUT)
        views = []
        for item in reply.items:
            try:
                response = self.client.runtime.PodSandboxStatus(
                    cri_pb.PodSandboxStatusRequest(pod_sandbox_id=item.id, verbose=True),
                    timeout=containerd_engine.TIMEOUT,
                )
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            ready = response.status.state == cri_pb.SANDBOX_READY
            if ready_only and not ready:
                continue
            info = json.loads(response.info.get("info", "{}"))
            views.append(
                SandboxView(
                    id=item.id,
                    labels={**response.status.annotations, **response.status.labels},
                    ready=ready,
                    pid=int(info.get("pid", 0)) if ready else 0,
                    ips=tuple(
                        ip
                        for ip in (
                            response.status.network.ip,
                            *(extra.ip for extra in response.status.network.additional_ips),
                        )
                        if ip
                    ),
                )
            )
        return views

    def runtime_spec(self, container: ContainerView) -> dict[str, Any]:
        response = self.client.runtime.ContainerStatus(
            cri_pb.ContainerStatusRequest(container_id=container.id, verbose=True),
            timeout=containerd_engine.TIMEOUT,
        )
        spec: dict[str, Any] = json.loads(response.info["info"])["runtimeSpec"]
        return spec

    def runtime_config(self, container: ContainerView) -> dict[str, Any]:
        """The CRI ``ContainerConfig`` containerd keeps for the container (its verbose
        status), as JSON."""
        response = self.client.runtime.ContainerStatus(
            cri_pb.ContainerStatusRequest(container_id=container.id, verbose=True),
            timeout=containerd_engine.TIMEOUT,
        )
        config: dict[str, Any] = json.loads(response.info["info"])["config"]
        return config

    def kill(self, container: ContainerView) -> None:
        assert container.pid > 0, f"container {container.id} does not run"
        os.kill(container.pid, signal.SIGKILL)

    def output(self, container: ContainerView) -> str:
        response = self.client.runtime.ContainerStatus(
            cri_pb.ContainerStatusRequest(container_id=container.id),
            timeout=containerd_engine.TIMEOUT,
        )
        text = b""
        for line in Path(response.status.log_path).read_bytes().splitlines():
            match = CRI_LOG_LINE.match(line)
            assert match, f"not a CRI log line: {line!r}"
            stream, tag, content = match.groups()
            if stream == b"stdout":
                text += content + (b"\n" if tag == b"F" else b"")
        return text.decode()

    def exec(self, container: ContainerView, *command: str) -> str:
        request = cri_pb.ExecSyncRequest(container_id=container.id, cmd=list(command), timeout=10)
        reply = self.client.runtime.ExecSync(request, timeout=containerd_engine.TIMEOUT)
        assert reply.exit_code == 0, f"{command} exited {reply.exit_code}: {reply.stderr!r}"
        return bytes(reply.stdout).decode()

    def remove_all(self) -> None:
        containerd_engine.remove_all(self.client)

    def tag_image(self, image: str, name: str) -> None:
        self._ctr("tag", "--force", image, name)

    def untag_image(self, name: str) -> None:
        self._ctr("rm", name)

    def _ctr(self, *arguments: str) -> None:
        """``ctr images ...`` in the namespace the CRI plugin keeps its images in."""
        socket = containerd_engine.CONTAINERD_SOCKET
        command = ["ctr", "-a", socket, "-n", "k8s.io", "images", *arguments]
        subprocess.run(command, check=True, capture_output=True)

    def close(self) -> None:
        self.client.close()


def open_engine(name: str) -> Engine:
    """The engine called ``name`` (``docker`` or ``cri``), checked to answer."""
    if name == "docker":
        return DockerEngine()
    if name == "cri":
        engine = CriEngine()
        try:
            engine.check()
        except AssertionError:
            engine.close()
            raise
        return engine
    raise ValueError(f"no engine called {name!r}")


def manifest(
    name: str,
    *,
    command: str = "sleep 3600",
    restart_policy: str = "Always",
    host_network: bool = False,
    namespace: str | None = None,
    extra: str = "",
) -> bytes:
    """A static pod ``name`` labelled ``app: <name>`` (in ``namespace``, else the default
    one): one busybox container ``main`` running ``sh -c COMMAND``; ``extra`` is appended to
    its YAML (more of ``main``, or pod fields)."""
    namespace_line = f"  namespace: {namespace}\n" if namespace is not None else ""
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
{namespace_line}  labels:
    app: {name}
spec:
  hostNetwork: {str(host_network).lower()}
  restartPolicy: {restart_policy}
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "{command}"]
{extra}""".encode()


def start(
    engine: Engine,
    manifests: Path,
    tmp_path: Path,
    *arguments: str,
    resync_period: str = "2",
    api_port: int | None = 0,
) -> RunningFastpod:
    """``fastpod run`` on ``engine`` for the manifests in ``manifests``, its root and pod
    logs under ``tmp_path`` (``root``, ``logs/pods``)."""
    return RunningFastpod(
        [
            *engine.arguments,
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--pod-logs-dir",
            str(tmp_path / "logs" / "pods"),
            "--resync-period",
            resync_period,
            *arguments,
        ],
        runtime=engine.runtime,
        api_port=api_port,
    )


def wait_until(condition: Callable[[], object], timeout: float = 20.0) -> None:
    """Wait until ``condition()`` is true; fail once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


async def start_pod(runtime: Runtime, tmp_path: Path, name: str) -> tuple[Pod, str, str]:
    """Run the busybox pod ``name`` (``sleep 3600``) through the adapter ``runtime``, its
    volumes under ``tmp_path``: the pod, its sandbox's id and its container's."""
    pod = decode_pod(manifest(name), FILE, NODE).pod
    assert pod.spec.containers is not None
    context = PodContext("127.0.0.1", "127.0.0.1", str(tmp_path / "volumes"))
    spec = container_spec(pod, pod.spec.containers[0], 0, "regular", context)
    sandbox_id = await runtime.run_pod_sandbox(pod, 0)
    container_id = await runtime.create_container(sandbox_id, pod, spec)
    await runtime.start_container(container_id)
    return pod, sandbox_id, container_id
