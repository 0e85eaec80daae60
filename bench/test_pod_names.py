"""What a pod's names cost each time one starts: its sandbox's resolver configuration and
hostname (the node's ``resolv.conf`` read and parsed, ``GetPodDNS``, the hostname rules)
and one container's ``/etc/hosts`` written, beside a bare write of the same hosts file.

The pod is kube-apiserver as kubeadm writes it (hostNetwork: ``ClusterFirst`` is
``Default``, the node's ``/etc/hosts`` is read and copied) and the same pod on its own
network (``clusterDNS`` set: the cluster's servers and searches, the managed hosts file).
See README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from pytest_benchmark.fixture import BenchmarkFixture

from fastpod.config.settings import Config
from fastpod.manifest.decode import decode_pod
from fastpod.model import Pod, PodSource
from fastpod.runtime.dns import NodeDns, parse_resolv_conf, pod_dns
from fastpod.runtime.hosts import ETC_HOSTS, managed_hosts, node_hosts
from fastpod.runtime.sandbox import pod_hostname_and_domain, sandbox_spec
from fastpod.worker.events import PodEvents
from fastpod.worker.pod_network import PodNetwork
from fastpod.worker.settings import worker_settings
from tests.support.corpus import corpus_dir

MANIFEST = "zetaoss__zeta-linux/kube-apiserver.yaml"
SOURCE = PodSource("file", "/etc/kubernetes/manifests/kube-apiserver.yaml")
NODE = "node1"
NODE_RESOLVER = b"nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example\n"

HOST_GROUP = "names, hostNetwork: resolv.conf + hostname + /etc/hosts vs a bare write"
POD_GROUP = "names, pod network: resolv.conf + hostname + /etc/hosts vs a bare write"

Start = Callable[[], object]


def _pod(host_network: bool) -> Pod:
    document = yaml.safe_load((corpus_dir() / MANIFEST).read_bytes())
    document["spec"]["hostNetwork"] = host_network
    return decode_pod(json.dumps(document).encode(), SOURCE, NODE).pod


def _network(tmp_path: Path) -> PodNetwork:
    resolver = tmp_path / "resolv.conf"
    resolver.write_bytes(NODE_RESOLVER)
    config = Config(node_name=NODE, root_dir=str(tmp_path / "root"), resolv_conf=str(resolver))
    settings = replace(
        worker_settings(config, "192.0.2.1"),
        cluster_dns=("10.96.0.10",),
        cluster_domain="cluster.local",
    )
    return PodNetwork(settings, PodEvents())


def _start(network: PodNetwork, pod: Pod, ips: tuple[str, ...]) -> Start:
    """What fastpod does for the pod's names when it starts with one container."""
    key = f"{pod.metadata.namespace}/{pod.metadata.name}"

    def start() -> str:
        network.sandbox(key, pod)
        return network.write_hosts_file(pod, ips)

    return start


def _decisions(network: PodNetwork, pod: Pod, ips: tuple[str, ...]) -> Start:
    """The pure part alone (``runtime/dns.py``, ``sandbox.py``, ``hosts.py``), the node's
    files already read: what the I/O around it costs is the rest of the gap."""
    settings = network.settings
    node = NodeDns(
        settings.cluster_dns,
        settings.cluster_domain,
        parse_resolv_conf(NODE_RESOLVER.decode()),
        settings.host_ip,
    )
    node_file = Path(ETC_HOSTS).read_bytes()
    aliases = pod.spec.host_aliases or ()

    def decide() -> bytes:
        dns = pod_dns(pod, node).config
        sandbox_spec(pod, dns, settings.cluster_domain)
        if pod.spec.host_network:
            return node_hosts(node_file, aliases)
        hostname, domain = pod_hostname_and_domain(pod, settings.cluster_domain)
        return managed_hosts(ips, hostname, domain, aliases)

    return decide


def _bare_write(path: str) -> Start:
    """The floor: the same hosts file written, nothing worked out."""
    content = Path(path).read_bytes()

    def write() -> None:
        with open(path, "wb") as file:
            file.write(content)

    return write


@pytest.mark.parametrize(
    ("group", "host_network", "ips"),
    [(HOST_GROUP, True, ("192.0.2.1",)), (POD_GROUP, False, ("10.1.2.3",))],
    ids=["host-network", "pod-network"],
)
@pytest.mark.parametrize("role", ["subject", "stage", "floor"])
def test_pod_names_beside_a_bare_write(
    benchmark: BenchmarkFixture,
    tmp_path: Path,
    group: str,
    host_network: bool,
    ips: tuple[str, ...],
    role: str,
) -> None:
    pod = _pod(host_network)
    network = _network(tmp_path)
    start = _start(network, pod, ips)
    path = str(start())
    benchmark.group = group
    if role == "subject":
        benchmark.extra_info.update(
            role="subject", label="sandbox names + hosts file", target_ratio=2.0
        )
        benchmark(start)
    elif role == "stage":
        benchmark.extra_info.update(role="stage", label="the pure decisions")
        benchmark(_decisions(network, pod, ips))
    else:
        benchmark.extra_info.update(role="floor", label="bare write")
        benchmark(_bare_write(path))
    assert Path(path).read_bytes().startswith(b"# Kubernetes-managed hosts file")
