"""PURE: the ``/etc/hosts`` the kubelet gives every container of a pod.

The kubelet writes it to ``<root-dir>/pods/<uid>/etc-hosts`` before each container starts
and mounts it at ``/etc/hosts`` (``pkg/kubelet/kubelet_pods.go``: ``makeHostsMount``,
``ensureHostsFile``), unless the container mounts something there itself or the pod has no
IP yet. A pod-network pod gets a managed file (``managedHostsFileContent``): localhost
lines, each pod IP with the pod's hostname (and its FQDN under a ``subdomain``), then the
``hostAliases``; a hostNetwork pod gets the node's own ``/etc/hosts`` with the aliases
after it (``nodeHostsFileContent``).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastpod.model import HostAlias

ETC_HOSTS = "/etc/hosts"
"""Where the file is mounted in each container."""

HOSTS_FILE_NAME = "etc-hosts"
"""Its name in the pod's directory (the kubelet's ``getEtcHostsPath``)."""

MANAGED_HEADER = b"# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = b"# Kubernetes-managed hosts file (host network).\n"

_LOCALHOST = (
    b"127.0.0.1\tlocalhost\n"
    b"::1\tlocalhost ip6-localhost ip6-loopback\n"
    b"fe00::0\tip6-localnet\n"
    b"fe00::0\tip6-mcastprefix\n"
    b"fe00::1\tip6-allnodes\n"
    b"fe00::2\tip6-allrouters\n"
)


def managed_hosts(
    pod_ips: Sequence[str], hostname: str, domain: str, aliases: Sequence[HostAlias]
) -> bytes:
    """A pod-network pod's file: localhost, each of its IPs with its names, its aliases."""
    if domain:
        entries = [f"{ip}\t{hostname}.{domain}\t{hostname}\n" for ip in pod_ips]
    else:
        entries = [f"{ip}\t{hostname}\n" for ip in pod_ips]
    return MANAGED_HEADER + _LOCALHOST + "".join(entries).encode() + alias_entries(aliases)


def node_hosts(node_file: bytes, aliases: Sequence[HostAlias]) -> bytes:
    """A hostNetwork pod's file: the node's ``/etc/hosts`` as it is, then its aliases."""
    return HOST_NETWORK_HEADER + node_file + alias_entries(aliases)


def alias_entries(aliases: Sequence[HostAlias]) -> bytes:
    """``hostsEntriesFromHostAliases``: a comment, then one line per alias, its names
    separated by tabs; nothing without aliases."""
    if not aliases:
        return b""
    lines = [f"{alias.ip or ''}\t" + "\t".join(alias.hostnames or ()) + "\n" for alias in aliases]
    return ("\n# Entries added by HostAliases.\n" + "".join(lines)).encode()
