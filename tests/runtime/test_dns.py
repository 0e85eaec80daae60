"""A pod's resolver configuration, rule by rule as the kubelet's ``GetPodDNS`` forms it:
the node's file as read, each ``dnsPolicy``, the ``dnsConfig`` merge, the limits."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.dns import (
    DnsConfig,
    DnsWarning,
    NodeDns,
    ResolvConfError,
    parse_resolv_conf,
    pod_dns,
)
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

NODE_FILE = DnsConfig(("192.0.2.53", "192.0.2.54"), ("corp.example",), ("edns0", "ndots:2"))
CLUSTER = NodeDns(("10.96.0.10",), "cluster.local", NODE_FILE, "192.0.2.1")
NO_CLUSTER_DNS = NodeDns((), "cluster.local", NODE_FILE, "192.0.2.1")


def pod(**spec: Any) -> Pod:
    return decoded(pod_manifest("web", namespace="kube-system", extra_spec=spec), FILE)


def test_the_node_file_is_read_as_the_kubelet_reads_it() -> None:
    """Every nameserver; the last search and options lines win; comments and unknown lines
    skipped; trailing dots dropped from search paths."""
    text = (
        "# generated\n"
        "nameserver 192.0.2.53\n"
        "search old.example\n"
        "  nameserver   192.0.2.54  # second\n"
        "domain ignored.example\n"
        "options rotate\n"
        "search corp.example. svc.example\n"
        "options edns0 ndots:2\n"
        "#nameserver 192.0.2.99\n"
    )
    assert parse_resolv_conf(text) == DnsConfig(
        ("192.0.2.53", "192.0.2.54"), ("corp.example", "svc.example"), ("edns0", "ndots:2")
    )


def test_a_nameserver_line_without_an_address_makes_the_file_unusable() -> None:
    with pytest.raises(ResolvConfError, match="nameserver list is empty"):
        parse_resolv_conf("nameserver 192.0.2.53\nnameserver\n")


def test_cluster_first_uses_the_cluster_servers_and_searches_before_the_nodes() -> None:
    formed = pod_dns(pod(), CLUSTER)
    assert formed.config == DnsConfig(
        ("10.96.0.10",),
        ("kube-system.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"),
        ("ndots:5",),
    )
    assert formed.warnings == ()


def test_cluster_first_without_a_cluster_domain_keeps_the_nodes_searches() -> None:
    node = NodeDns(("10.96.0.10",), "", NODE_FILE, "192.0.2.1")
    assert pod_dns(pod(), node).config.searches == ("corp.example",)


def test_cluster_first_without_cluster_dns_falls_back_to_the_node_with_a_warning() -> None:
    formed = pod_dns(pod(), NO_CLUSTER_DNS)
    assert formed.config == NODE_FILE
    (warning,) = formed.warnings
    assert warning.reason == "MissingClusterDNS"
    uid = pod().metadata.uid
    assert warning.message == (
        f'pod: "web-node1_kube-system({uid})". kubelet does not have ClusterDNS IP '
        'configured and cannot create Pod using "ClusterFirst" policy. Falling back to '
        '"Default" policy.'
    )


def test_cluster_first_under_host_network_is_default() -> None:
    formed = pod_dns(pod(hostNetwork=True), CLUSTER)
    assert formed == pod_dns(pod(dnsPolicy="Default"), CLUSTER)
    assert formed.config == NODE_FILE
    assert formed.warnings == ()


def test_cluster_first_with_host_net_uses_the_cluster_dns_under_host_network() -> None:
    formed = pod_dns(pod(hostNetwork=True, dnsPolicy="ClusterFirstWithHostNet"), CLUSTER)
    assert formed.config.servers == ("10.96.0.10",)


@pytest.mark.parametrize(
    ("node_ip", "server"), [("192.0.2.1", "127.0.0.1"), ("2001:db8::1", "::1"), ("", "127.0.0.1")]
)
def test_default_without_a_node_file_points_at_loopback_and_searches_nothing(
    node_ip: str, server: str
) -> None:
    """``resolvConf: ""``: the kubelet turns lookups off, on the node's address family."""
    formed = pod_dns(pod(dnsPolicy="Default"), NodeDns((), "cluster.local", None, node_ip))
    assert formed.config == DnsConfig((server,), (".",))


def test_cluster_first_without_a_node_file_still_searches_the_cluster() -> None:
    formed = pod_dns(pod(), NodeDns(("10.96.0.10",), "cluster.local", None, "192.0.2.1"))
    assert formed.config.searches == (
        "kube-system.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
    )


def test_none_is_only_what_the_pod_says() -> None:
    config = {
        "nameservers": ["1.1.1.1"],
        "searches": ["example.com"],
        "options": [{"name": "ndots", "value": "1"}, {"name": "edns0"}],
    }
    formed = pod_dns(pod(dnsPolicy="None", dnsConfig=config), CLUSTER)
    assert formed.config == DnsConfig(("1.1.1.1",), ("example.com",), ("ndots:1", "edns0"))


def test_dns_config_is_appended_without_duplicates_and_its_options_win_by_name() -> None:
    config = {
        "nameservers": ["10.96.0.10", "1.1.1.1"],
        "searches": ["cluster.local", "example.com"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "single-request"}],
    }
    formed = pod_dns(pod(dnsConfig=config), CLUSTER)
    assert formed.config == DnsConfig(
        ("10.96.0.10", "1.1.1.1"),
        (
            "kube-system.svc.cluster.local",
            "svc.cluster.local",
            "cluster.local",
            "corp.example",
            "example.com",
        ),
        ("ndots:2", "single-request"),
    )


def test_merging_options_drops_a_value_that_is_empty() -> None:
    formed = pod_dns(pod(dnsConfig={"options": [{"name": "edns0", "value": ""}]}), NO_CLUSTER_DNS)
    assert formed.config.options == ("edns0", "ndots:2")


def test_more_than_three_nameservers_are_cut_with_the_kubelets_warning() -> None:
    config = {"nameservers": ["1.1.1.1", "1.0.0.1"]}
    formed = pod_dns(pod(dnsPolicy="Default", dnsConfig=config), NO_CLUSTER_DNS)
    assert formed.config.servers == ("192.0.2.53", "192.0.2.54", "1.1.1.1")
    assert formed.warnings == (
        DnsWarning(
            "DNSConfigForming",
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied "
            "nameserver line is: 192.0.2.53 192.0.2.54 1.1.1.1",
        ),
    )


def test_more_than_32_search_paths_are_cut_to_32() -> None:
    searches = tuple(f"s{n}.example" for n in range(40))
    node = NodeDns((), "", DnsConfig(("192.0.2.53",), searches), "")
    formed = pod_dns(pod(dnsPolicy="Default"), node)
    assert formed.config.searches == searches[:32]
    (warning,) = formed.warnings
    assert warning.reason == "DNSConfigForming"
    assert warning.message.endswith(f"the applied search line is: {' '.join(searches[:32])}")


def test_a_search_path_longer_than_253_characters_is_dropped() -> None:
    """glibc aborts on one: the kubelet leaves it out and keeps the rest."""
    long_path = "a" * 254
    node = NodeDns((), "", DnsConfig(("192.0.2.53",), ("one.example", long_path, "two")), "")
    formed = pod_dns(pod(dnsPolicy="Default"), node)
    assert formed.config.searches == ("one.example", "two")
    assert formed.warnings[0].reason == "DNSConfigForming"


def test_a_search_line_over_2048_characters_loses_its_last_paths() -> None:
    searches = tuple(f"{'x' * 90}.s{n}" for n in range(30))  # 93-94 characters each
    node = NodeDns((), "", DnsConfig(("192.0.2.53",), searches), "")
    kept = pod_dns(pod(dnsPolicy="Default"), node).config.searches
    assert len(" ".join(kept)) <= 2048 < len(" ".join(searches[: len(kept) + 1]))
    assert kept == searches[: len(kept)]


def test_the_resolv_conf_is_written_as_cri_dockerd_writes_it() -> None:
    assert DnsConfig(
        ("10.96.0.10", "fd00::10"), ("a.example", "b"), ("ndots:5",)
    ).resolv_conf() == (
        b"nameserver 10.96.0.10\nnameserver fd00::10\nsearch a.example b\noptions ndots:5\n"
    )
    assert DnsConfig(("127.0.0.1",)).resolv_conf() == b"nameserver 127.0.0.1\n"
    assert DnsConfig().resolv_conf() == b""
