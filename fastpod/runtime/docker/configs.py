"""A pod's sandbox and its containers as the Docker Engine's ``POST /containers/create``
bodies, as dockershim made them.

The sandbox is a pause container holding the pod's namespaces: network (the host's under
hostNetwork, else a namespace with loopback only), IPC and UTS, shared with every container
of the pod (``container:<sandbox>``), and PID when the pod shares it. The kubelet's labels
go on both, with dockershim's type label telling them apart. Not pure: a node's seccomp
profile is read here, as the Engine takes its JSON inline.
"""

from __future__ import annotations

import json
from typing import Any

from fastpod.model import Pod
from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.created import pod_namespaces
from fastpod.runtime.foreign import DOCKER_TYPE
from fastpod.runtime.labels import sandbox_labels
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import Profile, SandboxSecurity, SELinux
from fastpod.runtime.spec import ContainerSpec, Security

SANDBOX_TYPE = DOCKER_TYPE
"""dockershim's label telling sandboxes (``podsandbox``) from containers (``container``)."""

SANDBOX_ID = "io.fastpod.sandbox"
"""The sandbox a container was created in (Docker does not record it otherwise)."""


def sandbox_config(
    pod: Pod, image: str, security: SandboxSecurity, sandbox: SandboxSpec
) -> dict[str, Any]:
    """The pause container of ``pod``: its namespaces, security and hostname. The resolver
    configuration is written once it runs (Docker makes the file at the start)."""
    namespaces = pod_namespaces(pod)
    host_config: dict[str, Any] = {
        "NetworkMode": "host" if namespaces.network == "node" else "none",
        "IpcMode": "host" if namespaces.ipc == "node" else "shareable",
        "PidMode": "host" if namespaces.pid == "node" else "",
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
        "Image": image,
        "Labels": {**sandbox_labels(pod), SANDBOX_TYPE: "podsandbox"},
        "HostConfig": host_config,
    }
    if sandbox.hostname is not None:
        body["Hostname"] = sandbox.hostname
    return body


def container_config(
    sandbox_id: str, pod: Pod, spec: ContainerSpec, log_options: dict[str, str]
) -> dict[str, Any]:
    """A container joined to its sandbox's namespaces; ``log_options``, when any, those of
    the json-file driver (Docker rotates the file itself)."""
    share = f"container:{sandbox_id}"
    security, resources = spec.security, spec.resources
    pid = pod_namespaces(pod).pid
    host_config: dict[str, Any] = {
        "NetworkMode": share,
        "IpcMode": share,
        "PidMode": "host" if pid == "node" else share if pid == "pod" else "",
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
    if log_options:
        # json-file, whose files fastpod links and reads, rotated by Docker itself
        host_config["LogConfig"] = {"Type": "json-file", "Config": log_options}
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
    if security.user:
        body["User"] = security.user
    body["Labels"][SANDBOX_ID] = sandbox_id
    return body


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
