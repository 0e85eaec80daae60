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

from fastpod.model import Container, Pod, SeccompProfile

ProfileKind = Literal["RuntimeDefault", "Unconfined", "Localhost"]

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"
"""The old seccomp annotations (before the ``seccompProfile`` field, Kubernetes 1.19):
``container.seccomp.security.alpha.kubernetes.io/<container>`` and the pod's."""

_LOCALHOST_PREFIX = "localhost/"
_RUNTIME_DEFAULT_NAMES = frozenset({"runtime/default", "docker/default"})

DEFAULT_ROOT_DIR = "/var/lib/fastpod"


class Profile(msgspec.Struct, frozen=True):
    """A seccomp (or AppArmor) profile as the runtime is to apply it: the runtime's own
    default, none, or one of the node's (``localhost``: a seccomp profile's file)."""

    kind: ProfileKind
    localhost: str = ""


UNCONFINED = Profile("Unconfined")
RUNTIME_DEFAULT = Profile("RuntimeDefault")


class NodeSecurity(msgspec.Struct, frozen=True):
    """What the node decides a pod's security with: its settings and its host's facts."""

    seccomp_default: bool = False
    """``seccompDefault`` (``--seccomp-default``): a pod naming no seccomp profile runs
    under the runtime's default one, not unconfined."""
    seccomp_root: str = os.path.join(DEFAULT_ROOT_DIR, "seccomp")
    """Where ``Localhost`` seccomp profiles are (the kubelet's ``<root-dir>/seccomp``)."""


class SandboxSecurity(msgspec.Struct, frozen=True):
    """The pod-level security of a pod's sandbox (the kubelet's
    ``LinuxSandboxSecurityContext``)."""

    seccomp: Profile = UNCONFINED


DEFAULT_SANDBOX = SandboxSecurity()


def sandbox_security(pod: Pod, node: NodeSecurity) -> SandboxSecurity:
    """The security of ``pod``'s sandbox: the pod's own settings, no container's."""
    return SandboxSecurity(seccomp=seccomp_profile(pod, None, node))


DEFAULT_NODE = NodeSecurity()


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
