"""DNS and hosts on every real runtime, end to end through ``fastpod run``: what a container
reads in its own ``/etc/resolv.conf`` and ``/etc/hosts`` and what ``hostname`` says, for
each ``dnsPolicy``, ``hostAliases``, ``hostname``/``subdomain``/``setHostnameAsFQDN`` and
hostNetwork pods.

Each test runs once per runtime (the ``engine`` fixture): on Docker the sandbox's
``resolv.conf`` is rewritten as cri-dockerd rewrites it, on containerd the CRI's
``DNSConfig`` has containerd write it; the hosts file is fastpod's, mounted in each container.
Everything is read from inside the containers (``docker exec``, the CRI's ``ExecSync``).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.support.engines import ContainerView, Engine, manifest, start, wait_until
from tests.support.pods import NODE
from tests.support.running import RunningFastpod

NODE_RESOLVER = """\
# the node's own resolver file, as fastpod is told to read it (--resolv-conf)
nameserver 192.0.2.53
nameserver 192.0.2.54
search corp.example lab.example.
options edns0 timeout:2
"""

CLUSTER = ("--cluster-dns", "10.96.0.10", "--cluster-domain", "cluster.local")
HOSTS_HEADER = "# Kubernetes-managed hosts file.\n"
HOST_NETWORK_HEADER = "# Kubernetes-managed hosts file (host network).\n"


@pytest.fixture
def resolver(tmp_path: Path) -> Path:
    path = tmp_path / "resolv.conf"
    path.write_text(NODE_RESOLVER)
    return path


def run_pods(
    engine: Engine, manifests: Path, tmp_path: Path, pods: dict[str, bytes], *flags: str
) -> RunningFastpod:
    """``fastpod run`` with ``flags`` on the manifests ``pods``, once each pod's container
    ``main`` runs."""
    for name, body in pods.items():
        (manifests / f"{name}.yaml").write_bytes(body)
    fastpod = start(engine, manifests, tmp_path, *flags)
    try:
        wait_until(lambda: all(engine.containers(name, "main", running_only=True) for name in pods))
    except BaseException:
        fastpod.stop()
        raise
    return fastpod


def main(engine: Engine, pod: str) -> ContainerView:
    (container,) = engine.containers(pod, "main", running_only=True)
    return container


def resolv_conf(engine: Engine, pod: str) -> str:
    return engine.exec(main(engine, pod), "cat", "/etc/resolv.conf")


def hosts(engine: Engine, pod: str) -> str:
    return engine.exec(main(engine, pod), "cat", "/etc/hosts")


def hostname(engine: Engine, pod: str) -> str:
    return engine.exec(main(engine, pod), "hostname").strip()


def lines(text: str) -> list[str]:
    """The lines that say something (containerd and cri-dockerd order them differently)."""
    return sorted(line for line in text.splitlines() if line and not line.startswith("#"))


def test_each_dns_policy_gives_the_pod_its_resolv_conf(
    engine: Engine, manifests: Path, tmp_path: Path, resolver: Path
) -> None:
    none_config = """\
  dnsPolicy: None
  dnsConfig:
    nameservers: [1.1.1.1]
    searches: [example.com]
    options: [{name: ndots, value: "1"}, {name: edns0}]
"""
    merged_config = """\
  dnsConfig:
    nameservers: [10.96.0.10, 1.0.0.1]
    options: [{name: ndots, value: "2"}]
"""
    pods = {
        "cluster": manifest("cluster"),
        "merged": manifest("merged", extra=merged_config),
        "default": manifest("default", extra="  dnsPolicy: Default\n"),
        "none": manifest("none", extra=none_config),
    }
    fastpod = run_pods(engine, manifests, tmp_path, pods, *CLUSTER, "--resolv-conf", str(resolver))
    try:
        cluster_search = "search default.svc.cluster.local svc.cluster.local cluster.local"
        assert lines(resolv_conf(engine, "cluster")) == [
            "nameserver 10.96.0.10",
            "options ndots:5",
            f"{cluster_search} corp.example lab.example",
        ]
        assert lines(resolv_conf(engine, "merged")) == [
            "nameserver 1.0.0.1",
            "nameserver 10.96.0.10",
            "options ndots:2",
            f"{cluster_search} corp.example lab.example",
        ]
        assert lines(resolv_conf(engine, "default")) == [
            "nameserver 192.0.2.53",
            "nameserver 192.0.2.54",
            "options edns0 timeout:2",
            "search corp.example lab.example",
        ]
        assert lines(resolv_conf(engine, "none")) == [
            "nameserver 1.1.1.1",
            "options ndots:1 edns0",
            "search example.com",
        ]
    finally:
        fastpod.stop()


def test_without_cluster_dns_a_cluster_first_pod_falls_back_to_the_node_with_a_warning(
    engine: Engine, manifests: Path, tmp_path: Path, resolver: Path
) -> None:
    pods = {"web": manifest("web")}
    fastpod = run_pods(engine, manifests, tmp_path, pods, "--resolv-conf", str(resolver))
    try:
        assert lines(resolv_conf(engine, "web")) == [
            "nameserver 192.0.2.53",
            "nameserver 192.0.2.54",
            "options edns0 timeout:2",
            "search corp.example lab.example",
        ]
        (warning, *_) = fastpod.wait_for_event("pod DNS config warning")
        assert warning["reason"] == "MissingClusterDNS"
    finally:
        fastpod.stop()


def test_a_pod_network_pod_gets_a_managed_hosts_file_with_its_names_and_aliases(
    engine: Engine, manifests: Path, tmp_path: Path, resolver: Path
) -> None:
    aliased = """\
  hostAliases:
  - {ip: 192.0.2.7, hostnames: [db, db.local]}
"""
    fqdn = """\
  hostname: api
  subdomain: sub
  setHostnameAsFQDN: true
"""
    pods = {"web": manifest("web", extra=aliased), "fqdn": manifest("fqdn", extra=fqdn)}
    fastpod = run_pods(engine, manifests, tmp_path, pods, *CLUSTER, "--resolv-conf", str(resolver))
    try:
        assert hostname(engine, "web") == f"web-{NODE}"
        assert hosts(engine, "web") == (
            f"{HOSTS_HEADER}127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\n"
            "fe00::0\tip6-mcastprefix\n"
            "fe00::1\tip6-allnodes\n"
            "fe00::2\tip6-allrouters\n"
            f"127.0.0.1\tweb-{NODE}\n"
            "\n# Entries added by HostAliases.\n"
            "192.0.2.7\tdb\tdb.local\n"
        )
        assert hostname(engine, "fqdn") == "api.sub.default.svc.cluster.local"
        assert hosts(engine, "fqdn").endswith(
            "\n127.0.0.1\tapi.sub.default.svc.cluster.local\tapi\n"
        )
    finally:
        fastpod.stop()


def test_a_host_network_pod_gets_the_nodes_hosts_file_and_name_and_may_use_cluster_dns(
    engine: Engine, manifests: Path, tmp_path: Path, resolver: Path
) -> None:
    extra = """\
  dnsPolicy: ClusterFirstWithHostNet
  hostAliases:
  - {ip: 192.0.2.7, hostnames: [db]}
"""
    pods = {
        "host": manifest("host", host_network=True, extra=extra),
        "plain": manifest("plain", host_network=True),
    }
    fastpod = run_pods(engine, manifests, tmp_path, pods, *CLUSTER, "--resolv-conf", str(resolver))
    try:
        assert hostname(engine, "host") == socket.gethostname()
        node_hosts = Path("/etc/hosts").read_text()
        assert hosts(engine, "host") == (
            f"{HOST_NETWORK_HEADER}{node_hosts}\n# Entries added by HostAliases.\n192.0.2.7\tdb\n"
        )
        assert "nameserver 10.96.0.10" in lines(resolv_conf(engine, "host"))
        # ClusterFirst under the host's network is Default: the node's resolver
        assert "nameserver 192.0.2.53" in lines(resolv_conf(engine, "plain"))
    finally:
        fastpod.stop()


def test_without_a_resolver_file_a_default_pod_looks_nothing_up(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """``--resolv-conf=``: the kubelet's loopback server and ``search .``."""
    pods = {"web": manifest("web", extra="  dnsPolicy: Default\n")}
    fastpod = run_pods(engine, manifests, tmp_path, pods, "--resolv-conf=")
    try:
        assert lines(resolv_conf(engine, "web")) == ["nameserver 127.0.0.1", "search ."]
    finally:
        fastpod.stop()


def test_a_container_restarted_in_an_adopted_sandbox_keeps_the_pods_names(
    engine: Engine, manifests: Path, tmp_path: Path, resolver: Path
) -> None:
    """A restarted fastpod creates the replacement in the sandbox the first one made: same
    hostname (also in ``$HOSTNAME``), ``resolv.conf`` and ``/etc/hosts``."""
    fqdn = """\
  hostname: api
  subdomain: sub
  setHostnameAsFQDN: true
"""
    flags = (*CLUSTER, "--resolv-conf", str(resolver))
    pods = {"fqdn": manifest("fqdn", extra=fqdn)}
    run_pods(engine, manifests, tmp_path, pods, *flags).stop()
    before = (resolv_conf(engine, "fqdn"), hosts(engine, "fqdn"))
    first = main(engine, "fqdn")

    second = start(engine, manifests, tmp_path, *flags)
    try:
        engine.kill(first)
        wait_until(
            lambda: (
                [c.id for c in engine.containers("fqdn", "main", running_only=True)]
                not in ([], [first.id])
            ),
            timeout=30,
        )
        replacement = main(engine, "fqdn")
        fqdn_name = "api.sub.default.svc.cluster.local"
        assert hostname(engine, "fqdn") == fqdn_name
        assert engine.exec(replacement, "sh", "-c", "echo $HOSTNAME").strip() == fqdn_name
        assert (resolv_conf(engine, "fqdn"), hosts(engine, "fqdn")) == before
    finally:
        second.stop()
