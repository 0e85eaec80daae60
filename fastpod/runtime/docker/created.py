"""What Docker keeps of a container, an image and a sandbox, read in the CRI's terms.

For taking over the kubelet's pods (:mod:`fastpod.takeover`): ``docker inspect`` of a
container made by cri-dockerd, of its pod's sandbox (the pause container), and of an
image. cri-dockerd creates a container from the CRI's ``ContainerConfig`` with the command
as ``Entrypoint``, the arguments as ``Cmd``, the environment as ``Env``, the mounts as bind
mounts, the privileges in ``HostConfig`` (``Privileged``, ``CapAdd``, ``CapDrop``,
``ReadonlyRootfs``, ``no-new-privileges`` in ``SecurityOpt``), ``User`` as ``uid[:gid]``,
and the PID namespace as ``PidMode`` (``host``, ``container:<sandbox>``); the sandbox
holds the network and IPC modes (``host`` under the host's) (``core/container_create.go``,
``core/security_context.go``, ``core/sandbox_helpers.go``). Docker merges the image's
entrypoint, command, environment, user and working directory into what it keeps; the
comparison fills the image's in on its side too, so that merge changes nothing.
"""

from __future__ import annotations

import msgspec

from fastpod.runtime.created import (
    CreatedContainer,
    ImageDefaults,
    NamespaceMode,
    Namespaces,
    env_mapping,
)
from fastpod.runtime.spec import Mount

HOST = "host"
"""Docker's namespace mode naming the host's namespace."""


class _Config(msgspec.Struct):
    Entrypoint: list[str] | None = None
    Cmd: list[str] | None = None
    Env: list[str] | None = None
    WorkingDir: str = ""
    User: str = ""


class _HostConfig(msgspec.Struct):
    NetworkMode: str = ""
    IpcMode: str = ""
    PidMode: str = ""
    Privileged: bool = False
    CapAdd: list[str] | None = None
    CapDrop: list[str] | None = None
    ReadonlyRootfs: bool = False
    SecurityOpt: list[str] | None = None


class _Mount(msgspec.Struct):
    Type: str = ""
    Source: str = ""
    Destination: str = ""
    RW: bool = True


class _Container(msgspec.Struct):
    Image: str = ""
    Config: _Config = msgspec.field(default_factory=_Config)
    HostConfig: _HostConfig = msgspec.field(default_factory=_HostConfig)
    Mounts: list[_Mount] | None = None


class _Image(msgspec.Struct):
    Id: str
    Config: _Config | None = None


_container = msgspec.json.Decoder(_Container)
_image = msgspec.json.Decoder(_Image)


def created_container(inspected: bytes) -> CreatedContainer:
    """A container's ``docker inspect`` as what it was created with."""
    item = _container.decode(inspected)
    config, host = item.Config, item.HostConfig
    pid: NamespaceMode = (
        "node"
        if host.PidMode == HOST
        else "pod"
        if host.PidMode.startswith("container:")
        else "container"
    )
    return CreatedContainer(
        image_id=item.Image,
        command=config.Entrypoint,
        args=config.Cmd,
        env=env_mapping(config.Env),
        working_dir=config.WorkingDir,
        mounts=[
            Mount(mount.Source, mount.Destination, not mount.RW)
            for mount in item.Mounts or ()
            if mount.Type == "bind"
        ],
        privileged=host.Privileged,
        capabilities_add=tuple(host.CapAdd or ()),
        capabilities_drop=tuple(host.CapDrop or ()),
        user=config.User,
        read_only_root=host.ReadonlyRootfs,
        no_new_privileges=any(
            option.partition("=")[0].partition(":")[0] == "no-new-privileges"
            and not option.endswith(("=false", ":false"))
            for option in host.SecurityOpt or ()
        ),
        pid=pid,
    )


def sandbox_namespaces(inspected: bytes) -> Namespaces:
    """A sandbox's (pause container's) ``docker inspect`` as its pod's namespaces."""
    host = _container.decode(inspected).HostConfig
    return Namespaces(
        network="node" if host.NetworkMode == HOST else "pod",
        pid="node" if host.PidMode == HOST else "container",
        ipc="node" if host.IpcMode == HOST else "pod",
    )


def image_defaults(inspected: bytes) -> ImageDefaults:
    """An image's ``docker inspect`` as its ID and defaults."""
    item = _image.decode(inspected)
    config = item.Config or _Config()
    return ImageDefaults(
        id=item.Id,
        entrypoint=config.Entrypoint,
        cmd=config.Cmd,
        env=env_mapping(config.Env),
        user=config.User,
        working_dir=config.WorkingDir,
    )
