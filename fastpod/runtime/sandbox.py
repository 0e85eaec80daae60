"""PURE: what a pod's sandbox needs from a runtime beyond the pod spec: its hostname and its
resolver configuration, worked out as the kubelet's ``generatePodSandboxConfig`` does.

The hostname (``GeneratePodHostNameAndDomain``, ``pkg/kubelet/kubelet_pods.go``) is
``spec.hostname`` or the pod's name, cut to 63 characters without a trailing ``-`` or
``.``; a ``subdomain`` gives the pod the domain ``<subdomain>.<namespace>.svc.<domain>``,
and ``setHostnameAsFQDN`` makes the kernel's hostname the whole name
(``GetNodenameForKernel``), which must fit its 64 characters. A hostNetwork sandbox has the
node's hostname: the kubelet sets none.
"""

from __future__ import annotations

import msgspec

from fastpod.manifest.names import DNS1123_LABEL_MAX
from fastpod.model import Pod
from fastpod.runtime.dns import DnsConfig

MAX_KERNEL_HOSTNAME = 64
"""The kernel's ``nodename`` holds 64 characters (the kubelet's ``fqdnMaxLen``)."""


class SandboxError(Exception):
    """The pod's sandbox cannot be configured; the message says why, as the kubelet's."""


class SandboxSpec(msgspec.Struct, frozen=True):
    """Everything a runtime needs to create a pod's sandbox that the pod spec alone does
    not say."""

    hostname: str | None
    """The kernel hostname of the pod's containers; None under hostNetwork (the node's)."""
    dns: DnsConfig
    """The sandbox's ``resolv.conf``, which every container of the pod shares."""


def pod_hostname_and_domain(pod: Pod, cluster_domain: str) -> tuple[str, str]:
    """The pod's short hostname, and its domain (``""`` without a ``subdomain``)."""
    spec, metadata = pod.spec, pod.metadata
    hostname = spec.hostname or metadata.name or ""
    if len(hostname) > DNS1123_LABEL_MAX:
        hostname = hostname[:DNS1123_LABEL_MAX].rstrip("-.")
    domain = ""
    if spec.subdomain:
        # as the kubelet writes it, even with no cluster domain (then it ends with ".svc.")
        domain = f"{spec.subdomain}.{metadata.namespace}.svc.{cluster_domain}"
    return hostname, domain


def kernel_hostname(hostname: str, domain: str, as_fqdn: bool) -> str:
    """The name the pod's kernel namespace gets: the FQDN under ``setHostnameAsFQDN`` (with
    a domain), else the short name. Raises :class:`SandboxError` when the FQDN is too long."""
    if not (domain and as_fqdn):
        return hostname
    fqdn = f"{hostname}.{domain}"
    if len(fqdn) > MAX_KERNEL_HOSTNAME:
        raise SandboxError(
            "failed to construct FQDN from pod hostname and cluster domain, FQDN "
            f"{fqdn} is too long ({MAX_KERNEL_HOSTNAME} characters is the max, "
            f"{len(fqdn)} characters requested)"
        )
    return fqdn


def sandbox_spec(pod: Pod, dns: DnsConfig, cluster_domain: str) -> SandboxSpec:
    """The sandbox of ``pod``, whose resolver configuration is ``dns``
    (:func:`~fastpod.runtime.dns.pod_dns`)."""
    if pod.spec.host_network:
        return SandboxSpec(None, dns)
    hostname, domain = pod_hostname_and_domain(pod, cluster_domain)
    return SandboxSpec(kernel_hostname(hostname, domain, bool(pod.spec.set_hostname_as_fqdn)), dns)


def pod_own_sandbox(pod: Pod) -> SandboxSpec:
    """The sandbox ``pod`` alone describes, without the node's DNS settings: its short
    hostname, and no resolver configuration (the runtime's own: the node's file)."""
    hostname = None if pod.spec.host_network else pod_hostname_and_domain(pod, "")[0]
    return SandboxSpec(hostname, DnsConfig())
