"""PURE: what a container of a pod needs from a runtime, worked out from the pod spec.

Runtime-neutral (the Docker runtime maps it to the Engine API, the CRI runtime to a
ContainerConfig): the command line with Kubernetes ``$(VAR)`` expansion, the environment
with the downward API values a node can give (:mod:`fastpod.runtime.environment`), mounts,
resources (:mod:`fastpod.runtime.resources`), security, the kubelet's labels and
annotations, and what those carry as strings (restart count, grace period) as
typed fields, so no adapter parses a label back. What a pod asks for that fastpod cannot
honour is named by :mod:`fastpod.manifest.not_honoured`, so it is reported instead of
silently dropped.
"""

from __future__ import annotations

import functools
import json
import os

import msgspec

from fastpod.model import (
    Container,
    ContainerPort,
    Lifecycle,
    LifecycleHandler,
    Pod,
)
from fastpod.runtime.environment import environment, expand
from fastpod.runtime.hosts import ETC_HOSTS
from fastpod.runtime.labels import container_labels
from fastpod.runtime.oom import allowed, container_oom_score_adj
from fastpod.runtime.resources import Resources, resources
from fastpod.runtime.security import (
    DEFAULT_NODE,
    UNCONFINED,
    NodeSecurity,
    Profile,
    SELinux,
    apparmor_profile,
    seccomp_profile,
    selinux_options,
    supplemental_groups,
)
from fastpod.runtime.volume_layout import volume_host_path, volume_is_projected

CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_MESSAGE_PATH = "io.kubernetes.container.terminationMessagePath"
TERMINATION_MESSAGE_POLICY = "io.kubernetes.container.terminationMessagePolicy"
TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
PRE_STOP_HANDLER = "io.kubernetes.container.preStopHandler"
CONTAINER_PORTS = "io.kubernetes.container.ports"
CONTAINER_KIND = "io.fastpod.container.kind"
"""``init``, ``sidecar`` or ``regular``: how the lifecycle treats a container it finds."""


class Mount(msgspec.Struct, frozen=True):
    """A host path bound into the container."""

    host_path: str
    container_path: str
    read_only: bool = False


class Security(msgspec.Struct, frozen=True):
    """The container's identity and privileges."""

    privileged: bool = False
    run_as_user: int | None = None
    run_as_group: int | None = None
    """Only with ``run_as_user``: a group alone is not set (the CRI refuses it)."""
    capabilities_add: tuple[str, ...] = ()
    capabilities_drop: tuple[str, ...] = ()
    read_only_root: bool = False
    no_new_privileges: bool = False
    seccomp: Profile = UNCONFINED
    apparmor: Profile | None = None
    """None: the runtime's default profile (where the host has AppArmor)."""
    selinux: SELinux | None = None
    unmasked_proc: bool = False
    """``procMount: Unmasked``: /proc without the runtime's masked and read-only paths."""
    supplemental_groups: tuple[int, ...] = ()
    """The pod's ``fsGroup`` and ``supplementalGroups``, beyond the user's own groups."""

    @property
    def user(self) -> str:
        """``uid`` or ``uid:gid``, as Docker's ``User`` takes it and a runtime's container
        reads back; ``""`` when no user is set."""
        if self.run_as_user is None:
            return ""
        if self.run_as_group is None:
            return str(self.run_as_user)
        return f"{self.run_as_user}:{self.run_as_group}"


class ContainerSpec(msgspec.Struct, frozen=True):
    """Everything a runtime needs to create one container of a pod."""

    name: str
    image: str
    entrypoint: list[str] | None
    arguments: list[str] | None
    env: dict[str, str]
    working_dir: str | None
    mounts: list[Mount]
    resources: Resources
    security: Security
    stdin: bool
    tty: bool
    restart_count: int
    """Which instance of the container this is: how many ran before it."""
    termination_grace_period: int
    """Seconds the container has to stop once asked (the pod's, 30 when it sets none)."""
    labels: dict[str, str]
    """The kubelet's container labels (``newContainerLabels``): the pod's identity, the
    container's name."""
    annotations: dict[str, str]
    """The kubelet's container annotations (``newContainerAnnotations``): hash, restart
    count, termination message and grace period, and fastpod's container kind."""

    @property
    def labels_and_annotations(self) -> dict[str, str]:
        """Both in one dict, as Docker keeps them and
        :class:`~fastpod.runtime.base.ContainerInfo` shows them."""
        return {**self.labels, **self.annotations}


class NodeAllocatable(msgspec.Struct, frozen=True):
    """What the node gives its pods, as the kubelet reports it with nothing reserved (its
    capacity less the default hard eviction thresholds); None where it is not known.

    A container limit a pod leaves unset reads as this in the downward API, as the kubelet's
    ``MergeContainerResourceLimits`` fills it in, and it bounds a memory volume's tmpfs.
    """

    cpu_millis: int | None = None
    memory: int | None = None
    """Bytes."""
    ephemeral_storage: int | None = None
    """Bytes."""


class PodContext(msgspec.Struct, frozen=True):
    """What the node knows of a pod that the spec does not say: addresses and directories."""

    host_ip: str
    pod_ip: str
    """The pod's first address (``pod_ips[0]``), ``""`` when it has none."""
    volumes_dir: str
    pod_ips: tuple[str, ...] = ()
    """The pod's addresses as its sandbox reported them
    (:func:`~fastpod.runtime.addresses.pod_ips`), the node's family first."""
    node: NodeSecurity = DEFAULT_NODE
    """The node's security settings and facts."""
    allocatable: NodeAllocatable = NodeAllocatable()
    """What the node gives its pods (:class:`NodeAllocatable`)."""


def container_hash(container: Container) -> str:
    """The kubelet's container hash (1.31+): FNV-32a over the name and the image only."""
    return _hash_of(container.name, container.image)


@functools.lru_cache(maxsize=4096)
def _hash_of(name: str | None, image: str | None) -> str:
    data = json.dumps({"name": name, "image": image}, separators=(",", ":"))
    value = 0x811C9DC5
    for byte in data.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return f"{value:x}"


def container_spec(
    pod: Pod,
    container: Container,
    restart_count: int,
    kind: str,
    context: PodContext,
    termination_message_file: str | None = None,
    hosts_file: str | None = None,
) -> ContainerSpec:
    """The runtime view of ``container``, ``restart_count`` restarts in.

    ``hosts_file`` is the pod's managed hosts file (:mod:`fastpod.runtime.hosts`), mounted
    at ``/etc/hosts`` after the container's volumes unless one of them is mounted there
    (the kubelet's ``makeMounts``); None when there is none (the host is not prepared, or
    the pod has no IP yet). ``termination_message_file`` is the host file made for this
    instance's termination message
    (:func:`~fastpod.runtime.termination.create_message_file`), mounted at the container's
    ``terminationMessagePath`` after those, as the kubelet adds it; None when there is none
    (the host is not prepared, or the file could not be made), as the kubelet then mounts
    nothing.
    """
    env = environment(pod, container, context)
    volume_mounts = mounts(pod, container, context)
    if hosts_file is not None and not any(
        mount.mount_path == ETC_HOSTS for mount in container.volume_mounts or ()
    ):
        volume_mounts.append(Mount(hosts_file, ETC_HOSTS))
    if termination_message_file is not None and container.termination_message_path:
        volume_mounts.append(Mount(termination_message_file, container.termination_message_path))
    grace_period = pod.spec.termination_grace_period_seconds or 30
    annotations = {
        CONTAINER_HASH: container_hash(container),
        RESTART_COUNT: str(restart_count),
        TERMINATION_MESSAGE_PATH: container.termination_message_path or "/dev/termination-log",
        TERMINATION_MESSAGE_POLICY: container.termination_message_policy or "File",
        TERMINATION_GRACE: str(grace_period),
        CONTAINER_KIND: kind,
    }
    # what stopping the container needs when its pod's spec is gone (the kubelet's
    # restoreSpecsFromContainerLabels): its preStop hook and the ports the hook may name
    if container.lifecycle is not None and container.lifecycle.pre_stop is not None:
        annotations[PRE_STOP_HANDLER] = msgspec.json.encode(container.lifecycle.pre_stop).decode()
    if container.ports:
        annotations[CONTAINER_PORTS] = msgspec.json.encode(container.ports).decode()
    return ContainerSpec(
        name=container.name or "",
        image=container.image or "",
        entrypoint=[expand(part, env) for part in container.command]
        if container.command is not None
        else None,
        arguments=[expand(part, env) for part in container.args]
        if container.args is not None
        else None,
        env=env,
        working_dir=container.working_dir,
        mounts=volume_mounts,
        resources=msgspec.structs.replace(
            resources(container), oom_score_adj=_oom_score_adj(pod, container, context.node)
        ),
        security=security(pod, container, context.node),
        stdin=bool(container.stdin),
        tty=bool(container.tty),
        restart_count=restart_count,
        termination_grace_period=grace_period,
        labels=container_labels(pod, container),
        annotations=annotations,
    )


def restored_container(name: str, annotations: dict[str, str]) -> Container:
    """The container as far as stopping it needs, from the annotations it was created with:
    its name, ports and preStop hook (``restoreSpecsFromContainerLabels``), for a container
    whose pod's spec is gone. What cannot be read back is left out, as the kubelet does."""
    pre_stop, ports = None, None
    try:
        if PRE_STOP_HANDLER in annotations:
            pre_stop = msgspec.json.decode(annotations[PRE_STOP_HANDLER], type=LifecycleHandler)
        if CONTAINER_PORTS in annotations:
            ports = msgspec.json.decode(annotations[CONTAINER_PORTS], type=list[ContainerPort])
    except msgspec.DecodeError:
        pass
    lifecycle = Lifecycle(pre_stop=pre_stop) if pre_stop is not None else None
    return Container(name=name, ports=ports, lifecycle=lifecycle)


def mounts(pod: Pod, container: Container, context: PodContext) -> list[Mount]:
    """Each volume mount as a host path: hostPath as given, the others under the pod's dir.

    A downwardAPI or projected volume is always read-only, as the kubelet mounts a volume
    whose plugin says so (``makeMounts``: ``mount.ReadOnly || mustMountRO``).
    """
    volumes = {volume.name: volume for volume in pod.spec.volumes or ()}
    found = []
    for mount in container.volume_mounts or ():
        volume = volumes.get(mount.name)
        if volume is None or not mount.mount_path:
            continue
        source = volume_host_path(volume, context.volumes_dir)
        if source is None:
            continue
        if mount.sub_path:
            source = os.path.join(source, mount.sub_path)
        read_only = bool(mount.read_only) or volume_is_projected(volume)
        found.append(Mount(source, mount.mount_path, read_only))
    return found


def _oom_score_adj(pod: Pod, container: Container, node: NodeSecurity) -> int:
    """The kubelet's adjustment for the container, as far as the host allows it."""
    adjust = container_oom_score_adj(pod, container, node.host.memory_capacity)
    return allowed(adjust, node.host.oom_score_adj_floor)


def security(pod: Pod, container: Container, node: NodeSecurity) -> Security:
    """User, privileges, capabilities and profiles; the container's settings over the
    pod's, the node's defaults under both."""
    pod_context = pod.spec.security_context
    context = container.security_context
    user = context.run_as_user if context and context.run_as_user is not None else None
    group = context.run_as_group if context and context.run_as_group is not None else None
    if pod_context is not None:
        user = pod_context.run_as_user if user is None else user
        group = pod_context.run_as_group if group is None else group
    capabilities = context.capabilities if context else None
    return Security(
        privileged=bool(context and context.privileged),
        run_as_user=user,
        run_as_group=group if user is not None else None,
        capabilities_add=tuple(capabilities.add or ()) if capabilities else (),
        capabilities_drop=tuple(capabilities.drop or ()) if capabilities else (),
        read_only_root=bool(context and context.read_only_root_filesystem),
        no_new_privileges=bool(context and context.allow_privilege_escalation is False),
        seccomp=seccomp_profile(pod, container, node),
        apparmor=apparmor_profile(pod, container),
        selinux=selinux_options(pod, container),
        unmasked_proc=bool(context and context.proc_mount == "Unmasked"),
        supplemental_groups=supplemental_groups(pod),
    )


def sandbox_name(pod: Pod, attempt: int) -> str:
    """A Docker-style name, as dockershim named sandboxes: readable, and unique per attempt."""
    metadata = pod.metadata
    return f"k8s_POD_{metadata.name}_{metadata.namespace}_{metadata.uid}_{attempt}"


def container_name(pod: Pod, container: str, restart_count: int) -> str:
    """``k8s_<container>_<pod>_<namespace>_<uid>_<restartCount>``, as dockershim named them."""
    metadata = pod.metadata
    return f"k8s_{container}_{metadata.name}_{metadata.namespace}_{metadata.uid}_{restart_count}"
