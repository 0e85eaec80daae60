"""What a kubelet leaves on a runtime when it stops: its pods, made here through the
runtime's own API exactly as the kubelet and its runtime make them, so that fastpod's
taking over can be tested without a kubelet.

The kubelet (``pkg/kubelet/kuberuntime``) sends a CRI ``PodSandboxConfig`` and one
``ContainerConfig`` per container:

- the sandbox: metadata (name, namespace, UID, attempt), a hostname for pod-network pods
  only, the log directory ``<pod-logs-dir>/<ns>_<name>_<uid>``, labels ``newPodLabels``
  (the pod's labels and ``io.kubernetes.pod.name/namespace/uid``), annotations
  ``newPodAnnotations`` (the pod's: ``kubernetes.io/config.source``, ``config.hash``,
  ``config.seen``), the namespace options;
- a container: metadata (name, restart count as attempt), the image by ID
  (``Image: imageRef, UserSpecifiedImage: container.Image``), command and arguments,
  environment, mounts (the volumes, then ``<pod dir>/etc-hosts`` at ``/etc/hosts``, then
  the termination message file ``<pod dir>/containers/<name>/<8 hex>``), log path
  ``<name>/<attempt>.log``, labels ``newContainerLabels`` (the pod's identity and the
  container's name), annotations ``newContainerAnnotations`` (hash, restart count,
  termination message path and policy, grace period, type), the security context with the
  namespace options.

containerd takes those as they are (:func:`leave_on_containerd`). cri-dockerd turns them
into Docker containers (:func:`leave_on_docker`, its v0.3 bind mounts): names
``k8s_POD_<pod>_<ns>_<uid>_<attempt>`` and ``k8s_<container>_<pod>_<ns>_<uid>_<attempt>``
(``core/naming.go``); labels = the CRI labels, each annotation as ``annotation.<key>``
(``core/helpers.go`` ``makeLabels``), ``io.kubernetes.docker.type`` ``podsandbox`` or
``container``, on a sandbox ``io.kubernetes.container.name=POD``
(``core/sandbox_helpers.go``), on a container ``io.kubernetes.sandbox.id`` and
``io.kubernetes.container.logpath`` (``core/container_create.go``); the container joins
the sandbox's network and IPC namespaces; its log is linked from the kubelet's log path
(``createContainerLogSymlink``).
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cri_api.v1 import api_pb2 as cri

from fastpod.model import Container
from fastpod.runtime.spec import container_hash
from tests.support import containerd_engine
from tests.support.docker_engine import BUSYBOX, docker
from tests.support.engines import Engine, manifest

NAMESPACE = "takeover"
"""The namespace of every pod made here: what :func:`remove_left` removes."""

PAUSE = containerd_engine.PAUSE


@dataclass(frozen=True)
class KubeletContainer:
    """One container of a kubelet's pod."""

    name: str
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    volumes: list[tuple[str, str, bool]] = field(default_factory=list)
    """(host path, container path, read-only) of each volume mounted."""
    privileged: bool = False
    image: str = BUSYBOX


@dataclass(frozen=True)
class KubeletPod:
    """A pod as the kubelet ran it: ``name`` is the pod's (``<manifest name>-<node>``)."""

    name: str
    containers: list[KubeletContainer]
    uid: str = field(default_factory=lambda: secrets.token_hex(16))
    source: str = "file"
    host_network: bool = True
    grace: int = 2
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> dict[str, str]:
        return {
            "io.kubernetes.pod.name": self.name,
            "io.kubernetes.pod.namespace": NAMESPACE,
            "io.kubernetes.pod.uid": self.uid,
        }

    @property
    def annotations(self) -> dict[str, str]:
        return {
            "kubernetes.io/config.source": self.source,
            "kubernetes.io/config.hash": self.uid,
            "kubernetes.io/config.seen": "2026-12-01T08:00:00.000000000Z",
        }


def static_manifest(
    name: str,
    command: str = "sleep 3600",
    *,
    env: dict[str, str] | None = None,
    data: tuple[Path, bool] | None = None,
) -> bytes:
    """The manifest of a static pod the kubelet runs as ``<name>-node1``, in
    :data:`NAMESPACE` on the host's network: one busybox container ``main`` running ``sh -c
    COMMAND`` with ``env``, and ``data``'s host path mounted at ``/data`` (read-only when
    its flag says so)."""
    extra = ""
    if env:
        extra += "    env:\n" + "".join(
            f"    - name: {key}\n      value: {value}\n" for key, value in env.items()
        )
    if data is not None:
        path, read_only = data
        extra += f"""\
    volumeMounts:
    - name: data
      mountPath: /data
      readOnly: {str(read_only).lower()}
  volumes:
  - name: data
    hostPath:
      path: {path}
"""
    return manifest(name, command=command, host_network=True, namespace=NAMESPACE, extra=extra)


@dataclass(frozen=True)
class Left:
    """What a kubelet's pod is on the runtime."""

    sandbox_id: str
    container_ids: dict[str, str]
    """By container name."""


def container_labels(pod: KubeletPod, container: KubeletContainer) -> dict[str, str]:
    """``newContainerLabels``."""
    return {**pod.identity, "io.kubernetes.container.name": container.name}


def container_annotations(pod: KubeletPod, container: KubeletContainer) -> dict[str, str]:
    """``newContainerAnnotations`` of a first instance."""
    return {
        "io.kubernetes.container.hash": container_hash(
            Container(name=container.name, image=container.image)
        ),
        "io.kubernetes.container.restartCount": "0",
        "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
        "io.kubernetes.container.terminationMessagePolicy": "File",
        "io.kubernetes.pod.terminationGracePeriod": str(pod.grace),
        "io.kubernetes.container.type": "container",
    }


def node_files(
    pod: KubeletPod, container: KubeletContainer, root_dir: Path
) -> list[tuple[str, str]]:
    """The kubelet's files for a container, made as it makes them: ``etc-hosts`` (the
    node's under hostNetwork) and an empty termination message file; (host, container)."""
    pod_dir = root_dir / "pods" / pod.uid
    hosts = pod_dir / "etc-hosts"
    if not hosts.exists():
        pod_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile("/etc/hosts", hosts)
    message = pod_dir / "containers" / container.name / secrets.token_hex(4)
    message.parent.mkdir(parents=True, exist_ok=True)
    message.touch(mode=0o666)
    return [(str(hosts), "/etc/hosts"), (str(message), "/dev/termination-log")]


def log_directory(pod: KubeletPod, pod_logs_dir: Path) -> Path:
    return pod_logs_dir / f"{NAMESPACE}_{pod.name}_{pod.uid}"


def leave(engine: Engine, pod: KubeletPod, root_dir: Path, pod_logs_dir: Path) -> Left:
    """Run ``pod`` on ``engine`` as the kubelet would have, with the same root and log
    directories as the fastpod under test."""
    if engine.runtime == "docker":
        return leave_on_docker(pod, root_dir, pod_logs_dir)
    return leave_on_containerd(pod, root_dir, pod_logs_dir)


def leave_on_containerd(pod: KubeletPod, root_dir: Path, pod_logs_dir: Path) -> Left:
    """``RunPodSandbox``, then ``CreateContainer`` and ``StartContainer`` per container."""
    namespaces = cri.NamespaceOption(
        network=cri.NamespaceMode.NODE if pod.host_network else cri.NamespaceMode.POD,
        pid=cri.NamespaceMode.CONTAINER,
        ipc=cri.NamespaceMode.POD,
    )
    sandbox = cri.PodSandboxConfig(
        metadata=cri.PodSandboxMetadata(name=pod.name, uid=pod.uid, namespace=NAMESPACE),
        log_directory=str(log_directory(pod, pod_logs_dir)),
        labels={**pod.labels, **pod.identity},
        annotations=pod.annotations,
        linux=cri.LinuxPodSandboxConfig(
            security_context=cri.LinuxSandboxSecurityContext(namespace_options=namespaces)
        ),
    )
    if not pod.host_network:
        sandbox.hostname = pod.name
    with containerd_engine.cri() as client:
        timeout = containerd_engine.TIMEOUT
        sandbox_id = client.runtime.RunPodSandbox(
            cri.RunPodSandboxRequest(config=sandbox), timeout=timeout
        ).pod_sandbox_id
        ids = {}
        for container in pod.containers:
            image = client.image.ImageStatus(
                cri.ImageStatusRequest(image=cri.ImageSpec(image=container.image)),
                timeout=timeout,
            ).image
            (log_directory(pod, pod_logs_dir) / container.name).mkdir(parents=True, exist_ok=True)
            mounts = [
                cri.Mount(host_path=host, container_path=path, readonly=read_only)
                for host, path, read_only in container.volumes
            ] + [
                cri.Mount(host_path=host, container_path=path)
                for host, path in node_files(pod, container, root_dir)
            ]
            config = cri.ContainerConfig(
                metadata=cri.ContainerMetadata(name=container.name),
                image=cri.ImageSpec(image=image.id, user_specified_image=container.image),
                command=container.command or [],
                args=container.args or [],
                envs=[cri.KeyValue(key=k, value=v) for k, v in container.env.items()],
                mounts=mounts,
                labels=container_labels(pod, container),
                annotations=container_annotations(pod, container),
                log_path=f"{container.name}/0.log",
                linux=cri.LinuxContainerConfig(
                    resources=cri.LinuxContainerResources(
                        cpu_shares=2, cpu_period=100_000, oom_score_adj=1000
                    ),
                    security_context=cri.LinuxContainerSecurityContext(
                        privileged=container.privileged,
                        namespace_options=namespaces,
                        seccomp=cri.SecurityProfile(
                            profile_type=cri.SecurityProfile.ProfileType.Unconfined
                        ),
                    ),
                ),
            )
            container_id = client.runtime.CreateContainer(
                cri.CreateContainerRequest(
                    pod_sandbox_id=sandbox_id, config=config, sandbox_config=sandbox
                ),
                timeout=timeout,
            ).container_id
            client.runtime.StartContainer(
                cri.StartContainerRequest(container_id=container_id), timeout=timeout
            )
            ids[container.name] = container_id
    return Left(sandbox_id, ids)


def leave_on_docker(pod: KubeletPod, root_dir: Path, pod_logs_dir: Path) -> Left:
    """The Docker containers cri-dockerd makes of the kubelet's CRI calls."""
    host = "host" if pod.host_network else ""
    sandbox_labels = {
        **pod.labels,
        **pod.identity,
        **{f"annotation.{key}": value for key, value in pod.annotations.items()},
        "io.kubernetes.docker.type": "podsandbox",
        "io.kubernetes.container.name": "POD",
    }
    sandbox_body: dict[str, Any] = {
        "Image": PAUSE,
        "Labels": sandbox_labels,
        "HostConfig": {
            "IpcMode": "shareable",
            "NetworkMode": host or "none",
            # cri-dockerd also sets OomScoreAdj -998, which this test machine may not lower
            "CpuShares": 2,
            "SecurityOpt": ["seccomp=unconfined"],
        },
    }
    if not pod.host_network:
        sandbox_body["Hostname"] = pod.name
    sandbox_id = _create(f"k8s_POD_{pod.name}_{NAMESPACE}_{pod.uid}_0", sandbox_body)
    _start(sandbox_id)
    ids = {}
    for container in pod.containers:
        image_id = docker("image", "inspect", "--format", "{{.Id}}", container.image).strip()
        log_path = log_directory(pod, pod_logs_dir) / container.name / "0.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        binds = [
            f"{host_path}:{path}{':ro' if read_only else ''}"
            for host_path, path, read_only in container.volumes
        ] + [f"{host_path}:{path}" for host_path, path in node_files(pod, container, root_dir)]
        labels = {
            **container_labels(pod, container),
            **{
                f"annotation.{key}": value
                for key, value in container_annotations(pod, container).items()
            },
            "io.kubernetes.docker.type": "container",
            "io.kubernetes.container.logpath": str(log_path),
            "io.kubernetes.sandbox.id": sandbox_id,
        }
        shared = f"container:{sandbox_id}"
        body: dict[str, Any] = {
            "Entrypoint": container.command,
            "Cmd": container.args,
            "Env": [f"{key}={value}" for key, value in container.env.items()],
            "Image": image_id,
            "Labels": labels,
            "Healthcheck": {"Test": ["NONE"]},
            "HostConfig": {
                "Binds": binds,
                "RestartPolicy": {"Name": "no"},
                "NetworkMode": shared,
                "IpcMode": shared,
                "UTSMode": host,
                "Privileged": container.privileged,
                "OomScoreAdj": 1000,
                "CpuShares": 2,
                "SecurityOpt": ["seccomp=unconfined"],
            },
        }
        name = f"k8s_{container.name}_{pod.name}_{NAMESPACE}_{pod.uid}_0"
        container_id = _create(name, body)
        _start(container_id)
        real = json.loads(docker("inspect", "--format", "{{json .LogPath}}", container_id))
        os.symlink(real, log_path)
        ids[container.name] = container_id
    return Left(sandbox_id, ids)


def remove_left(engine: Engine) -> None:
    """Remove every sandbox and container of :data:`NAMESPACE`, whoever made it."""
    selector = {"io.kubernetes.pod.namespace": NAMESPACE}
    if engine.runtime == "docker":
        for _ in range(50):
            ids = docker(
                "ps", "-aq", "--filter", f"label=io.kubernetes.pod.namespace={NAMESPACE}"
            ).split()
            if not ids:
                return
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
            time.sleep(0.1)
        raise AssertionError("pods of the kubelet remain that cannot be removed")
    with containerd_engine.cri() as client:
        timeout = containerd_engine.TIMEOUT
        listed = client.runtime.ListPodSandbox(
            cri.ListPodSandboxRequest(filter=cri.PodSandboxFilter(label_selector=selector)),
            timeout=timeout,
        )
        for item in listed.items:
            client.runtime.StopPodSandbox(
                cri.StopPodSandboxRequest(pod_sandbox_id=item.id), timeout=timeout
            )
            client.runtime.RemovePodSandbox(
                cri.RemovePodSandboxRequest(pod_sandbox_id=item.id), timeout=timeout
            )


def _create(name: str, body: dict[str, Any]) -> str:
    status, reply = _engine_api("POST", f"/containers/create?name={name}", body)
    assert status == 201, f"creating {name}: {status} {reply}"
    return str(reply["Id"])


def _start(container_id: str) -> None:
    status, reply = _engine_api("POST", f"/containers/{container_id}/start")
    assert status == 204, f"starting {container_id}: {status} {reply}"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("docker")
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.socket_path)


def _engine_api(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One call of the Docker Engine API, as cri-dockerd makes it (not the docker CLI,
    which cannot say everything cri-dockerd says)."""
    connection = _UnixConnection("/var/run/docker.sock")
    try:
        payload = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        connection.request(method, path, body=payload, headers=headers)
        reply = connection.getresponse()
        data = reply.read()
        return reply.status, json.loads(data) if data else None
    finally:
        connection.close()


@dataclass(frozen=True)
class Seen:
    """A container or sandbox of the test kubelet's namespace, whoever made it."""

    id: str
    sandbox: bool
    running: bool
    started_at: int
    """When it started, in nanoseconds (the runtime's own record)."""
    uid: str
    fastpods: bool
    """Made by fastpod (its label), not by the kubelet."""


def seen(engine: Engine, pod_name: str | None = None) -> list[Seen]:
    """Every sandbox and container of :data:`NAMESPACE` (of the pod ``pod_name``), read
    from the runtime itself."""
    if engine.runtime == "docker":
        filters = ["--filter", f"label=io.kubernetes.pod.namespace={NAMESPACE}"]
        if pod_name is not None:
            filters += ["--filter", f"label=io.kubernetes.pod.name={pod_name}"]
        ids = docker("ps", "-aq", "--no-trunc", *filters).split()
        if not ids:
            return []
        result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
        found = []
        for item in json.loads(result.stdout or "[]"):
            labels = item["Config"]["Labels"] or {}
            found.append(
                Seen(
                    id=item["Id"],
                    sandbox=labels.get("io.kubernetes.docker.type") == "podsandbox",
                    running=bool(item["State"]["Running"]),
                    started_at=_nanoseconds(item["State"]["StartedAt"]),
                    uid=labels.get("io.kubernetes.pod.uid", ""),
                    fastpods="io.fastpod.managed" in labels,
                )
            )
        return found
    selector = {"io.kubernetes.pod.namespace": NAMESPACE}
    if pod_name is not None:
        selector["io.kubernetes.pod.name"] = pod_name
    found = []
    with containerd_engine.cri() as client:
        timeout = containerd_engine.TIMEOUT
        sandboxes = client.runtime.ListPodSandbox(
            cri.ListPodSandboxRequest(filter=cri.PodSandboxFilter(label_selector=selector)),
            timeout=timeout,
        )
        for item in sandboxes.items:
            found.append(
                Seen(
                    id=item.id,
                    sandbox=True,
                    running=item.state == cri.SANDBOX_READY,
                    started_at=item.created_at,
                    uid=item.labels.get("io.kubernetes.pod.uid", ""),
                    fastpods="io.fastpod.managed" in item.labels,
                )
            )
        containers = client.runtime.ListContainers(
            cri.ListContainersRequest(filter=cri.ContainerFilter(label_selector=selector)),
            timeout=timeout,
        )
        for container in containers.containers:
            try:
                status = client.runtime.ContainerStatus(
                    cri.ContainerStatusRequest(container_id=container.id), timeout=timeout
                ).status
            except grpc.RpcError as error:
                # removed between the listing and this question: it is not there to be seen
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    continue
                raise
            found.append(
                Seen(
                    id=container.id,
                    sandbox=False,
                    running=status.state == cri.CONTAINER_RUNNING,
                    started_at=status.started_at,
                    uid=container.labels.get("io.kubernetes.pod.uid", ""),
                    fastpods="io.fastpod.managed" in container.labels,
                )
            )
    return found


def _nanoseconds(stamp: str) -> int:
    """Docker's RFC 3339 time with nanoseconds as nanoseconds since the epoch."""
    head, _, rest = stamp.partition(".")
    fraction = rest.rstrip("Z")
    seconds = datetime.datetime.fromisoformat(f"{head}+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int(fraction.ljust(9, "0")[:9] or 0)
