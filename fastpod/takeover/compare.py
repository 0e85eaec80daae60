"""PURE: whether a running container is the one fastpod would run, field by field.

Compared: the image (by ID: the kubelet creates containers from the image's ID, its
``imageRef``), the command line, the environment, the working directory, the volumes
mounted, the pod's network, PID and IPC namespaces, and the privileges (privileged,
capabilities, user and group, read-only root, no new privileges). Each side is taken as
the process sees it, the image's defaults filled in where the container does not say, as
the runtime fills them in: so a runtime that keeps what was asked (containerd) and one that
keeps it merged with the image (Docker) compare alike.

Not compared, because the node makes them for each container whoever runs it: the
``/etc/hosts`` file and the termination message file, both in the pod's own directory
(the kubelet's ``makeMounts``), and the environment variables of the cluster's services
the kubelet adds when it knows an API server (``KUBERNETES_SERVICE_HOST`` and the like,
its ``getServiceEnvVarMap``), which fastpod, without one, never sets. Nor are resources
and the OOM score (they change nothing of what the process is, and fastpod sets them as the
kubelet does), the seccomp, AppArmor and SELinux profiles, supplemental groups and sysctls:
a pod that differs only there is adopted as it runs.
"""

from __future__ import annotations

import json
import re

import msgspec

from fastpod.runtime.created import CreatedContainer, ImageDefaults, NamespaceMode, Namespaces
from fastpod.runtime.spec import TERMINATION_MESSAGE_PATH, ContainerSpec, Mount

ETC_HOSTS = "/etc/hosts"

SERVICE_LINK = re.compile(
    r"^[A-Z_][A-Z0-9_]*_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT(_[0-9]+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$"
)
"""The names of the variables the kubelet makes for each service (``envvars.FromServices``:
``<SVC>_SERVICE_HOST``, ``<SVC>_SERVICE_PORT[_<PORT>]``, ``<SVC>_PORT``,
``<SVC>_PORT_<n>_<PROTO>[_PROTO|_PORT|_ADDR]``)."""


class Effective(msgspec.Struct, frozen=True):
    """What a container's process is, its image's defaults filled in."""

    image_id: str
    argv: tuple[str, ...]
    env: dict[str, str]
    working_dir: str
    mounts: frozenset[tuple[str, str, bool]]
    """(host path, container path, read-only) of each volume mounted."""
    network: NamespaceMode
    pid: NamespaceMode
    ipc: NamespaceMode
    privileged: bool
    capabilities_add: tuple[str, ...]
    capabilities_drop: tuple[str, ...]
    user: str
    read_only_root: bool
    no_new_privileges: bool


def wanted(
    spec: ContainerSpec, namespaces: Namespaces, image: ImageDefaults, pod_uid: str
) -> Effective:
    """The process fastpod would run for ``spec``, from ``image``, in a pod with
    ``namespaces`` and UID ``pod_uid``."""
    security = spec.security
    return Effective(
        image_id=image.id,
        argv=_argv(spec.entrypoint, spec.arguments, image),
        env={**image.env, **spec.env},
        working_dir=spec.working_dir or image.working_dir,
        mounts=_volumes(spec.mounts, pod_uid, spec),
        network=namespaces.network,
        pid=namespaces.pid,
        ipc=namespaces.ipc,
        privileged=security.privileged,
        capabilities_add=_capabilities(security.capabilities_add),
        capabilities_drop=_capabilities(security.capabilities_drop),
        user=security.user or image.user,
        read_only_root=security.read_only_root,
        no_new_privileges=security.no_new_privileges,
    )


def running(
    created: CreatedContainer,
    sandbox: Namespaces,
    image: ImageDefaults,
    pod_uid: str,
    spec: ContainerSpec,
) -> Effective:
    """The process the runtime runs, from what it keeps of the container (``created``) and
    of its pod's sandbox; ``spec`` (the container fastpod would run) says which of its
    mounts are the node's own files."""
    return Effective(
        image_id=created.image_id,
        argv=_argv(created.command, created.args, image),
        env={**image.env, **created.env},
        working_dir=created.working_dir or image.working_dir,
        mounts=_volumes(created.mounts, pod_uid, spec),
        network=sandbox.network,
        pid=created.pid,
        ipc=sandbox.ipc,
        privileged=created.privileged,
        capabilities_add=_capabilities(created.capabilities_add),
        capabilities_drop=_capabilities(created.capabilities_drop),
        user=created.user or image.user,
        read_only_root=created.read_only_root,
        no_new_privileges=created.no_new_privileges,
    )


def differences(want: Effective, have: Effective) -> list[str]:
    """What differs between the process fastpod would run (``want``) and the one that runs
    (``have``), one sentence each; empty when they are the same."""
    if want.image_id != have.image_id:
        # another image: nothing else is worth saying
        return [f"image: runs {have.image_id}, the manifest's is {want.image_id}"]
    found = []
    for field in ("argv", "working_dir", "privileged", "user"):
        mine, theirs = getattr(want, field), getattr(have, field)
        if mine != theirs:
            found.append(
                f"{_FIELD_NAMES[field]}: runs {_shown(theirs)}, the manifest says {_shown(mine)}"
            )
    for field in ("network", "pid", "ipc"):
        mine, theirs = getattr(want, field), getattr(have, field)
        if mine != theirs:
            found.append(
                f"{_FIELD_NAMES[field]}: runs in {_OWNER[theirs]}, the manifest says {_OWNER[mine]}"
            )
    found.extend(_env_differences(want.env, have.env))
    for host, container, read_only in sorted(have.mounts - want.mounts):
        found.append(f"mount {container}: runs {_bind(host, read_only)}, not in the manifest")
    for host, container, read_only in sorted(want.mounts - have.mounts):
        found.append(f"mount {container}: the manifest mounts {_bind(host, read_only)}, none runs")
    for field in ("capabilities_add", "capabilities_drop", "read_only_root", "no_new_privileges"):
        mine, theirs = getattr(want, field), getattr(have, field)
        if mine != theirs:
            found.append(
                f"{_FIELD_NAMES[field]}: runs {_shown(theirs)}, the manifest says {_shown(mine)}"
            )
    return found


_FIELD_NAMES = {
    "argv": "command",
    "working_dir": "working directory",
    "network": "network namespace",
    "pid": "PID namespace",
    "ipc": "IPC namespace",
    "privileged": "privileged",
    "user": "user",
    "capabilities_add": "capabilities added",
    "capabilities_drop": "capabilities dropped",
    "read_only_root": "read-only root filesystem",
    "no_new_privileges": "no new privileges",
}


_OWNER = {"node": "the host's", "pod": "the pod's", "container": "its own"}


def _env_differences(want: dict[str, str], have: dict[str, str]) -> list[str]:
    found = []
    for name in sorted(want.keys() | have.keys()):
        mine, theirs = want.get(name), have.get(name)
        if mine == theirs or (mine is None and SERVICE_LINK.match(name)):
            continue
        if mine is None:
            found.append(f"env {name}: set in the running container, not in the manifest")
        elif theirs is None:
            found.append(f"env {name}: set by the manifest, not in the running container")
        else:
            found.append(f"env {name}: runs {theirs!r}, the manifest says {mine!r}")
    return found


def _argv(
    command: list[str] | None, args: list[str] | None, image: ImageDefaults
) -> tuple[str, ...]:
    """The process's command line as Kubernetes and the runtimes build it: a command given
    replaces the image's entrypoint and drops its command; arguments alone replace the
    image's command."""
    if command:
        return (*command, *(args or ()))
    return (*(image.entrypoint or ()), *(args or image.cmd or ()))


def _volumes(
    mounts: list[Mount], pod_uid: str, spec: ContainerSpec
) -> frozenset[tuple[str, str, bool]]:
    """The mounts, but the node's own files for the container: ``/etc/hosts`` and the
    termination message file, each in the pod's directory (``.../pods/<uid>/...``)."""
    own_files = {ETC_HOSTS, _termination_path(spec)}
    in_pod_dir = f"/pods/{pod_uid}/"
    return frozenset(
        (mount.host_path, mount.container_path, mount.read_only)
        for mount in mounts
        if not (mount.container_path in own_files and in_pod_dir in mount.host_path)
    )


def _termination_path(spec: ContainerSpec) -> str:
    return spec.annotations.get(TERMINATION_MESSAGE_PATH, "/dev/termination-log")


def _capabilities(names: tuple[str, ...]) -> tuple[str, ...]:
    """Sorted, without the ``CAP_`` prefix some write: the same set compares equal."""
    return tuple(sorted({name.upper().removeprefix("CAP_") for name in names}))


def _bind(host: str, read_only: bool) -> str:
    return f"{host} (read-only)" if read_only else host


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return json.dumps(list(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return repr(value) if isinstance(value, str) else str(value)
