"""The Docker Engine as fastpod's runtime: the Engine API over its Unix socket.

A pod is a sandbox container (the pause image) holding the pod's namespaces, as dockershim
made it (:mod:`~fastpod.runtime.docker.configs`), and its containers joined to them. What
runs is read back by label and ``docker inspect``
(:mod:`~fastpod.runtime.docker.listing`); deaths come from the Engine's event stream
(:mod:`~fastpod.runtime.docker.events`), commands run through exec instances
(:mod:`~fastpod.runtime.docker.exec`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import msgspec

from fastpod.model import Pod
from fastpod.runtime.base import (
    ContainerInfo,
    ExecResult,
    ForeignPod,
    ImageMissing,
    RuntimeCallError,
    RuntimeEvent,
    RuntimeUnavailable,
    SandboxInfo,
)
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces
from fastpod.runtime.dns import DnsConfig
from fastpod.runtime.docker import created
from fastpod.runtime.docker.configs import container_config, sandbox_config
from fastpod.runtime.docker.engine import Engine, message
from fastpod.runtime.docker.events import follow_events
from fastpod.runtime.docker.exec import exec_command
from fastpod.runtime.docker.inspected import Inspected, inspected
from fastpod.runtime.docker.inspections import Inspections
from fastpod.runtime.docker.listing import Listing
from fastpod.runtime.sandbox import SandboxSpec, pod_own_sandbox
from fastpod.runtime.security import DEFAULT_SANDBOX, ImageUser, SandboxSecurity
from fastpod.runtime.spec import ContainerSpec, container_name, sandbox_name


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
        self.log_options = log_options or {}
        """The json-file driver's options each container gets (``max-size``, ``max-file``:
        :func:`~fastpod.runtime.logrotation.docker_log_options`); none: the daemon's."""
        self._engine = Engine(socket)
        self._inspections = Inspections(self._engine)
        self._listing = Listing(self._engine, self._inspections)

    async def ping(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                await self._engine.call("GET", "/_ping")
        except TimeoutError:
            raise RuntimeUnavailable(
                f"GET /_ping: Docker did not answer within {timeout:g}s"
            ) from None

    async def version(self) -> str:
        _, payload = await self._engine.call("GET", "/version")
        return str(msgspec.json.decode(payload).get("Version", ""))

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        if sandbox is None:
            sandbox = pod_own_sandbox(pod)
        name = sandbox_name(pod, attempt)
        body = sandbox_config(pod, self.sandbox_image, security, sandbox)
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
        path = (await self._inspect_container(sandbox_id)).ResolvConfPath
        if not path:
            raise RuntimeCallError("Docker names no resolv.conf for the sandbox")
        with open(path, "wb") as file:
            file.write(content)

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await self.stop_container(sandbox_id, 0)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.remove_container(sandbox_id)

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        body = container_config(sandbox_id, pod, spec, self.log_options)
        return await self._create(container_name(pod, spec.name, spec.restart_count), body)

    async def _create(self, name: str, body: dict[str, Any]) -> str:
        path = f"/containers/create?name={quote(name)}"
        status, payload = await self._engine.call("POST", path, body, ok=(201, 404, 409))
        if status == 409:
            # a leftover of an attempt that failed half way: it is ours, replace it
            await self.remove_container(name)
            status, payload = await self._engine.call("POST", path, body, ok=(201, 404))
        if status == 404:
            raise ImageMissing(f"creating {name}: {message(payload)}")
        return str(json.loads(payload)["Id"])

    async def start_container(self, container_id: str) -> None:
        await self._engine.call("POST", f"/containers/{container_id}/start", ok=(204, 304))

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        seconds = max(0, round(grace_period))
        path = f"/containers/{container_id}/stop?t={seconds}"
        await self._engine.call("POST", path, ok=(204, 304, 404))

    async def remove_container(self, container_id: str) -> None:
        path = f"/containers/{quote(container_id)}?force=1&v=1"
        await self._engine.call("DELETE", path, ok=(204, 404))

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        return await self._listing.sandboxes(pod_uid)

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return await self._listing.containers(pod_uid)

    async def list_foreign_pods(self) -> list[ForeignPod]:
        return await self._listing.foreign_pods()

    def adopt(self, pod: ForeignPod) -> None:
        self._listing.adopt(pod.uid)

    async def container_config(self, container_id: str) -> CreatedContainer | None:
        payload = await self._inspect(f"/containers/{container_id}/json")
        return None if payload is None else created.created_container(payload)

    async def sandbox_namespaces(self, sandbox_id: str) -> Namespaces | None:
        payload = await self._inspect(f"/containers/{sandbox_id}/json")
        return None if payload is None else created.sandbox_namespaces(payload)

    async def image_defaults(self, image: str) -> ImageDefaults | None:
        payload = await self._inspect(f"/images/{quote(image, safe='')}/json")
        return None if payload is None else created.image_defaults(payload)

    async def _inspect(self, path: str) -> bytes | None:
        """The inspect answer at ``path``; None when there is no such object."""
        status, payload = await self._engine.call("GET", path, ok=(200, 404))
        return payload if status == 200 else None

    async def image_present(self, image: str) -> bool:
        return await self._inspect(f"/images/{quote(image, safe='')}/json") is not None

    async def image_user(self, image: str) -> ImageUser:
        """The image's ``Config.User``, read as dockershim read it: the part before a
        ``:``, a uid when it is a number."""
        path = f"/images/{quote(image, safe='')}/json"
        status, payload = await self._engine.call("GET", path, ok=(200, 404))
        if status == 404:
            raise ImageMissing(f"image {image}: {message(payload)}")
        user = created.image_defaults(payload).user.partition(":")[0]
        return ImageUser(int(user)) if user.isdigit() else ImageUser(username=user)

    async def pull_image(self, image: str) -> None:
        name, _, tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
        query = f"fromImage={quote(name or image)}" + (f"&tag={quote(tag)}" if tag else "")
        path = f"/images/create?{query}"
        status, payload = await self._engine.call("POST", path, ok=(200, 404, 500))
        if status != 200:
            # the registry refused or could not be reached: the Engine's message says which
            raise ImageMissing(f"pulling {image}: {message(payload)}")
        # once the pull has begun, the Engine answers 200 and reports a failure in the stream
        for line in payload.splitlines():
            if b'"error"' in line:
                raise ImageMissing(f"pulling {image}: {json.loads(line).get('error')}")

    async def container_log_path(self, container_id: str) -> str | None:
        item = await self._inspections.read(container_id)
        return None if item is None else item.LogPath or None

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        """The pause container's addresses, as cri-dockerd's ``getIPs`` reads them (no
        network plugin here): none under the host's network, else Docker's own, IPv4 then
        IPv6, from the container's networks. A sandbox on the ``none`` network, as fastpod
        makes them, has none. Read from the inspect that found a new sandbox's
        ``resolv.conf`` when it is kept (:mod:`~fastpod.runtime.docker.inspections`)."""
        item = self._inspections.kept(sandbox_id) or await self._inspect_container(sandbox_id)
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
        _, payload = await self._engine.call("GET", f"/containers/{sandbox_id}/json")
        pid = inspected(payload).State.Pid
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
        return await exec_command(self._engine, container_id, command, timeout)

    async def _inspect_container(self, container_id: str) -> Inspected:
        """The container's inspect; a gone container is a failed call."""
        item = await self._inspections.read(container_id)
        if item is None:
            path = f"/containers/{container_id}/json"
            raise RuntimeCallError(f"GET {path}: 404 No such container: {container_id}")
        return item

    def events(self) -> AsyncIterator[RuntimeEvent]:
        return follow_events(self._engine, self._inspections)

    async def close(self) -> None:
        await self._engine.close()
