"""The Docker Engine as fastpod's runtime: the Engine API over its Unix socket.

A pod is a sandbox container (the pause image) holding the pod's namespaces, as dockershim
made it: network (the host's under hostNetwork, else a namespace with loopback only), IPC
and UTS, shared with every container of the pod, and PID when the pod shares it. Calls go
through aiohttp on the event loop (never blocking it) and responses are decoded with
msgspec; deaths come from the Engine's event stream, which is followed again by itself
after the daemon restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from fastpod.model import Pod
from fastpod.runtime import docker_created
from fastpod.runtime.base import (
    MAX_EXEC_OUTPUT,
    ContainerInfo,
    ContainerState,
    ExecResult,
    ExecTimeout,
    ForeignPod,
    ImageMissing,
    RuntimeCallError,
    RuntimeEvent,
    RuntimeUnavailable,
    SandboxInfo,
    combined_output,
)
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces
from fastpod.runtime.dns import DnsConfig
from fastpod.runtime.foreign import (
    DOCKER_SANDBOX_ID,
    DOCKER_TYPE,
    docker_labels,
    docker_name_attempt,
    group_foreign,
)
from fastpod.runtime.labels import MANAGED_BY, POD_UID, sandbox_labels
from fastpod.runtime.sandbox import SandboxSpec, pod_own_sandbox
from fastpod.runtime.security import (
    DEFAULT_SANDBOX,
    ImageUser,
    Profile,
    SandboxSecurity,
    SELinux,
)
from fastpod.runtime.spec import ContainerSpec, Security, container_name, sandbox_name
from fastpod.runtime.termination import termination_message, with_termination_message

SANDBOX_TYPE = DOCKER_TYPE
"""dockershim's label telling sandboxes (``podsandbox``) from containers (``container``)."""

SANDBOX_ID = "io.fastpod.sandbox"
"""The sandbox a container was created in (Docker does not record it otherwise)."""

EVENTS_RETRY = 0.5

EXEC_EXIT_POLL = 0.005
"""Seconds between asking whether an exec whose output has ended has exited."""

_STDOUT, _STDERR = 1, 2
"""The stream a frame of an exec's multiplexed output belongs to (its header's first byte)."""


class _State(msgspec.Struct):
    Status: str = ""
    Pid: int = 0
    ExitCode: int = 0
    StartedAt: str = ""
    FinishedAt: str = ""
    OOMKilled: bool = False
    Error: str = ""


class _Config(msgspec.Struct):
    Labels: dict[str, str] | None = None
    Image: str = ""


class _ImageConfig(msgspec.Struct):
    User: str | None = None


class _ImageInspect(msgspec.Struct):
    Config: _ImageConfig | None = None


class _Mount(msgspec.Struct):
    Source: str = ""
    Destination: str = ""


class _Network(msgspec.Struct):
    IPAddress: str = ""
    GlobalIPv6Address: str = ""


class _NetworkSettings(_Network):
    Networks: dict[str, _Network] | None = None


class _HostConfig(msgspec.Struct):
    NetworkMode: str = ""


class _Inspect(msgspec.Struct):
    Id: str
    Created: str = ""
    Image: str = ""
    State: _State = msgspec.field(default_factory=_State)
    Config: _Config = msgspec.field(default_factory=_Config)
    LogPath: str = ""
    ResolvConfPath: str = ""
    Mounts: list[_Mount] | None = None
    HostConfig: _HostConfig = msgspec.field(default_factory=_HostConfig)
    NetworkSettings: _NetworkSettings = msgspec.field(default_factory=_NetworkSettings)


class _Listed(msgspec.Struct):
    Id: str
    Names: list[str] | None = None
    Labels: dict[str, str] | None = None
    State: str = ""
    Created: int = 0
    Image: str = ""
    ImageID: str = ""


class _ExecCreated(msgspec.Struct):
    Id: str


class _ExecInspect(msgspec.Struct):
    Running: bool = False
    ExitCode: int | None = None


class _Event(msgspec.Struct):
    Type: str = ""
    Action: str = msgspec.field(default="", name="Action")
    Actor: dict[str, Any] | None = None


_inspect = msgspec.json.Decoder(_Inspect)
_image_inspect = msgspec.json.Decoder(_ImageInspect)
_listed = msgspec.json.Decoder(list[_Listed])
_event = msgspec.json.Decoder(_Event)
_exec_created = msgspec.json.Decoder(_ExecCreated)
_exec_inspect = msgspec.json.Decoder(_ExecInspect)
_EXEC_START = msgspec.json.encode({"Detach": False, "Tty": False})


class DockerRuntime:
    """A :class:`~fastpod.runtime.base.Runtime` on the Docker Engine API."""

    name = "docker"

    def __init__(
        self,
        sandbox_image: str,
        socket: str = "/var/run/docker.sock",
        log_options: dict[str, str] | None = None,
    ) -> None:
        self.sandbox_image = sandbox_image
        self.socket = socket
        self.log_options = log_options or {}
        """The json-file driver's options each container gets (``max-size``, ``max-file``:
        :func:`~fastpod.runtime.logrotation.docker_log_options`); none: the daemon's."""
        self._session: aiohttp.ClientSession | None = None
        self._adopted: set[str] = set()
        """The UIDs of the pods adopted from another agent: theirs without fastpod's label."""

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.UnixConnector(path=self.socket, limit=64)
            self._session = aiohttp.ClientSession(
                "http://docker", connector=connector, timeout=aiohttp.ClientTimeout(total=120)
            )
        return self._session

    async def _call(
        self, method: str, path: str, body: Any = None, *, ok: tuple[int, ...] = (200, 201, 204)
    ) -> tuple[int, bytes]:
        data = None if body is None else msgspec.json.encode(body)
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            async with self._client().request(method, path, data=data, headers=headers) as reply:
                payload = await reply.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            raise RuntimeUnavailable(f"{method} {path}: Docker unreachable: {error}") from None
        if reply.status not in ok:
            raise RuntimeCallError(f"{method} {path}: {reply.status} {_message(payload)}")
        return reply.status, payload

    async def ping(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._call("GET", "/_ping")
        except TimeoutError:
            raise RuntimeUnavailable(
                f"GET /_ping: Docker did not answer within {timeout:g}s"
            ) from None

    async def version(self) -> str:
        _, payload = await self._call("GET", "/version")
        return str(msgspec.json.decode(payload).get("Version", ""))

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        spec = pod.spec
        if sandbox is None:
            sandbox = pod_own_sandbox(pod)
        host_config: dict[str, Any] = {
            "NetworkMode": "host" if spec.host_network else "none",
            "IpcMode": "host" if spec.host_ipc else "shareable",
            "PidMode": "host" if spec.host_pid else "",
            "SecurityOpt": [
                *_seccomp_options(security.seccomp),
                *_label_options(security.selinux),
            ]
            or None,
            "Sysctls": dict(security.sysctls) or None,
            "GroupAdd": [str(group) for group in security.supplemental_groups] or None,
        }
        if security.oom_score_adj is not None:
            # dockershim's pause container: the kubelet's PodInfraOOMAdj
            host_config["OomScoreAdj"] = security.oom_score_adj
        body: dict[str, Any] = {
            "Image": self.sandbox_image,
            "Labels": {**sandbox_labels(pod), SANDBOX_TYPE: "podsandbox"},
            "HostConfig": host_config,
        }
        if sandbox.hostname is not None:
            body["Hostname"] = sandbox.hostname
        name = sandbox_name(pod, attempt)
        sandbox_id = await self._create(name, body)
        await self.start_container(sandbox_id)
        try:
            await self._rewrite_resolv_conf(sandbox_id, sandbox.dns)
        except (OSError, RuntimeCallError) as error:
            with contextlib.suppress(RuntimeCallError):
                await self.remove_container(sandbox_id)
            raise RuntimeCallError(
                f"rewrite resolv.conf failed for pod {name!r}: {error}"
            ) from None
        return sandbox_id

    async def _rewrite_resolv_conf(self, sandbox_id: str, dns: DnsConfig) -> None:
        """Put the pod's resolver configuration in the ``resolv.conf`` Docker made for the
        sandbox, as cri-dockerd does once it has started (``rewriteResolvFile``): every
        container of the pod joins the sandbox's network and so shares that file. Written
        in place; nothing to write leaves Docker's (the node's)."""
        content = dns.resolv_conf()
        if not content:
            return
        _, payload = await self._call("GET", f"/containers/{sandbox_id}/json")
        path = _inspect.decode(payload).ResolvConfPath
        if not path:
            raise RuntimeCallError("Docker names no resolv.conf for the sandbox")
        with open(path, "wb") as file:
            file.write(content)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self.stop_container(sandbox_id, 0)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.remove_container(sandbox_id)

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        share = f"container:{sandbox_id}"
        security, resources = spec.security, spec.resources
        host_config: dict[str, Any] = {
            "NetworkMode": share,
            "IpcMode": share,
            "PidMode": "host"
            if pod.spec.host_pid
            else (share if pod.spec.share_process_namespace else ""),
            "Binds": [
                f"{mount.host_path}:{mount.container_path}{':ro' if mount.read_only else ''}"
                for mount in spec.mounts
            ],
            "Privileged": security.privileged,
            "CapAdd": list(security.capabilities_add) or None,
            "CapDrop": list(security.capabilities_drop) or None,
            "ReadonlyRootfs": security.read_only_root,
            "SecurityOpt": security_options(security) or None,
            "CpuShares": resources.cpu_shares,
            "GroupAdd": [str(group) for group in security.supplemental_groups] or None,
        }
        if resources.oom_score_adj is not None:
            host_config["OomScoreAdj"] = resources.oom_score_adj
        if resources.memory_bytes is not None:
            host_config["Memory"] = resources.memory_bytes
        if resources.nano_cpus is not None:
            host_config["NanoCpus"] = resources.nano_cpus
        if self.log_options:
            # json-file, whose files fastpod links and reads, rotated by Docker itself
            host_config["LogConfig"] = {"Type": "json-file", "Config": self.log_options}
        body: dict[str, Any] = {
            "Image": spec.image,
            # the pod's grace also when Docker itself stops the container (daemon shutdown)
            "StopTimeout": spec.termination_grace_period,
            "Env": [f"{name}={value}" for name, value in spec.env.items()],
            "Labels": {**spec.labels_and_annotations, SANDBOX_TYPE: "container"},
            "OpenStdin": spec.stdin,
            "Tty": spec.tty,
            "HostConfig": host_config,
        }
        if spec.entrypoint is not None:
            body["Entrypoint"] = spec.entrypoint
            # the image's CMD is dropped when the command is replaced, as in Kubernetes
            body["Cmd"] = spec.arguments or []
        elif spec.arguments is not None:
            body["Cmd"] = spec.arguments
        if spec.working_dir:
            body["WorkingDir"] = spec.working_dir
        user, group = security.run_as_user, security.run_as_group
        if user is not None:
            body["User"] = str(user) if group is None else f"{user}:{group}"
        body["Labels"][SANDBOX_ID] = sandbox_id
        return await self._create(container_name(pod, spec.name, spec.restart_count), body)

    async def _create(self, name: str, body: dict[str, Any]) -> str:
        path = f"/containers/create?name={quote(name)}"
        status, payload = await self._call("POST", path, body, ok=(201, 404, 409))
        if status == 409:
            # a leftover of an attempt that failed half way: it is ours, replace it
            await self.remove_container(name)
            status, payload = await self._call("POST", path, body, ok=(201, 404))
        if status == 404:
            raise ImageMissing(f"creating {name}: {_message(payload)}")
        return str(json.loads(payload)["Id"])

    async def start_container(self, container_id: str) -> None:
        await self._call("POST", f"/containers/{container_id}/start", ok=(204, 304))

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        seconds = max(0, round(grace_period))
        await self._call("POST", f"/containers/{container_id}/stop?t={seconds}", ok=(204, 304, 404))

    async def remove_container(self, container_id: str) -> None:
        await self._call("DELETE", f"/containers/{quote(container_id)}?force=1&v=1", ok=(204, 404))

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        return [_sandbox_info(item) for item in await self._list("podsandbox", pod_uid)]

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        listed = await self._list("container", pod_uid)
        inspected = await asyncio.gather(*(self._inspect(item.Id) for item in listed))
        return [info for info in inspected if info is not None]

    async def _list(self, kind: str, pod_uid: str | None) -> list[_Listed]:
        """fastpod's sandboxes or containers: its label, or an adopted pod's UID."""
        labels = [f"{SANDBOX_TYPE}={kind}"]
        if pod_uid is not None:
            labels.append(f"{POD_UID}={pod_uid}")
            if pod_uid not in self._adopted:
                labels.append(f"{MANAGED_BY}=true")
            return await self._containers_json(labels)
        if not self._adopted:
            return await self._containers_json([*labels, f"{MANAGED_BY}=true"])
        # Docker's label filters all apply at once: fastpod's or adopted is sorted out here
        return [
            item
            for item in await self._containers_json([*labels, POD_UID])
            if MANAGED_BY in (item.Labels or {})
            or (item.Labels or {}).get(POD_UID) in self._adopted
        ]

    async def _containers_json(self, labels: list[str]) -> list[_Listed]:
        filters = quote(json.dumps({"label": labels}))
        _, payload = await self._call("GET", f"/containers/json?all=1&filters={filters}")
        return _listed.decode(payload)

    async def list_foreign_pods(self) -> list[ForeignPod]:
        """One listing of every object with the kubelet's pod UID label, sandboxes and
        containers told apart by cri-dockerd's type label."""
        sandboxes, containers = [], []
        for item in await self._containers_json([POD_UID]):
            labels = item.Labels or {}
            if labels.get(SANDBOX_TYPE) == "podsandbox":
                sandboxes.append(_sandbox_info(item))
            elif labels.get(SANDBOX_TYPE) == "container":
                joined = docker_labels(labels)
                containers.append(
                    ContainerInfo(
                        id=item.Id,
                        sandbox_id=_sandbox_of(joined),
                        labels=joined,
                        state=_state(item.State),
                        created=float(item.Created),
                        image=item.Image,
                        image_id=item.ImageID,
                    )
                )
        return group_foreign(sandboxes, containers)

    def adopt(self, pod: ForeignPod) -> None:
        self._adopted.add(pod.uid)

    async def container_config(self, container_id: str) -> CreatedContainer | None:
        status, payload = await self._call("GET", f"/containers/{container_id}/json", ok=(200, 404))
        return docker_created.created_container(payload) if status == 200 else None

    async def sandbox_namespaces(self, sandbox_id: str) -> Namespaces | None:
        status, payload = await self._call("GET", f"/containers/{sandbox_id}/json", ok=(200, 404))
        return docker_created.sandbox_namespaces(payload) if status == 200 else None

    async def image_defaults(self, image: str) -> ImageDefaults | None:
        path = f"/images/{quote(image, safe='')}/json"
        status, payload = await self._call("GET", path, ok=(200, 404))
        return docker_created.image_defaults(payload) if status == 200 else None

    async def _inspect(self, container_id: str) -> ContainerInfo | None:
        status, payload = await self._call("GET", f"/containers/{container_id}/json", ok=(200, 404))
        if status == 404:
            return None
        item = _inspect.decode(payload)
        labels = docker_labels(item.Config.Labels or {})
        state = item.State
        created = _timestamp(item.Created) or 0.0
        started_at = _timestamp(state.StartedAt)
        finished_at = _timestamp(state.FinishedAt)
        phase = _state(state.Status)
        exit_code = state.ExitCode if state.Status == "exited" else None
        reason = "OOMKilled" if state.OOMKilled else ""
        ran = started_at is not None
        if phase == "created" and state.ExitCode != 0:
            # its start failed: Docker keeps it "created", with the error and a code (127
            # for a path of the wrong kind, else 128); as dockershim, an exit at creation
            phase, exit_code, reason = "exited", state.ExitCode, "ContainerCannotRun"
            started_at = finished_at = created
        message = state.Error
        if phase == "exited":
            # read again at each listing, as the kubelet does at each relist: a small file
            mounts = {mount.Destination: mount.Source for mount in item.Mounts or ()}
            own = termination_message(labels, state.ExitCode, ran, mounts, item.LogPath)
            message = with_termination_message(message, own)
        return ContainerInfo(
            id=item.Id,
            sandbox_id=_sandbox_of(labels),
            labels=labels,
            state=phase,
            exit_code=exit_code,
            created=created,
            started_at=started_at,
            finished_at=finished_at,
            image=item.Config.Image,
            image_id=item.Image,
            reason=reason,
            message=message,
        )

    async def image_present(self, image: str) -> bool:
        status, _ = await self._call("GET", f"/images/{quote(image, safe='')}/json", ok=(200, 404))
        return status == 200

    async def image_user(self, image: str) -> ImageUser:
        """The image's ``Config.User``, read as dockershim read it: the part before a
        ``:``, a uid when it is a number."""
        path = f"/images/{quote(image, safe='')}/json"
        status, payload = await self._call("GET", path, ok=(200, 404))
        if status == 404:
            raise ImageMissing(f"image {image}: {_message(payload)}")
        config = _image_inspect.decode(payload).Config
        user = ((config.User if config is not None else None) or "").partition(":")[0]
        return ImageUser(int(user)) if user.isdigit() else ImageUser(username=user)

    async def pull_image(self, image: str) -> None:
        name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
        query = f"fromImage={quote(name or image)}" + (f"&tag={quote(tag)}" if tag else "")
        status, payload = await self._call("POST", f"/images/create?{query}", ok=(200, 404, 500))
        if status != 200:
            # the registry refused or could not be reached: the Engine's message says which
            raise ImageMissing(f"pulling {image}: {_message(payload)}")
        # once the pull has begun, the Engine answers 200 and reports a failure in the stream
        for line in payload.splitlines():
            if b'"error"' in line:
                raise ImageMissing(f"pulling {image}: {json.loads(line).get('error')}")

    async def container_log_path(self, container_id: str) -> str | None:
        status, payload = await self._call("GET", f"/containers/{container_id}/json", ok=(200, 404))
        if status == 404:
            return None
        return _inspect.decode(payload).LogPath or None

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        """The pause container's addresses, as cri-dockerd's ``getIPs`` reads them (no
        network plugin here): none under the host's network, else Docker's own, IPv4 then
        IPv6, from the container's networks. A sandbox on the ``none`` network, as fastpod
        makes them, has none."""
        _, payload = await self._call("GET", f"/containers/{sandbox_id}/json")
        item = _inspect.decode(payload)
        if item.HostConfig.NetworkMode == "host":
            return ()
        settings = item.NetworkSettings
        found: list[str] = []
        for network in (settings, *(settings.Networks or {}).values()):
            for ip in (network.IPAddress, network.GlobalIPv6Address):
                if ip and ip not in found:
                    found.append(ip)
        return tuple(found)

    async def network_namespace(self, sandbox_id: str) -> str:
        _, payload = await self._call("GET", f"/containers/{sandbox_id}/json")
        pid = _inspect.decode(payload).State.Pid
        if not pid:
            raise RuntimeCallError(f"sandbox {sandbox_id[:12]} does not run: no network namespace")
        return f"/proc/{pid}/ns/net"

    async def reopen_container_log(self, container_id: str) -> None:
        raise RuntimeCallError(
            f"reopen log of container {container_id[:12]}: Docker rotates its own logs"
        )

    async def exec_sync(
        self, container_id: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        """Run ``command`` in the container through an exec instance: create it, start it
        attached and read its multiplexed output to the end, then read its exit code.

        The timeout bounds the three calls. Docker cannot kill an exec: one that times out
        goes on running in the container until it ends by itself (dockershim left it so too,
        and the kubelet only reports the probe failed)."""
        try:
            async with asyncio.timeout(timeout if timeout > 0 else None):
                return await self._exec(container_id, command)
        except TimeoutError:
            raise ExecTimeout(command, timeout) from None

    async def _exec(self, container_id: str, command: Sequence[str]) -> ExecResult:
        body = {"AttachStdout": True, "AttachStderr": True, "Cmd": list(command)}
        path = f"/containers/{quote(container_id)}/exec"
        status, payload = await self._call("POST", path, body, ok=(201, 404, 409))
        if status != 201:
            # 404: no such container; 409: it is not running (or paused)
            raise RuntimeCallError(f"exec in container {container_id}: {_message(payload)}")
        exec_id = _exec_created.decode(payload).Id
        stdout, stderr = await self._exec_output(exec_id)
        while True:
            _, payload = await self._call("GET", f"/exec/{exec_id}/json")
            state = _exec_inspect.decode(payload)
            if not state.Running and state.ExitCode is not None:
                return ExecResult(state.ExitCode, combined_output(stdout, stderr))
            # the output can end a moment before the Engine records the exit
            await asyncio.sleep(EXEC_EXIT_POLL)

    async def _exec_output(self, exec_id: str) -> tuple[bytes, bytes]:
        """The exec's standard output and error, each cut to :data:`MAX_EXEC_OUTPUT` bytes;
        what is beyond is read and dropped, so that the command never blocks on a full pipe."""
        path = f"/exec/{exec_id}/start"
        streams = {_STDOUT: bytearray(), _STDERR: bytearray()}
        try:
            async with self._client().post(
                path,
                data=_EXEC_START,
                headers={"Content-Type": "application/json"},
                # the caller's timeout bounds it, or nothing does (a hook's exec)
                timeout=aiohttp.ClientTimeout(total=None),
            ) as reply:
                if reply.status != 200:
                    message = _message(await reply.read())
                    raise RuntimeCallError(f"POST {path}: {reply.status} {message}")
                content = reply.content
                while True:
                    try:
                        header = await content.readexactly(8)
                        frame = await content.readexactly(int.from_bytes(header[4:], "big"))
                    except asyncio.IncompleteReadError:
                        break
                    kept = streams.get(header[0])
                    if kept is not None and len(kept) < MAX_EXEC_OUTPUT:
                        kept += frame[: MAX_EXEC_OUTPUT - len(kept)]
        except (aiohttp.ClientError, OSError) as error:
            raise RuntimeUnavailable(f"POST {path}: Docker unreachable: {error}") from None
        return bytes(streams[_STDOUT]), bytes(streams[_STDERR])

    async def events(self) -> AsyncIterator[RuntimeEvent]:
        filters = quote(
            json.dumps(
                {
                    "type": ["container"],
                    "event": ["start", "die", "destroy", "oom"],
                    # the kubelet's pod label, not fastpod's: adopted pods' containers too
                    "label": [POD_UID],
                }
            )
        )
        lost = False
        while True:
            try:
                async with self._client().get(
                    f"/events?filters={filters}", timeout=aiohttp.ClientTimeout(total=None)
                ) as reply:
                    if lost:
                        # anything may have happened while the stream was down
                        yield RuntimeEvent(None, "events resumed")
                        lost = False
                    async for line in reply.content:
                        if not line.strip():
                            continue
                        event = _event.decode(line)
                        attributes = (event.Actor or {}).get("Attributes") or {}
                        yield RuntimeEvent(attributes.get(POD_UID), event.Action)
            except (aiohttp.ClientError, OSError, TimeoutError, msgspec.DecodeError):
                pass
            lost = True
            await asyncio.sleep(EVENTS_RETRY)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def security_options(security: Security) -> list[str]:
    """The container's ``SecurityOpt``, as dockershim gave them: its seccomp profile (none
    for Docker's own default, ``seccomp=unconfined``, or a node profile's JSON, which the
    Engine takes inline), its AppArmor profile (Docker's own default unless named), its
    SELinux label's parts, ``systempaths=unconfined`` for an unmasked /proc, and
    ``no-new-privileges``. A profile file that cannot be read fails the create, with the
    kubelet's words."""
    options = _seccomp_options(security.seccomp)
    apparmor = security.apparmor
    if apparmor is not None and apparmor.kind != "RuntimeDefault":
        options.append(f"apparmor={apparmor.localhost or 'unconfined'}")
    options += _label_options(security.selinux)
    if security.unmasked_proc:
        options.append("systempaths=unconfined")
    if security.no_new_privileges:
        options.append("no-new-privileges")
    return options


def _label_options(selinux: SELinux | None) -> list[str]:
    if selinux is None:
        return []
    parts = (
        ("user", selinux.user),
        ("role", selinux.role),
        ("type", selinux.type),
        ("level", selinux.level),
    )
    return [f"label={name}:{value}" for name, value in parts if value]


def _seccomp_options(profile: Profile) -> list[str]:
    if profile.kind == "Unconfined":
        return ["seccomp=unconfined"]
    if profile.kind == "Localhost":
        return [f"seccomp={_seccomp_file(profile.localhost)}"]
    return []


def _seccomp_file(path: str) -> str:
    """A seccomp profile file's JSON, compacted as dockershim sent it."""
    try:
        with open(path, "rb") as file:
            return json.dumps(json.loads(file.read()), separators=(",", ":"))
    except OSError as error:
        raise RuntimeCallError(
            f"cannot load seccomp profile {path!r}: {error.strerror or error}"
        ) from None
    except ValueError as error:
        raise RuntimeCallError(f"cannot load seccomp profile {path!r}: not JSON: {error}") from None


def _sandbox_info(item: _Listed) -> SandboxInfo:
    """A listed sandbox; the CRI's annotations cri-dockerd keeps as labels read as such."""
    labels = docker_labels(item.Labels or {})
    return SandboxInfo(item.Id, labels, item.State == "running", item.Created, _attempt(item))


def _attempt(item: _Listed) -> int:
    """The attempt a sandbox's name carries (``k8s_POD_<name>_<ns>_<uid>_<attempt>``)."""
    for name in item.Names or ():
        attempt = docker_name_attempt(name)
        if attempt is not None:
            return attempt
    return 0


def _sandbox_of(labels: dict[str, str]) -> str:
    """A container's sandbox: fastpod's label, else cri-dockerd's."""
    return labels.get(SANDBOX_ID) or labels.get(DOCKER_SANDBOX_ID, "")


def _state(status: str) -> ContainerState:
    if status in ("running", "restarting", "paused"):
        return "running"
    if status == "created":
        return "created"
    return "exited"


def _timestamp(text: str) -> float | None:
    if not text or text.startswith("0001-"):
        return None
    # Docker gives nanoseconds; Python's parser takes microseconds
    head, _, rest = text.partition(".")
    fraction = rest.rstrip("Z")[:6] if rest else "0"
    try:
        moment = datetime.datetime.fromisoformat(f"{head}.{fraction}+00:00")
    except ValueError:
        return None
    return moment.timestamp()


def _message(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("message", payload.decode(errors="replace")))
    except (ValueError, AttributeError):
        return payload.decode(errors="replace").strip()
