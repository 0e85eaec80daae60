"""What a container was created with and what its image gives it, as a runtime keeps them.

Taking over the kubelet's pods (:mod:`fastpod.takeover`) compares what runs with what
fastpod would run; these are the runtime's half, read back from it
(:meth:`Runtime.container_config <fastpod.runtime.base.Runtime.container_config>`,
:meth:`~fastpod.runtime.base.Runtime.sandbox_namespaces`,
:meth:`~fastpod.runtime.base.Runtime.image_defaults`). A runtime may keep a container's
configuration as asked (containerd's verbose ``ContainerStatus`` holds the CRI
``ContainerConfig`` the kubelet sent) or merged with its image's (Docker fills in the
image's entrypoint, command, environment, user and working directory); the comparison
fills in the image's defaults on both sides, so either reads the same. Whose namespaces a
pod's containers share is read back too, and worked out from the pod
(:func:`pod_namespaces`) for fastpod's own sandboxes on every runtime.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from fastpod.model import Pod
from fastpod.runtime.spec import Mount

NamespaceMode = Literal["node", "pod", "container"]
"""The CRI's ``NamespaceMode``: the host's namespace, the pod's (its sandbox's), or the
container's own."""


class Namespaces(msgspec.Struct, frozen=True):
    """Whose network, PID and IPC namespaces a pod's containers are in."""

    network: NamespaceMode
    pid: NamespaceMode
    ipc: NamespaceMode


def pod_namespaces(pod: Pod) -> Namespaces:
    """The namespaces fastpod gives the pod's containers (as the kubelet's
    ``namespacesForPod``)."""
    spec = pod.spec
    pid: NamespaceMode = (
        "node" if spec.host_pid else "pod" if spec.share_process_namespace else "container"
    )
    return Namespaces(
        network="node" if spec.host_network else "pod",
        pid=pid,
        ipc="node" if spec.host_ipc else "pod",
    )


class ImageDefaults(msgspec.Struct, frozen=True):
    """An image on the node: its ID and what a container of it gets unless told otherwise."""

    id: str
    """``sha256:...``: the ID the kubelet creates containers with (its ``imageRef``)."""
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: dict[str, str] = msgspec.field(default_factory=dict)
    user: str = ""
    working_dir: str = ""


class CreatedContainer(msgspec.Struct, frozen=True):
    """A container's configuration as the runtime keeps it."""

    image_id: str
    """The image it runs, by ID (``sha256:...``)."""
    command: list[str] | None
    """Its entrypoint; None when none was given (or, on Docker, the image has none)."""
    args: list[str] | None
    env: dict[str, str]
    working_dir: str
    mounts: list[Mount]
    """Host paths bound into it (bind mounts only: not a runtime's own volumes)."""
    privileged: bool
    capabilities_add: tuple[str, ...]
    capabilities_drop: tuple[str, ...]
    user: str
    """``uid``, ``uid:gid`` or a name, as the runtime runs it; ``""`` when not set."""
    read_only_root: bool
    no_new_privileges: bool
    pid: NamespaceMode
    """Whose PID namespace it is in (the sandbox's: ``shareProcessNamespace``)."""


def env_mapping(entries: list[str] | None) -> dict[str, str]:
    """A ``NAME=value`` list (Docker's and the OCI image config's) as a mapping, a later
    entry winning as in a process's environment."""
    found = {}
    for entry in entries or ():
        name, _, value = entry.partition("=")
        found[name] = value
    return found
