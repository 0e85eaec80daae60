"""PURE: a pod's resolver configuration, as the kubelet's ``GetPodDNS`` forms it.

The kubelet (``pkg/kubelet/network/dns/dns.go``) starts from the node's resolver file
(``resolvConf``, ``/etc/resolv.conf``; none when it is ``""``), then by ``dnsPolicy``:

- ``ClusterFirst`` (``ClusterFirstWithHostNet`` for hostNetwork pods): the ``clusterDNS``
  servers alone, the search paths ``<namespace>.svc.<domain>``, ``svc.<domain>``,
  ``<domain>`` before the node's, and ``ndots:5``. Without ``clusterDNS`` it falls back to
  ``Default``, with its ``MissingClusterDNS`` warning. ``ClusterFirst`` under hostNetwork
  is ``Default``.
- ``Default``: the node's file as it is; with no file, ``127.0.0.1`` (``::1`` on an IPv6
  node) and the search path ``.``, which turns lookups off.
- ``None``: nothing but what ``dnsConfig`` says.

``dnsConfig`` is then merged in (servers and searches appended without duplicates, options
by name, the pod's winning), and the result cut to the resolver's limits (3 servers, 32
search paths of at most 253 characters, 2,048 characters in all), each cut a
``DNSConfigForming`` warning. The runtime writes it as the sandbox's ``resolv.conf``.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

import msgspec

from fastpod.manifest.names import DNS1123_SUBDOMAIN_MAX
from fastpod.manifest.validation import (
    MAX_DNS_NAMESERVERS,
    MAX_DNS_SEARCH_LIST_CHARS,
    MAX_DNS_SEARCH_PATHS,
)
from fastpod.model import Pod, PodDNSConfig, PodDNSConfigOption

DEFAULT_OPTIONS = ("ndots:5",)
"""The kubelet's options for a ``ClusterFirst`` pod (``defaultDNSOptions``)."""

MAX_RESOLV_CONF_BYTES = 10 << 20
"""The most of the node's resolver file read (the kubelet's ``maxResolveConfLength``)."""


class DnsConfig(msgspec.Struct, frozen=True):
    """A resolver configuration: the CRI's ``DNSConfig``."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def resolv_conf(self) -> bytes:
        """The ``resolv.conf`` holding it, as cri-dockerd writes it over Docker's
        (``rewriteResolvFile``): nameservers, the search line, the options line."""
        lines = [f"nameserver {server}" for server in self.servers]
        if self.searches:
            lines.append(f"search {' '.join(self.searches)}")
        if self.options:
            lines.append(f"options {' '.join(self.options)}")
        return "".join(f"{line}\n" for line in lines).encode()


class DnsWarning(NamedTuple):
    """What the kubelet says as a warning event on the pod while forming its config."""

    reason: str
    message: str


class NodeDns(msgspec.Struct, frozen=True):
    """What the node's settings give every pod's resolver configuration."""

    cluster_dns: tuple[str, ...] = ()
    """``clusterDNS``: the cluster's DNS servers."""
    cluster_domain: str = ""
    """``clusterDomain``: the cluster's domain, ``""`` for none."""
    resolver: DnsConfig | None = None
    """The node's resolver file as read; None when ``resolvConf`` is ``""``."""
    node_ip: str = ""
    """The node's address: its family chooses the loopback server when there is no file."""


class PodDns(msgspec.Struct, frozen=True):
    """A pod's resolver configuration, and the warnings forming it gave."""

    config: DnsConfig
    warnings: tuple[DnsWarning, ...] = ()


class ResolvConfError(ValueError):
    """The node's resolver file cannot be used; the message says why, as the kubelet's."""


def parse_resolv_conf(text: str) -> DnsConfig:
    """The node's resolver file as the kubelet reads it (``parseResolvConf``): every
    ``nameserver``, the last ``search`` line (trailing dots dropped), the last ``options``
    line; comments and other lines skipped. A ``nameserver`` line without an address is a
    :class:`ResolvConfError`, as it fails every pod's sandbox on a kubelet."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    empty_nameservers = 0
    for line in text.split("\n"):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        keyword, values = fields[0], fields[1:]
        if keyword == "nameserver":
            if values:
                servers.append(values[0])
            else:
                empty_nameservers += 1
        elif keyword == "search":
            searches = [search.removesuffix(".") for search in values]
        elif keyword == "options":
            options = values
    if empty_nameservers:
        raise ResolvConfError("nameserver list is empty")
    return DnsConfig(tuple(servers), tuple(searches), tuple(options))


def pod_dns(pod: Pod, node: NodeDns) -> PodDns:
    """The resolver configuration of ``pod``'s sandbox on this node (``GetPodDNS``)."""
    spec = pod.spec
    warnings: list[DnsWarning] = []
    config = node.resolver or DnsConfig()
    policy = spec.dns_policy or "ClusterFirst"
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.host_network
    )
    if policy == "None":
        config = DnsConfig()
    elif cluster and node.cluster_dns:
        config = DnsConfig(
            node.cluster_dns, _cluster_searches(pod, node.cluster_domain, config), DEFAULT_OPTIONS
        )
    else:
        if cluster:
            warnings.append(_missing_cluster_dns(pod))
        if node.resolver is None:
            # no resolver file: lookups go nowhere, as the kubelet makes them
            config = DnsConfig((_loopback(node.node_ip),), (".",))
    if spec.dns_config is not None:
        config = _merged(config, spec.dns_config)
    servers = _fit_servers(config.servers, warnings)
    searches = _fit_searches(config.searches, warnings)
    return PodDns(DnsConfig(servers, searches, config.options), tuple(warnings))


def _cluster_searches(pod: Pod, domain: str, node: DnsConfig) -> tuple[str, ...]:
    """``generateSearchesForDNSClusterFirst``: the cluster's paths before the node's."""
    if not domain:
        return node.searches
    namespace = pod.metadata.namespace or "default"
    return _unique((f"{namespace}.svc.{domain}", f"svc.{domain}", domain, *node.searches))


def _missing_cluster_dns(pod: Pod) -> DnsWarning:
    metadata = pod.metadata
    return DnsWarning(
        "MissingClusterDNS",
        f'pod: "{metadata.name}_{metadata.namespace}({metadata.uid})". kubelet does not have '
        'ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. '
        'Falling back to "Default" policy.',
    )


def _loopback(node_ip: str) -> str:
    try:
        ipv6 = ipaddress.ip_address(node_ip).version == 6
    except ValueError:
        ipv6 = False
    return "::1" if ipv6 else "127.0.0.1"


def _merged(config: DnsConfig, pod: PodDNSConfig) -> DnsConfig:
    """``appendDNSConfig``: the pod's servers and searches after the base's, without
    duplicates; its options merged by name."""
    return DnsConfig(
        _unique((*config.servers, *(pod.nameservers or ()))),
        _unique((*config.searches, *(pod.searches or ()))),
        _merged_options(config.options, pod.options or ()),
    )


def _merged_options(
    base: tuple[str, ...], pod: list[PodDNSConfigOption] | tuple[()]
) -> tuple[str, ...]:
    """``mergeDNSOptions``: one option per name, the pod's value over the base's. (The
    kubelet goes through a Go map, so its order varies from one sandbox to the next; here
    the first appearance of each name keeps its place.)"""
    values: dict[str, str] = {}
    for option in base:
        name, _, value = option.partition(":")
        values[name] = value
    for item in pod:
        values[item.name or ""] = item.value or ""
    return tuple(f"{name}:{value}" if value else name for name, value in values.items())


def _fit_servers(servers: tuple[str, ...], warnings: list[DnsWarning]) -> tuple[str, ...]:
    """``formDNSNameserversFitsLimits``: the first three."""
    if len(servers) <= MAX_DNS_NAMESERVERS:
        return servers
    kept = servers[:MAX_DNS_NAMESERVERS]
    warnings.append(
        DnsWarning(
            "DNSConfigForming",
            "Nameserver limits were exceeded, some nameservers have been omitted, the "
            f"applied nameserver line is: {' '.join(kept)}",
        )
    )
    return kept


def _fit_searches(searches: tuple[str, ...], warnings: list[DnsWarning]) -> tuple[str, ...]:
    """``formDNSSearchFitsLimits``: the first 32 paths, without those longer than 253
    characters (glibc aborts on them), then the last ones cut until the line fits."""
    kept = [
        search for search in searches[:MAX_DNS_SEARCH_PATHS] if len(search) <= DNS1123_SUBDOMAIN_MAX
    ]
    exceeded = len(kept) < len(searches)
    length = len(" ".join(kept))
    while kept and length > MAX_DNS_SEARCH_LIST_CHARS:
        length -= len(kept.pop()) + 1
        exceeded = True
    if exceeded:
        warnings.append(
            DnsWarning(
                "DNSConfigForming",
                "Search Line limits were exceeded, some search paths have been omitted, the "
                f"applied search line is: {' '.join(kept)}",
            )
        )
    return tuple(kept)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
