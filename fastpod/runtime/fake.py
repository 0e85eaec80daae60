"""An in-memory runtime with simulated latencies: for unit tests and benchmarks only.

It keeps sandboxes and containers in dictionaries and sleeps as long as the configured
latencies say, so the rest of fastpod can be exercised and measured without a daemon.
Containers run until :meth:`FakeRuntime.exit` ends one, as a crash would. A command run in
a container (an exec probe, an exec hook) ends as :meth:`FakeRuntime.script_exec` said,
by default at once with exit code 0.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Sequence

import msgspec

from fastpod.config.settings import FakeLatencies
from fastpod.model import Pod
from fastpod.runtime.base import (
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
from fastpod.runtime.foreign import group_foreign
from fastpod.runtime.labels import MANAGED_BY, sandbox_labels
from fastpod.runtime.sandbox import SandboxSpec, pod_own_sandbox
from fastpod.runtime.security import DEFAULT_SANDBOX, ImageUser, SandboxSecurity
from fastpod.runtime.spec import ContainerSpec


class ScriptedExec(msgspec.Struct, frozen=True):
    """How a command run in a fake container ends, and how long it runs."""

    exit_code: int = 0
    output: bytes = b""
    duration: float = 0.0
    """Seconds it runs, beyond the ``exec_sync`` latency."""


FAKE_VERSION = "0.1.0"
"""What the fake runtime says its version is (a Node's ``fake://0.1.0``)."""


class FakeRuntime:
    """A :class:`~fastpod.runtime.base.Runtime` that runs nothing and forgets on exit."""

    name = "fake"

    def __init__(
        self,
        latencies: FakeLatencies | None = None,
        images: set[str] | None = None,
        *,
        record_specs: bool = True,
    ) -> None:
        self.latencies = latencies or FakeLatencies()
        self.images = images
        self.image_users: dict[str, ImageUser] = {}
        """Whom each image runs as (root, unless set here)."""
        # what each container was created with, for tests; not kept when benchmarking memory
        self.record_specs = record_specs
        self.pod_network_ips: tuple[str, ...] = ("127.0.0.1",)
        """What every sandbox reports as its addresses (the loopback, as the test CNI
        plugin of fastpod's containerd reports it)."""
        self.sandboxes: dict[str, SandboxInfo] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self.sandbox_specs: dict[str, SandboxSpec] = {}
        self.exec_scripts: dict[tuple[str | None, tuple[str, ...]], ScriptedExec] = {}
        """What each command does, in one container (its id) or in any (None)."""
        self.reopened: list[str] = []
        """The containers whose log was reopened, in order."""
        self.execs: list[tuple[str, tuple[str, ...]]] = []
        """Each command run and the container it ran in, in order (kept as specs are)."""
        self.foreign_configs: dict[str, CreatedContainer] = {}
        """What the foreign containers a test plants were created with, by id."""
        self.namespaces: dict[str, Namespaces] = {}
        """The namespaces of the foreign sandboxes a test plants, by id."""
        self.adopted: set[str] = set()
        # by pod UID, so listing one pod costs the same with 10 pods or 10,000
        self._by_pod: dict[str, set[str]] = {}
        self._ids = itertools.count(1)
        self._events: asyncio.Queue[RuntimeEvent] = asyncio.Queue()
        self.down: str | None = None
        """Set to a reason, the runtime does not answer its ``ping``, as a daemon that is
        not running would not."""

    async def ping(self, timeout: float) -> None:
        if self.down is not None:
            raise RuntimeUnavailable(self.down)

    async def version(self) -> str:
        if self.down is not None:
            raise RuntimeUnavailable(self.down)
        return FAKE_VERSION

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        await _pause(self.latencies.run_sandbox)
        sandbox_id = f"sandbox-{next(self._ids)}"
        if self.record_specs:
            self.sandbox_specs[sandbox_id] = sandbox or pod_own_sandbox(pod)
        labels = sandbox_labels(pod)
        self.sandboxes[sandbox_id] = SandboxInfo(sandbox_id, labels, True, time.time(), attempt)
        self._by_pod.setdefault(pod.metadata.uid or "", set()).add(sandbox_id)
        return sandbox_id

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        await _pause(self.latencies.stop_container)
        sandbox = self._sandbox(sandbox_id)
        self.sandboxes[sandbox_id] = msgspec.structs.replace(sandbox, ready=False)

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await _pause(self.latencies.remove)
        sandbox = self._sandbox(sandbox_id)
        del self.sandboxes[sandbox_id]
        self._forget(sandbox.pod_uid, sandbox_id)

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        await _pause(self.latencies.create_container)
        self._sandbox(sandbox_id)
        if self.images is not None and spec.image not in self.images:
            raise ImageMissing(f"creating {spec.name}: no such image: {spec.image}")
        container_id = f"container-{next(self._ids)}"
        info = ContainerInfo(
            container_id,
            sandbox_id,
            spec.labels_and_annotations,
            "created",
            created=time.time(),
            image=spec.image,
        )
        self.containers[container_id] = info
        if self.record_specs:
            self.specs[container_id] = spec
        self._by_pod.setdefault(info.pod_uid, set()).add(container_id)
        return container_id

    async def start_container(self, container_id: str) -> None:
        await _pause(self.latencies.start_container)
        self._set_state(container_id, "running", None)

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        await _pause(self.latencies.stop_container)
        if self._container(container_id).state != "exited":
            self._set_state(container_id, "exited", 137)

    async def remove_container(self, container_id: str) -> None:
        await _pause(self.latencies.remove)
        info = self._container(container_id)
        del self.containers[container_id]
        self.specs.pop(container_id, None)
        self._forget(info.pod_uid, container_id)

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        if pod_uid is None:
            return [s for s in self.sandboxes.values() if self._managed(s.labels, s.pod_uid)]
        ids = self._by_pod.get(pod_uid, ())
        return [self.sandboxes[i] for i in ids if i in self.sandboxes]

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        if pod_uid is None:
            return [c for c in self.containers.values() if self._managed(c.labels, c.pod_uid)]
        ids = self._by_pod.get(pod_uid, ())
        return [self.containers[i] for i in ids if i in self.containers]

    def _managed(self, labels: dict[str, str], pod_uid: str) -> bool:
        return MANAGED_BY in labels or pod_uid in self.adopted

    async def list_foreign_pods(self) -> list[ForeignPod]:
        return group_foreign(self.sandboxes.values(), self.containers.values())

    def adopt(self, pod: ForeignPod) -> None:
        self.adopted.add(pod.uid)

    async def container_config(self, container_id: str) -> CreatedContainer | None:
        return self.foreign_configs.get(container_id)

    async def sandbox_namespaces(self, sandbox_id: str) -> Namespaces | None:
        return self.namespaces.get(sandbox_id)

    async def image_defaults(self, image: str) -> ImageDefaults | None:
        """An image the fake has is its own ID (``sha256:<name>``), without defaults."""
        return ImageDefaults(id=f"sha256:{image}") if await self.image_present(image) else None

    def plant(self, sandbox: SandboxInfo, *containers: ContainerInfo) -> None:
        """Leave a sandbox and its containers as another agent would have: a test's kubelet."""
        self.sandboxes[sandbox.id] = sandbox
        self._by_pod.setdefault(sandbox.pod_uid, set()).add(sandbox.id)
        for info in containers:
            self.containers[info.id] = info
            self._by_pod.setdefault(info.pod_uid, set()).add(info.id)

    async def image_present(self, image: str) -> bool:
        return self.images is None or image in self.images

    async def image_user(self, image: str) -> ImageUser:
        if not await self.image_present(image):
            raise ImageMissing(f"image {image} is not on the node")
        return self.image_users.get(image, ImageUser())

    async def pull_image(self, image: str) -> None:
        raise ImageMissing(f"pulling {image}: no registry is reachable from the fake runtime")

    async def container_log_path(self, container_id: str) -> str | None:
        return None

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        self._sandbox(sandbox_id)
        return self.pod_network_ips

    async def reopen_container_log(self, container_id: str) -> None:
        if self._container(container_id).state != "running":
            raise RuntimeCallError(f"reopen log of container {container_id}: it does not run")
        self.reopened.append(container_id)

    async def network_namespace(self, sandbox_id: str) -> str:
        """The fake's sandboxes share the host's network: probes run there."""
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None or not sandbox.ready:
            raise RuntimeCallError(f"sandbox {sandbox_id} does not run")
        return ""

    async def exec_sync(
        self, container_id: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        if self._container(container_id).state != "running":
            raise RuntimeCallError(f"exec in container {container_id}: container is not running")
        key = tuple(command)
        script = (
            self.exec_scripts.get((container_id, key))
            or self.exec_scripts.get((None, key))
            or ScriptedExec()
        )
        if self.record_specs:
            self.execs.append((container_id, key))
        runs = self.latencies.exec_sync + script.duration
        if 0 < timeout < runs:
            await _pause(timeout)
            raise ExecTimeout(command, timeout)
        await _pause(runs)
        return ExecResult(script.exit_code, combined_output(script.output, b""))

    def script_exec(
        self, command: Sequence[str], script: ScriptedExec, container_id: str | None = None
    ) -> None:
        """Make ``command`` end as ``script`` says from now on, in the container
        ``container_id`` or (None) in every container without a script of its own."""
        self.exec_scripts[(container_id, tuple(command))] = script

    async def events(self) -> AsyncIterator[RuntimeEvent]:
        while True:
            yield await self._events.get()

    async def close(self) -> None:
        return None

    def exit(self, container_id: str, exit_code: int, message: str = "") -> None:
        """End a running container, as if its process exited with ``exit_code`` having left
        ``message`` as its termination message (the fake has no file to read it from)."""
        self._set_state(container_id, "exited", exit_code, message)

    def _forget(self, pod_uid: str, object_id: str) -> None:
        ids = self._by_pod.get(pod_uid)
        if ids is not None:
            ids.discard(object_id)
            if not ids:
                del self._by_pod[pod_uid]

    def _sandbox(self, sandbox_id: str) -> SandboxInfo:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise RuntimeCallError(f"no such sandbox: {sandbox_id}") from None

    def _container(self, container_id: str) -> ContainerInfo:
        try:
            return self.containers[container_id]
        except KeyError:
            raise RuntimeCallError(f"no such container: {container_id}") from None

    def _set_state(
        self, container_id: str, state: ContainerState, exit_code: int | None, message: str = ""
    ) -> None:
        info = self._container(container_id)
        now = time.time()
        self.containers[container_id] = ContainerInfo(
            container_id,
            info.sandbox_id,
            info.labels,
            state,
            exit_code,
            info.created,
            now if state == "running" else info.started_at,
            now if state == "exited" else None,
            info.image,
            message=message,
        )
        if state in ("running", "exited"):
            reason = "started" if state == "running" else "died"
            self._events.put_nowait(RuntimeEvent(info.pod_uid, reason))


async def _pause(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)
