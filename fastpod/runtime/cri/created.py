"""What a CRI runtime keeps of a container, an image and a sandbox, for taking pods over.

containerd's verbose ``ContainerStatus`` holds, under ``info``, the CRI ``ContainerConfig``
the container was created with, as JSON (``config``: ``command``, ``args``, ``envs``,
``mounts``, ``linux.security_context`` with the privileges and ``namespace_options``), and
its verbose ``ImageStatus`` the image's OCI config (``imageSpec.config``: ``Entrypoint``,
``Cmd``, ``Env``, ``User``, ``WorkingDir``). A sandbox's namespaces are in its plain
``PodSandboxStatus`` (``linux.namespaces.options``). A runtime whose verbose replies say
none of this (CRI-O words them otherwise) gives nothing to compare: its pods are replaced,
never adopted blindly.
"""

from __future__ import annotations

import json
from typing import Any

from cri_api.v1 import api_pb2 as cri

from fastpod.runtime.created import (
    CreatedContainer,
    ImageDefaults,
    NamespaceMode,
    Namespaces,
    env_mapping,
)
from fastpod.runtime.spec import Mount

_MODES: dict[int, NamespaceMode] = {
    cri.NamespaceMode.POD: "pod",
    cri.NamespaceMode.CONTAINER: "container",
    cri.NamespaceMode.NODE: "node",
}


def created_container(status: cri.ContainerStatus, info: dict[str, str]) -> CreatedContainer | None:
    """The ``ContainerConfig`` a verbose ``ContainerStatus`` holds (``info``), as what the
    container was created with; None when it holds none."""
    try:
        config = json.loads(info["info"])["config"]
    except (KeyError, ValueError, TypeError):
        return None
    if not isinstance(config, dict):
        return None
    linux = _mapping(_mapping(config.get("linux")).get("security_context"))
    capabilities = _mapping(linux.get("capabilities"))
    user = ""
    if linux.get("run_as_username"):
        user = str(linux["run_as_username"])
    elif "run_as_user" in linux:
        user = str(_mapping(linux["run_as_user"]).get("value", 0))
    if user and "run_as_group" in linux:
        user += f":{_mapping(linux['run_as_group']).get('value', 0)}"
    pid = _mapping(linux.get("namespace_options")).get("pid", cri.NamespaceMode.POD)
    return CreatedContainer(
        image_id=status.image_ref,
        command=_strings(config.get("command")),
        args=_strings(config.get("args")),
        env={str(e.get("key", "")): str(e.get("value", "")) for e in _list(config.get("envs"))},
        working_dir=str(config.get("working_dir") or ""),
        mounts=[
            Mount(
                str(m.get("host_path", "")),
                str(m.get("container_path", "")),
                bool(m.get("readonly")),
            )
            for m in _list(config.get("mounts"))
        ],
        privileged=bool(linux.get("privileged")),
        capabilities_add=tuple(_strings(capabilities.get("add_capabilities")) or ()),
        capabilities_drop=tuple(_strings(capabilities.get("drop_capabilities")) or ()),
        user=user,
        read_only_root=bool(linux.get("readonly_rootfs")),
        no_new_privileges=bool(linux.get("no_new_privs")),
        pid=_MODES.get(pid, "container"),
    )


def sandbox_namespaces(status: cri.PodSandboxStatus) -> Namespaces | None:
    """The namespaces a ``PodSandboxStatus`` names; None when it names none."""
    if not status.HasField("linux") or not status.linux.HasField("namespaces"):
        return None
    options = status.linux.namespaces.options
    return Namespaces(
        network=_MODES.get(options.network, "pod"),
        pid=_MODES.get(options.pid, "container"),
        ipc=_MODES.get(options.ipc, "pod"),
    )


def image_defaults(image: cri.Image, info: dict[str, str]) -> ImageDefaults:
    """An image's ID, and its defaults from a verbose ``ImageStatus`` (``info``) if it says."""
    try:
        config = _mapping(_mapping(json.loads(info["info"]).get("imageSpec")).get("config"))
    except (KeyError, ValueError, TypeError):
        config = {}
    return ImageDefaults(
        id=image.id,
        entrypoint=_strings(config.get("Entrypoint")),
        cmd=_strings(config.get("Cmd")),
        env=env_mapping(_strings(config.get("Env"))),
        user=str(config.get("User") or ""),
        working_dir=str(config.get("WorkingDir") or ""),
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str] | None:
    return [str(item) for item in value] if isinstance(value, list) else None
