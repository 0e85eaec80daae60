"""A sandbox's hostname as the kubelet makes it: ``hostname`` or the pod's name cut to 63
characters, the ``subdomain``'s domain, ``setHostnameAsFQDN``, none under hostNetwork."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.model import Pod
from fastpod.runtime.dns import DnsConfig
from fastpod.runtime.sandbox import (
    SandboxError,
    SandboxSpec,
    kernel_hostname,
    pod_hostname_and_domain,
    sandbox_spec,
)
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

DNS = DnsConfig(("10.96.0.10",))


def pod(name: str = "web", **spec: Any) -> Pod:
    return decoded(pod_manifest(name, extra_spec=spec), FILE)


def test_a_pod_network_sandbox_is_named_after_the_pod() -> None:
    assert sandbox_spec(pod(), DNS, "cluster.local") == SandboxSpec("web-node1", DNS)


def test_a_host_network_sandbox_keeps_the_nodes_hostname() -> None:
    assert sandbox_spec(pod(hostNetwork=True, hostname="web"), DNS, "") == SandboxSpec(None, DNS)


def test_spec_hostname_replaces_the_pods_name() -> None:
    assert pod_hostname_and_domain(pod(hostname="api"), "cluster.local") == ("api", "")


def test_a_long_name_is_cut_to_63_characters_without_a_trailing_dash_or_dot() -> None:
    """``truncatePodHostnameIfNeeded``: 63 characters, then ``-`` and ``.`` stripped."""
    name = "a" * 60 + "-b.c"  # "<60 a>-b.c-node1": the 63rd character is "."
    hostname, _ = pod_hostname_and_domain(pod(name), "")
    assert hostname == "a" * 60 + "-b"


def test_a_subdomain_gives_the_pod_a_domain_under_its_namespace() -> None:
    assert pod_hostname_and_domain(pod(hostname="web", subdomain="sub"), "cluster.local") == (
        "web",
        "sub.default.svc.cluster.local",
    )
    # without a cluster domain, as the kubelet writes it
    assert pod_hostname_and_domain(pod(subdomain="sub"), "")[1] == "sub.default.svc."


def test_set_hostname_as_fqdn_makes_the_kernel_hostname_the_whole_name() -> None:
    fqdn = pod(hostname="web", subdomain="sub", setHostnameAsFQDN=True)
    assert sandbox_spec(fqdn, DNS, "cluster.local").hostname == "web.sub.default.svc.cluster.local"
    without_domain = pod(hostname="web", setHostnameAsFQDN=True)
    assert sandbox_spec(without_domain, DNS, "cluster.local").hostname == "web"


def test_an_fqdn_over_64_characters_cannot_be_the_kernel_hostname() -> None:
    with pytest.raises(SandboxError) as error:
        kernel_hostname("a" * 30, "b" * 34, True)
    assert str(error.value) == (
        f"failed to construct FQDN from pod hostname and cluster domain, FQDN "
        f"{'a' * 30}.{'b' * 34} is too long (64 characters is the max, 65 characters requested)"
    )
    assert kernel_hostname("a" * 30, "b" * 33, True) == f"{'a' * 30}.{'b' * 33}"
