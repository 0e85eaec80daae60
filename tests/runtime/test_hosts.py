"""The ``/etc/hosts`` content the kubelet writes for a pod, byte for byte."""

from __future__ import annotations

from fastpod.model import HostAlias
from fastpod.runtime.hosts import alias_entries, managed_hosts, node_hosts

LOCALHOST = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def test_a_pod_network_pod_gets_localhost_and_its_ip_with_its_hostname() -> None:
    assert managed_hosts(["10.1.2.3"], "web", "", []) == (
        f"# Kubernetes-managed hosts file.\n{LOCALHOST}10.1.2.3\tweb\n".encode()
    )


def test_a_subdomain_puts_the_fqdn_before_the_short_name_on_each_ip() -> None:
    content = managed_hosts(["10.1.2.3", "fd00::3"], "web", "sub.default.svc.cluster.local", [])
    assert content.endswith(
        b"10.1.2.3\tweb.sub.default.svc.cluster.local\tweb\n"
        b"fd00::3\tweb.sub.default.svc.cluster.local\tweb\n"
    )


def test_host_aliases_follow_one_line_per_ip_their_names_tab_separated() -> None:
    aliases = [
        HostAlias(ip="192.0.2.7", hostnames=["db", "db.local"]),
        HostAlias(ip="192.0.2.8", hostnames=["cache"]),
    ]
    assert managed_hosts(["10.1.2.3"], "web", "", aliases).endswith(
        b"10.1.2.3\tweb\n"
        b"\n# Entries added by HostAliases.\n"
        b"192.0.2.7\tdb\tdb.local\n"
        b"192.0.2.8\tcache\n"
    )


def test_no_aliases_add_nothing() -> None:
    assert alias_entries([]) == b""


def test_a_host_network_pod_gets_the_nodes_file_as_it_is_then_its_aliases() -> None:
    node = b"127.0.0.1 localhost\n10.0.0.5 node1 # \xff not UTF-8\n"
    aliases = [HostAlias(ip="192.0.2.7", hostnames=["db"])]
    assert node_hosts(node, aliases) == (
        b"# Kubernetes-managed hosts file (host network).\n"
        + node
        + b"\n# Entries added by HostAliases.\n192.0.2.7\tdb\n"
    )
