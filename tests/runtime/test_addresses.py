"""A pod's addresses from its sandbox's, by the kubelet's rules (``determinePodSandboxIPs``,
``sortPodIPs``, the host network's address)."""

from __future__ import annotations

import pytest

from fastpod.runtime.addresses import LOOPBACK, dial_address, pod_ips, reported_ips


def test_the_cri_primary_address_comes_before_the_additional_ones() -> None:
    assert reported_ips("10.88.0.7", ["fd00::7"]) == ("10.88.0.7", "fd00::7")


def test_a_runtime_not_responsible_for_the_address_reports_none() -> None:
    assert reported_ips("", []) == ()


def test_one_unparseable_address_makes_the_whole_report_void() -> None:
    assert reported_ips("10.88.0.7", ["not-an-ip"]) == ()


@pytest.mark.parametrize(
    ("host_ip", "sandbox_ips", "expected"),
    [
        ("192.0.2.10", ["fd00::7", "10.88.0.7"], ("10.88.0.7", "fd00::7")),
        ("2001:db8::10", ["10.88.0.7", "fd00::7"], ("fd00::7", "10.88.0.7")),
        ("192.0.2.10", ["10.88.0.7", "10.88.0.8"], ("10.88.0.7",)),
        ("", ["fd00::7", "10.88.0.7"], ("10.88.0.7", "fd00::7")),
    ],
)
def test_a_pod_has_one_address_per_family_the_nodes_family_first(
    host_ip: str, sandbox_ips: list[str], expected: tuple[str, ...]
) -> None:
    assert pod_ips(False, sandbox_ips, host_ip) == expected


def test_a_host_network_pod_without_a_reported_address_has_the_nodes() -> None:
    assert pod_ips(True, (), "192.0.2.10") == ("192.0.2.10",)


def test_a_pod_network_pod_without_a_reported_address_has_none() -> None:
    """Docker's ``none`` network gives the pause container no address: no podIP, as
    cri-dockerd's ``getIPs`` then reports none to the kubelet."""
    assert pod_ips(False, (), "192.0.2.10") == ()


def test_probes_reach_a_pod_without_an_address_on_its_loopback() -> None:
    assert dial_address(()) == LOOPBACK
    assert dial_address(("10.88.0.7", "fd00::7")) == "10.88.0.7"
