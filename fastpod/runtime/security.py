"""PURE: the effective security of a pod's sandbox and containers, as the kubelet works it out.

The kubelet resolves each setting from the container's ``securityContext``, then the pod's,
then the old annotations (``kuberuntime/helpers.go`` ``getSeccompProfile``), and falls back
to what the node says (``seccompDefault``). What it resolves is runtime-neutral here
(:class:`Profile`); the Docker and CRI runtimes each map it to their own options.

The node's side (its config and the facts read from the host once, at start) comes in as
:class:`NodeSecurity`, so every decision stays a pure function of the pod and the node.
"""

from __future__ import annotations

import os
from typing import Literal

import msgspec

from fastpod.model import AppArmorProfile, Container, Pod, SeccompProfile, SELinuxOptions

ProfileKind = Literal["RuntimeDefault", "Unconfined", "Localhost"]

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
"""The old seccomp annotations (before the ``seccompProfile`` field, Kubernetes 1.19):
``container.seccomp.security.alpha.kubernetes.io/<container>`` and the pod's."""

APPARMOR_CONTAINER_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
"""The old AppArmor annotation of a container (before the ``appArmorProfile`` field, 1.30)."""

_LOCALHOST_PREFIX = "localhost/"
_RUNTIME_DEFAULT_NAMES = frozenset({"runtime/default", "docker/default"})

DEFAULT_ROOT_DIR = "/var/lib/fastpod"

SANDBOX_OOM_SCORE_ADJ = -998
"""The kubelet's adjustment of a pod's sandbox (``PodInfraOOMAdj``)."""


class Profile(msgspec.Struct, frozen=True):
    """A seccomp or AppArmor profile as the runtime is to apply it: the runtime's own
    default, none, or one of the node's (``localhost``: a seccomp profile's file, an
    AppArmor profile's name)."""

    kind: ProfileKind
    localhost: str = ""


class SELinux(msgspec.Struct, frozen=True):
    """An SELinux label's parts; an empty one is left to the runtime."""

    user: str = ""
    role: str = ""
    type: str = ""
    level: str = ""


UNCONFINED = Profile("Unconfined")
RUNTIME_DEFAULT = Profile("RuntimeDefault")


class HostFacts(msgspec.Struct, frozen=True):
    """What the host is, read once when a worker starts (:mod:`fastpod.runtime.host`)."""

    kernel_version: tuple[int, ...] = ()
    """The kernel's release as numbers (``6.1.0`` → ``(6, 1, 0)``); empty when unknown."""
    apparmor_enabled: bool = False
    """The host enforces AppArmor (``/sys/module/apparmor/parameters/enabled`` says ``Y``)."""
    memory_capacity: int = 0
    """The node's memory in bytes (``MemTotal``), which a Burstable container's OOM score
    adjustment is a share of; 0 when unknown."""
    oom_score_adj_floor: int | None = None
    """The lowest OOM score adjustment a container can be given here: None when fastpod
    may lower scores (it has ``CAP_SYS_RESOURCE``, as the runtimes it drives have), else
    its own, below which an unprivileged process cannot go."""


DEFAULT_HOST = HostFacts()


class NodeSecurity(msgspec.Struct, frozen=True):
    """What the node decides a pod's security with: its settings and its host's facts."""

    seccomp_default: bool = False
    """``seccompDefault`` (``--seccomp-default``): a pod naming no seccomp profile runs
    under the runtime's default one, not unconfined."""
    seccomp_root: str = os.path.join(DEFAULT_ROOT_DIR, "seccomp")
    """Where ``Localhost`` seccomp profiles are (the kubelet's ``<root-dir>/seccomp``)."""
    allowed_unsafe_sysctls: tuple[str, ...] = ()
    """``allowedUnsafeSysctls`` (``--allowed-unsafe-sysctls``): sysctls, or prefixes
    ending in ``*``, a pod may set beyond the safe ones."""
    host: HostFacts = DEFAULT_HOST


class SandboxSecurity(msgspec.Struct, frozen=True):
    """The pod-level security of a pod's sandbox (the kubelet's
    ``LinuxSandboxSecurityContext``)."""

    seccomp: Profile = UNCONFINED
    selinux: SELinux | None = None
    sysctls: tuple[tuple[str, str], ...] = ()
    """Set in the pod's namespaces, names written with dots."""
    supplemental_groups: tuple[int, ...] = ()
    oom_score_adj: int | None = None
    """The sandbox's process's (where the runtime takes it from fastpod: Docker)."""


DEFAULT_SANDBOX = SandboxSecurity()


def sandbox_security(pod: Pod, node: NodeSecurity) -> SandboxSecurity:
    """The security of ``pod``'s sandbox: the pod's own settings, no container's."""
    context = pod.spec.security_context
    return SandboxSecurity(
        seccomp=seccomp_profile(pod, None, node),
        selinux=_selinux(context.se_linux_options) if context is not None else None,
        sysctls=tuple(
            (dotted(sysctl.name or ""), sysctl.value or "")
            for sysctl in (context.sysctls if context is not None else None) or ()
        ),
        supplemental_groups=supplemental_groups(pod),
        oom_score_adj=_sandbox_oom_score_adj(node.host.oom_score_adj_floor),
    )


DEFAULT_NODE = NodeSecurity()


def _sandbox_oom_score_adj(floor: int | None) -> int:
    """The kubelet's sandbox adjustment, as far as the host allows it."""
    return SANDBOX_OOM_SCORE_ADJ if floor is None else max(SANDBOX_OOM_SCORE_ADJ, floor)


def seccomp_profile(pod: Pod, container: Container | None, node: NodeSecurity) -> Profile:
    """The seccomp profile of ``container``, or of the pod's sandbox when None.

    The kubelet's order (``getSeccompProfile``, with the annotations it read until 1.26):
    the container's field, the container's annotation, the pod's field, the pod's
    annotation; then ``RuntimeDefault`` under ``seccompDefault``, else ``Unconfined``.
    A ``Localhost`` profile is a file under the node's seccomp root.
    """
    annotations = pod.metadata.annotations or {}
    if container is not None:
        context = container.security_context
        if context is not None and context.seccomp_profile is not None:
            return _field_profile(context.seccomp_profile, node)
        named = annotations.get(SECCOMP_CONTAINER_ANNOTATION + (container.name or ""))
        if named:
            return _annotation_profile(named, node)
    pod_context = pod.spec.security_context
    if pod_context is not None and pod_context.seccomp_profile is not None:
        return _field_profile(pod_context.seccomp_profile, node)
    named = annotations.get(SECCOMP_POD_ANNOTATION)
    if named:
        return _annotation_profile(named, node)
    return RUNTIME_DEFAULT if node.seccomp_default else UNCONFINED


def _field_profile(field: SeccompProfile, node: NodeSecurity) -> Profile:
    if field.type == "RuntimeDefault":
        return RUNTIME_DEFAULT
    if field.type == "Localhost":
        # validation makes sure a Localhost profile names its file
        return Profile("Localhost", os.path.join(node.seccomp_root, field.localhost_profile or ""))
    return UNCONFINED


def _annotation_profile(value: str, node: NodeSecurity) -> Profile:
    if value.startswith(_LOCALHOST_PREFIX):
        return Profile(
            "Localhost", os.path.join(node.seccomp_root, value.removeprefix(_LOCALHOST_PREFIX))
        )
    if value in _RUNTIME_DEFAULT_NAMES:
        return RUNTIME_DEFAULT
    return UNCONFINED


def apparmor_profile(pod: Pod, container: Container) -> Profile | None:
    """The AppArmor profile of ``container`` (``GetProfile``): its field, its annotation
    (``runtime/default``, ``unconfined``, ``localhost/<name>``), the pod's field; None
    leaves the runtime's default."""
    context = container.security_context
    if context is not None and context.app_armor_profile is not None:
        return _apparmor_field(context.app_armor_profile)
    named = (pod.metadata.annotations or {}).get(
        APPARMOR_CONTAINER_ANNOTATION + (container.name or "")
    )
    if named is not None:
        if named == "runtime/default":
            return RUNTIME_DEFAULT
        if named == "unconfined":
            return UNCONFINED
        if named.startswith(_LOCALHOST_PREFIX):
            return Profile("Localhost", named.removeprefix(_LOCALHOST_PREFIX))
    pod_context = pod.spec.security_context
    if pod_context is not None and pod_context.app_armor_profile is not None:
        return _apparmor_field(pod_context.app_armor_profile)
    return None


def _apparmor_field(field: AppArmorProfile) -> Profile:
    if field.type == "Localhost":
        return Profile("Localhost", field.localhost_profile or "")
    return RUNTIME_DEFAULT if field.type == "RuntimeDefault" else UNCONFINED


def selinux_options(pod: Pod, container: Container) -> SELinux | None:
    """The container's SELinux label: its own options as a whole, else the pod's
    (``DetermineEffectiveSecurityContext``)."""
    context = container.security_context
    if context is not None and context.se_linux_options is not None:
        return _selinux(context.se_linux_options)
    pod_context = pod.spec.security_context
    if pod_context is not None and pod_context.se_linux_options is not None:
        return _selinux(pod_context.se_linux_options)
    return None


def _selinux(options: SELinuxOptions | None) -> SELinux | None:
    if options is None:
        return None
    return SELinux(
        user=options.user or "",
        role=options.role or "",
        type=options.type or "",
        level=options.level or "",
    )


def dotted(name: str) -> str:
    """A sysctl's name with dots between its parts (``ConvertSysctlVariableToDotsSeparator``):
    a name whose first separator is a slash has its slashes and dots swapped."""
    for character in name:
        if character == ".":
            return name
        if character == "/":
            return name.translate(_SWAP)
    return name


_SWAP = str.maketrans("./", "/.")


class ImageUser(msgspec.Struct, frozen=True):
    """Whom an image runs as (its config's ``USER``): a uid, or a name that is not one;
    neither (no ``USER``) is root."""

    uid: int | None = None
    username: str = ""


def supplemental_groups(pod: Pod) -> tuple[int, ...]:
    """The groups every process of the pod gets beyond its own: ``fsGroup`` first, then
    ``supplementalGroups``, as the kubelet lists them."""
    context = pod.spec.security_context
    if context is None:
        return ()
    fs_group = () if context.fs_group is None else (context.fs_group,)
    return (*fs_group, *(context.supplemental_groups or ()))


def needs_image_user(pod: Pod, container: Container) -> bool:
    """Whether running ``container`` depends on its image's user: it must not run as root
    and no ``runAsUser`` says whom it runs as."""
    run_as_non_root, run_as_user = _non_root_settings(pod, container)
    return bool(run_as_non_root) and run_as_user is None


def run_as_non_root_problem(pod: Pod, container: Container, image: ImageUser) -> str | None:
    """Why ``container`` may not run as ``runAsNonRoot`` asks, in the kubelet's words
    (``verifyRunAsNonRoot``); None when it may."""
    run_as_non_root, run_as_user = _non_root_settings(pod, container)
    if not run_as_non_root:
        return None
    metadata = pod.metadata
    pod_name = f"{metadata.name}_{metadata.namespace}({metadata.uid})"
    where = f'(pod: "{pod_name}", container: {container.name})'
    if run_as_user is not None:
        return None if run_as_user != 0 else f"container's runAsUser breaks non-root policy {where}"
    if image.uid is None and image.username:
        return (
            f"container has runAsNonRoot and image has non-numeric user ({image.username}), "
            f"cannot verify user is non-root {where}"
        )
    if not image.uid:
        return f"container has runAsNonRoot and image will run as root {where}"
    if not 0 <= image.uid <= MAX_USER_ID:
        return (
            f"container has runAsNonRoot and image has an invalid user id ({image.uid}). "
            f"(Must be 1-({MAX_USER_ID})): must be between 0 and {MAX_USER_ID}, inclusive "
            f"{where}"
        )
    return None


MAX_USER_ID = 2**31 - 1


def _non_root_settings(pod: Pod, container: Container) -> tuple[bool | None, int | None]:
    """The effective ``runAsNonRoot`` and ``runAsUser``: the container's over the pod's."""
    context, pod_context = container.security_context, pod.spec.security_context
    run_as_non_root = context.run_as_non_root if context is not None else None
    run_as_user = context.run_as_user if context is not None else None
    if pod_context is not None:
        if run_as_non_root is None:
            run_as_non_root = pod_context.run_as_non_root
        if run_as_user is None:
            run_as_user = pod_context.run_as_user
    return run_as_non_root, run_as_user
