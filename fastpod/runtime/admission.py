"""PURE: whether the node admits a pod at all, as the kubelet's admit handlers decide.

A refused pod never starts: it ends ``Failed``, with the handler's reason and
``Pod was rejected: <message>`` (the kubelet's ``rejectPod``). The handlers here are the
kubelet's sysctl allowlist (``pkg/kubelet/sysctl``) and AppArmor's
(``lifecycle.NewAppArmorAdmitHandler``), and fastpod's own refusal of ``hostUsers: false``,
which neither runtime it drives can give a pod.
"""

from __future__ import annotations

import functools
import json
import re

import msgspec

from fastpod.model import Pod
from fastpod.runtime.security import (
    APPARMOR_CONTAINER_ANNOTATION,
    NodeSecurity,
    dotted,
)

SYSCTL_FORBIDDEN = "SysctlForbidden"
APPARMOR_NOT_ADMITTED = "AppArmor"
USER_NAMESPACES_NOT_SUPPORTED = "UserNamespacesNotSupported"

SAFE_SYSCTLS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("kernel.shm_rmid_forced", ()),
    ("net.ipv4.ip_local_port_range", ()),
    ("net.ipv4.tcp_syncookies", ()),
    ("net.ipv4.ping_group_range", ()),
    ("net.ipv4.ip_unprivileged_port_start", ()),
    ("net.ipv4.ip_local_reserved_ports", (3, 16)),
    ("net.ipv4.tcp_keepalive_time", (4, 5)),
    ("net.ipv4.tcp_fin_timeout", (4, 6)),
    ("net.ipv4.tcp_keepalive_intvl", (4, 5)),
    ("net.ipv4.tcp_keepalive_probes", (4, 5)),
    ("net.ipv4.tcp_rmem", ()),
    ("net.ipv4.tcp_wmem", ()),
)
"""The kubelet's safe sysctls (``safe_sysctls.go``), each with the kernel release that
namespaced it: a pod may set these without ``allowedUnsafeSysctls``. Where the release is
not known, the gated ones are left out, as the kubelet leaves them out."""

_NAMESPACE_OF = {"kernel.sem": "ipc"}
_NAMESPACE_OF_PREFIX = (
    ("kernel.shm", "ipc"),
    ("kernel.msg", "ipc"),
    ("fs.mqueue.", "ipc"),
    ("net.", "net"),
)

_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
_PATTERN = re.compile(rf"^({_SEGMENT}[./])*([a-z0-9][-_a-z0-9]*)?[a-z0-9*]$")
SYSCTL_MAX_LENGTH = 253


class Rejection(msgspec.Struct, frozen=True):
    """Why the node refuses a pod: the admit handler's reason and message."""

    reason: str
    message: str


def admit(pod: Pod, node: NodeSecurity) -> Rejection | None:
    """The first refusal of the pod by the node's admit handlers, in the kubelet's order;
    None when it may run."""
    return _sysctls(pod, node) or _apparmor(pod, node) or _user_namespace(pod)


def sysctl_namespace(name: str) -> str:
    """The kernel namespace a sysctl belongs to (``NamespacedBy``): ``ipc``, ``net``, or
    ``""`` when it is not known to be namespaced."""
    if name in _NAMESPACE_OF:
        return _NAMESPACE_OF[name]
    for prefix, namespace in _NAMESPACE_OF_PREFIX:
        if name.startswith(prefix):
            return namespace
    return ""


def sysctl_pattern_problem(pattern: str) -> str | None:
    """What is wrong with an ``allowedUnsafeSysctls`` entry (``NewAllowlist``), if
    anything: it must look like a sysctl (or a prefix ending in ``*``) of a namespace."""
    if len(pattern) > SYSCTL_MAX_LENGTH or not _PATTERN.match(pattern):
        return (
            f"sysctl {_quoted(pattern)} must have at most {SYSCTL_MAX_LENGTH} characters and "
            f"match regex {_PATTERN.pattern.strip('^$')}"
        )
    name = dotted(pattern)
    if not sysctl_namespace(name.removesuffix("*")):
        kind = "sysctls" if name.endswith("*") else "sysctl"
        return f"the {kind} {_quoted(name)} are not known to be namespaced"
    return None


def safe_sysctls(kernel_version: tuple[int, ...]) -> tuple[str, ...]:
    """The safe sysctls this kernel release namespaces (``SafeSysctlAllowlist``)."""
    return tuple(
        name
        for name, since in SAFE_SYSCTLS
        if not since or (kernel_version and kernel_version >= since)
    )


def _sysctls(pod: Pod, node: NodeSecurity) -> Rejection | None:
    """The kubelet's sysctl allowlist (``patternAllowlist.Admit``): each of the pod's
    sysctls is safe or allowed by the node, and none is in a namespace the pod shares
    with the host."""
    context = pod.spec.security_context
    if context is None or not context.sysctls:
        return None
    exact, prefixes = _allowlist(node.host.kernel_version, node.allowed_unsafe_sysctls)
    host = {"net": bool(pod.spec.host_network), "ipc": bool(pod.spec.host_ipc)}
    for sysctl in context.sysctls:
        name = dotted(sysctl.name or "")
        if name in exact or name.startswith(prefixes):
            namespace = sysctl_namespace(name)
            if host.get(namespace, False):
                problem = f"{_quoted(name)} not allowed with host {namespace} enabled"
            else:
                continue
        else:
            problem = f"{_quoted(name)} not allowlisted"
        return Rejection(SYSCTL_FORBIDDEN, f"forbidden sysctl: {problem}")
    return None


@functools.lru_cache(maxsize=8)
def _allowlist(
    kernel_version: tuple[int, ...], allowed_unsafe: tuple[str, ...]
) -> tuple[frozenset[str], tuple[str, ...]]:
    """The node's allowed sysctls (names) and prefixes, worked out once per node."""
    allowed = (*safe_sysctls(kernel_version), *allowed_unsafe)
    exact = frozenset(dotted(entry) for entry in allowed if not entry.endswith("*"))
    prefixes = tuple(dotted(entry)[:-1] for entry in allowed if entry.endswith("*"))
    return exact, prefixes


def _apparmor(pod: Pod, node: NodeSecurity) -> Rejection | None:
    """AppArmor's admit handler: a pod that asks for any profile but ``Unconfined`` needs
    a host that enforces AppArmor (``validator.Validate``)."""
    if node.host.apparmor_enabled or not _apparmor_required(pod):
        return None
    return Rejection(
        APPARMOR_NOT_ADMITTED, "Cannot enforce AppArmor: AppArmor is not enabled on the host"
    )


def _apparmor_required(pod: Pod) -> bool:
    """``isRequired``: a profile other than ``Unconfined`` in a field or an annotation."""
    contexts = [pod.spec.security_context]
    contexts += [
        c.security_context
        for c in [*(pod.spec.init_containers or ()), *(pod.spec.containers or ())]
    ]
    if any(
        context is not None
        and context.app_armor_profile is not None
        and context.app_armor_profile.type != "Unconfined"
        for context in contexts
    ):
        return True
    return any(
        key.startswith(APPARMOR_CONTAINER_ANNOTATION) and value != "unconfined"
        for key, value in (pod.metadata.annotations or {}).items()
    )


def _user_namespace(pod: Pod) -> Rejection | None:
    """``hostUsers: false`` asks for a user namespace of the pod's own: the kubelet of 1.32
    leaves that off by default (``UserNamespacesSupport``), Docker can only remap a whole
    daemon, containerd 1.6's CRI has no user namespaces: refused rather than run in the
    node's user namespace."""
    if pod.spec.host_users is not False:
        return None
    return Rejection(
        USER_NAMESPACES_NOT_SUPPORTED,
        "hostUsers: false needs a user namespace for the pod, which fastpod cannot give it "
        "on this runtime",
    )


def _quoted(text: str) -> str:
    """A string as Go's ``%q`` prints it."""
    return json.dumps(text, ensure_ascii=False)
