"""The runtime seam, shaped like the kubelet's CRI: sandboxes, containers, images, events.

Nothing above ``fastpod/runtime`` knows which runtime runs; the fake and the real ones are
interchangeable behind :class:`Runtime`, as httpx's transports are behind its client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Literal, NamedTuple, Protocol, runtime_checkable

import msgspec

from fastpod.model import Pod
from fastpod.runtime.created import CreatedContainer, ImageDefaults, Namespaces
from fastpod.runtime.labels import (
    CONTAINER_NAME,
    CONTAINER_TYPE,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
)
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import DEFAULT_SANDBOX, ImageUser, SandboxSecurity
from fastpod.runtime.spec import CONTAINER_HASH, CONTAINER_KIND, RESTART_COUNT, ContainerSpec

ContainerState = Literal["created", "running", "exited"]


class RuntimeCallError(Exception):
    """A runtime call failed; the message says which call and why."""


class RuntimeUnavailable(RuntimeCallError):
    """The runtime did not answer at all (its socket is gone, it is not running)."""


class ImageMissing(RuntimeCallError):
    """The image is not on the node."""


class ExecTimeout(RuntimeCallError):
    """A command run in a container did not end within its timeout: a failed exec probe to
    the kubelet, whose message this is (``command "sleep 5" timed out``)."""

    def __init__(self, command: Sequence[str], timeout: float) -> None:
        quoted = json.dumps(" ".join(command), ensure_ascii=False)  # Go's %q, near enough
        super().__init__(f"command {quoted} timed out after {timeout:g}s")
        self.command = tuple(command)
        self.timeout = timeout


MAX_EXEC_OUTPUT = 10 * 1024
"""The bytes of a command's output kept (the kubelet's exec prober, ``maxReadLength``)."""


class ExecResult(msgspec.Struct, frozen=True):
    """How a command run in a container ended."""

    exit_code: int
    output: bytes
    """Its standard output then its standard error (as the kubelet's ``RunInContainer``
    joins them), the first :data:`MAX_EXEC_OUTPUT` bytes."""


def combined_output(stdout: bytes, stderr: bytes) -> bytes:
    """Standard output then standard error, cut to :data:`MAX_EXEC_OUTPUT` bytes."""
    if len(stdout) >= MAX_EXEC_OUTPUT:
        return stdout[:MAX_EXEC_OUTPUT]
    return stdout + stderr[: MAX_EXEC_OUTPUT - len(stdout)]


class SandboxInfo(msgspec.Struct, frozen=True):
    """A pod sandbox as the runtime lists it."""

    id: str
    labels: dict[str, str]
    ready: bool
    created: float = 0.0
    attempt: int = 0
    """Which of the pod's sandboxes this is, counting from 0 (its name carries it)."""

    @property
    def pod_uid(self) -> str:
        """The UID of the pod it belongs to."""
        return self.labels.get(POD_UID, "")

    @property
    def pod_key(self) -> str:
        """``namespace/name`` of the pod it belongs to."""
        return f"{self.labels.get(POD_NAMESPACE, '')}/{self.labels.get(POD_NAME, '')}"


class ContainerInfo(msgspec.Struct, frozen=True):
    """A container as the runtime lists it, times in seconds since the epoch."""

    id: str
    sandbox_id: str
    labels: dict[str, str]
    state: ContainerState
    exit_code: int | None = None
    created: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    image: str = ""
    """The image as the pod names it."""
    image_id: str = ""
    """The image the runtime resolved it to (``sha256:...``)."""
    reason: str = ""
    """Why it ended, when the runtime knows better than the exit code (``OOMKilled``)."""
    message: str = ""
    """Once it has exited: the runtime's word on a failure, then (after ``": "``) the
    container's termination message (:mod:`fastpod.runtime.termination`), as the kubelet's
    ``convertToKubeContainerStatus`` joins them; ``""`` when neither says anything."""

    @property
    def name(self) -> str:
        """The container's name in its pod."""
        return self.labels.get(CONTAINER_NAME, "")

    @property
    def pod_uid(self) -> str:
        """The UID of the pod it belongs to."""
        return self.labels.get(POD_UID, "")

    @property
    def restart_count(self) -> int:
        """How many times this container of the pod was restarted before this one."""
        try:
            return int(self.labels.get(RESTART_COUNT, "0"))
        except ValueError:
            return 0

    @property
    def hash(self) -> str:
        """The kubelet's container hash it was created with."""
        return self.labels.get(CONTAINER_HASH, "")

    @property
    def kind(self) -> str:
        """``init``, ``sidecar`` or ``regular``: fastpod's own label, else the kubelet's
        ``io.kubernetes.container.type`` (``init``; a sidecar is an ``init`` there too)."""
        kind = self.labels.get(CONTAINER_KIND)
        if kind is not None:
            return kind
        return "init" if self.labels.get(CONTAINER_TYPE) == "init" else "regular"


class ForeignPod(msgspec.Struct, frozen=True):
    """A pod another agent (a kubelet) left on the runtime: its sandboxes without fastpod's
    label, and every container with its UID."""

    uid: str
    name: str
    namespace: str
    source: str
    """Its ``kubernetes.io/config.source``: ``file`` or ``http`` for a static pod, ``api``
    for one from the API server; ``""`` when its sandbox does not say."""
    sandboxes: list[SandboxInfo]
    containers: list[ContainerInfo]

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return f"{self.namespace}/{self.name}"


class RuntimeEvent(NamedTuple):
    """Something happened to a pod's containers (``pod_uid``), or anything may have (None)."""

    pod_uid: str | None
    reason: str


class ListedObject(NamedTuple):
    """A sandbox or container as a relist of the node shows it: what one worker's relist
    tells the worker owning its pod."""

    id: str
    sandbox_id: str
    """The container's sandbox; empty for a sandbox."""
    pod_key: str
    """``namespace/name`` from the kubelet's labels: which worker owns it."""
    pod_uid: str
    state: int
    """The runtime's own state code."""
    managed: bool
    """It carries fastpod's label (else it is another agent's, perhaps adopted)."""


@runtime_checkable
class SharedRelist(Protocol):
    """A runtime whose node is relisted to see what it does not report (a CRI runtime):
    one worker can list the node for every worker, which then asks the runtime nothing."""

    def lead_relist(self, publish: Callable[[list[ListedObject]], list[ListedObject]]) -> None:
        """List the node for every worker: ``publish`` sends each listing to the other
        workers and returns this worker's part of it."""

    def follow_relist(self, mine: Callable[[ListedObject], bool]) -> None:
        """Take the relists the leading worker sends; list alone only when none come, and
        then keep only what is ``mine`` (the part the leader would have sent)."""

    def relisted(self, objects: list[ListedObject]) -> None:
        """The leading worker's latest relist: this worker's part of it."""


class Runtime(Protocol):
    """What fastpod asks of a container runtime; every call may raise :class:`RuntimeCallError`."""

    @property
    def name(self) -> str:
        """The runtime's name as the kubelet has it: the scheme of the ``containerID`` in a
        pod's status (``docker``, ``containerd``: ``containerd://<id>``)."""
        ...

    async def ping(self, timeout: float) -> None:
        """Ask, cheaply, whether the runtime answers and can run pods (Docker's ``/_ping``,
        the CRI's ``Status``). Raises :class:`RuntimeUnavailable` when no answer comes
        within ``timeout`` seconds, :class:`RuntimeCallError` saying why it cannot run pods."""
        ...

    async def version(self) -> str:
        """The runtime's version (Docker's ``/version``, the CRI's ``Version``), for the
        Node's ``containerRuntimeVersion``, which the kubelet writes ``<name>://<version>``."""
        ...

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        """Create and start the sandbox holding the pod's namespaces, with the pod-level
        ``security``, and the hostname and ``resolv.conf`` ``sandbox`` says (shared by every
        container of the pod; without it, what the pod alone says:
        :func:`~fastpod.runtime.sandbox.pod_own_sandbox`); its id."""
        ...

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        """Stop a sandbox (its containers are stopped first by the caller)."""
        ...

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        """Remove a stopped sandbox."""
        ...

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        """Create a container in a sandbox; its id."""
        ...

    async def start_container(self, container_id: str) -> None:
        """Start a created container."""
        ...

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        """SIGTERM (or the image's stop signal), then SIGKILL after ``grace_period`` seconds."""
        ...

    async def remove_container(self, container_id: str) -> None:
        """Remove a stopped container."""
        ...

    async def list_pod_sandboxes(self, pod_uid: str | None = None) -> list[SandboxInfo]:
        """The sandboxes fastpod manages (its own and those of the pods it adopted), of one
        pod if ``pod_uid`` is given."""
        ...

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        """The containers fastpod manages (its own and those of the pods it adopted), of one
        pod if ``pod_uid`` is given."""
        ...

    async def list_foreign_pods(self) -> list[ForeignPod]:
        """The pods another agent left: sandboxes with the kubelet's pod labels and without
        fastpod's, grouped by pod UID with every container of that UID (the pods adopted
        with :meth:`adopt` among them)."""
        ...

    def adopt(self, pod: ForeignPod) -> None:
        """Count the pod's sandboxes and containers, and any later ones with its UID, as
        fastpod's from now on, whatever their labels: listings, events and every call on
        them. No runtime call: the pod as :meth:`list_foreign_pods` gave it says its ids."""
        ...

    async def container_config(self, container_id: str) -> CreatedContainer | None:
        """What the container was created with; None when the runtime does not say."""
        ...

    async def sandbox_namespaces(self, sandbox_id: str) -> Namespaces | None:
        """Whose network, PID and IPC namespaces the sandbox's pod uses (the PID mode of
        its containers is each container's own); None when the runtime does not say."""
        ...

    async def image_defaults(self, image: str) -> ImageDefaults | None:
        """The image's ID and defaults; None when it is not on the node."""
        ...

    async def image_present(self, image: str) -> bool:
        """Whether the image is on the node."""
        ...

    async def image_user(self, image: str) -> ImageUser:
        """Whom the image runs as, from its config (``USER``); :class:`ImageMissing` when
        the image is not on the node."""
        ...

    async def pull_image(self, image: str) -> None:
        """Pull the image; raises :class:`RuntimeCallError` naming why it failed."""
        ...

    async def container_log_path(self, container_id: str) -> str | None:
        """Where the runtime writes the container's output, if it is a file."""
        ...

    async def reopen_container_log(self, container_id: str) -> None:
        """Have the runtime write the container's output to a new file at its log path
        (the CRI's ``ReopenContainerLog``), once the old one was renamed away: how the
        kubelet rotates a CRI runtime's logs. Raises :class:`RuntimeCallError` when the
        runtime cannot (the container does not run; Docker, which rotates its own)."""
        ...

    async def exec_sync(
        self, container_id: str, command: Sequence[str], timeout: float
    ) -> ExecResult:
        """Run ``command`` in a running container and wait for it to end (the CRI's
        ``ExecSync``), for exec probes and exec lifecycle hooks. Raises :class:`ExecTimeout`
        once ``timeout`` seconds have passed (0: no limit, as the kubelet runs hooks), and
        :class:`RuntimeCallError` when the container does not exist or does not run."""
        ...

    async def sandbox_ips(self, sandbox_id: str) -> tuple[str, ...]:
        """The addresses the runtime gave a pod-network sandbox, its primary one first
        (the CRI's ``PodSandboxStatus`` network, cri-dockerd's reading of the pause
        container); none when it gave it none. Decided on by
        :func:`~fastpod.runtime.addresses.pod_ips`."""
        ...

    async def network_namespace(self, sandbox_id: str) -> str:
        """The path of a running sandbox's network namespace (``/proc/<pid>/ns/net`` of its
        process), where the network probes of a pod-network pod must run; ``""`` when the
        runtime has none to enter (the fake). Raises :class:`RuntimeCallError` when the
        sandbox does not run."""
        ...

    def events(self) -> AsyncIterator[RuntimeEvent]:
        """Container starts and deaths as they happen; ``RuntimeEvent(None, ...)`` after the
        stream was lost and found again, when anything may have happened meanwhile."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
