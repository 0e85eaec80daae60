"""A pod's names as a worker gives them: the sandbox's hostname and resolver configuration
from the node's settings and files, the ``/etc/hosts`` written and mounted in each
container, and the kubelet's warnings and failures when they cannot be made as asked."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from fastpod.runtime.dns import DnsConfig
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.hosts import ETC_HOSTS
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import decoded, pod_document, pod_key
from tests.support.worker import added, eventually, pod, run, runner_on

NODE_RESOLVER = "nameserver 192.0.2.53\nsearch corp.example\noptions edns0\n"


def node_settings(settings: WorkerSettings, tmp_path: Path) -> WorkerSettings:
    """``settings`` with a resolver file of the node's own under ``tmp_path``."""
    resolver = tmp_path / "resolv.conf"
    resolver.write_text(NODE_RESOLVER)
    return replace(settings, resolv_conf=str(resolver))


def sandbox_of(runtime: FakeRuntime) -> SandboxSpec:
    (sandbox,) = runtime.sandbox_specs.values()
    return sandbox


def mounts_of(runtime: FakeRuntime) -> dict[str, str]:
    """Container path → host path of the one container's mounts."""
    (spec,) = runtime.specs.values()
    return {mount.container_path: mount.host_path for mount in spec.mounts}


def test_a_cluster_first_pod_gets_the_cluster_dns_and_its_name_as_hostname(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    cluster = replace(
        node_settings(settings, tmp_path),
        cluster_dns=("10.96.0.10",),
        cluster_domain="cluster.local",
    )

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, cluster) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: runtime.sandbox_specs, "the sandbox")

        assert sandbox_of(runtime) == SandboxSpec(
            "web-node1",
            DnsConfig(
                ("10.96.0.10",),
                (
                    "default.svc.cluster.local",
                    "svc.cluster.local",
                    "cluster.local",
                    "corp.example",
                ),
                ("ndots:5",),
            ),
        )

    run(scenario)


def test_without_cluster_dns_a_cluster_first_pod_gets_the_nodes_resolver_and_a_warning(
    settings: WorkerSettings, tmp_path: Path, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, node_settings(settings, tmp_path)) as runner:
            runner.submit(added(pod("web")))
            await eventually(lambda: runtime.sandbox_specs, "the sandbox")
        assert sandbox_of(runtime).dns == DnsConfig(("192.0.2.53",), ("corp.example",), ("edns0",))

    run(scenario)
    (record,) = captured_logs.records("pod DNS config warning")
    assert record["pod"] == pod_key("web")
    assert record["reason"] == "MissingClusterDNS"
    assert record["level"] == "warning"


def test_a_resolver_file_that_cannot_be_read_fails_the_sandbox_as_the_kubelets(
    settings: WorkerSettings, tmp_path: Path, captured_logs: LogCapture
) -> None:
    """No sandbox, and the kubelet's ``FailedCreatePodSandBox`` with the reason; tried
    again at the next sync."""
    missing = replace(settings, resolv_conf=str(tmp_path / "missing.conf"))

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, missing) as runner:
            runner.submit(added(pod("web")))
            await eventually(
                lambda: len(captured_logs.records("pod cannot start")) >= 2, "a second try"
            )
        assert runtime.sandboxes == {}

    run(scenario)
    record = captured_logs.records("pod cannot start")[0]
    assert record["error"] == (
        f"Failed to create pod sandbox: open {tmp_path / 'missing.conf'}: no such file or directory"
    )


def test_an_fqdn_too_long_for_the_kernel_fails_the_sandbox(
    settings: WorkerSettings, tmp_path: Path, captured_logs: LogCapture
) -> None:
    long_domain = replace(node_settings(settings, tmp_path), cluster_domain="a" * 40 + ".example")
    fqdn_pod = pod("web", extra_spec={"subdomain": "sub", "setHostnameAsFQDN": True})

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, long_domain) as runner:
            runner.submit(added(fqdn_pod))
            await eventually(lambda: captured_logs.records("pod cannot start"), "the failure")
        assert runtime.sandboxes == {}

    run(scenario)
    error = captured_logs.records("pod cannot start")[0]["error"]
    assert error.startswith("Failed to create pod sandbox: failed to construct FQDN")
    assert "(64 characters is the max, 74 characters requested)" in error


def test_each_container_gets_the_pods_managed_hosts_file_at_etc_hosts(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    aliased = pod("web", extra_spec={"hostAliases": [{"ip": "192.0.2.7", "hostnames": ["db"]}]})

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, node_settings(settings, tmp_path)) as runner:
            runner.submit(added(aliased))
            await eventually(lambda: runtime.specs, "the container")

        hosts = mounts_of(runtime)[ETC_HOSTS]
        assert hosts == settings.hosts_file(aliased.metadata.uid or "")
        content = Path(hosts).read_text()
        assert content.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
        assert "\n127.0.0.1\tweb-node1\n" in content
        assert content.endswith("\n# Entries added by HostAliases.\n192.0.2.7\tdb\n")
        assert Path(hosts).stat().st_mode & 0o777 == 0o644

    run(scenario)


def test_a_container_mounting_its_own_etc_hosts_keeps_it(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    """The kubelet mounts its file only where the container mounts nothing itself."""
    own = tmp_path / "own-hosts"
    own.write_text("127.0.0.1 mine\n")
    document = pod_document(
        "web", extra_spec={"volumes": [{"name": "hosts", "hostPath": {"path": str(own)}}]}
    )
    document["spec"]["containers"][0]["volumeMounts"] = [{"name": "hosts", "mountPath": ETC_HOSTS}]
    mounting = decoded(json.dumps(document).encode(), FILE)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, node_settings(settings, tmp_path)) as runner:
            runner.submit(added(mounting))
            await eventually(lambda: runtime.specs, "the container")
        (spec,) = runtime.specs.values()
        assert [(m.host_path, m.container_path) for m in spec.mounts][:1] == [(str(own), ETC_HOSTS)]
        assert sum(m.container_path == ETC_HOSTS for m in spec.mounts) == 1

    run(scenario)


def test_a_host_network_pod_gets_the_nodes_hosts_file_and_its_aliases(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    host_pod = pod(
        "web",
        extra_spec={
            "hostNetwork": True,
            "hostAliases": [{"ip": "192.0.2.7", "hostnames": ["db", "db.local"]}],
        },
    )

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, node_settings(settings, tmp_path)) as runner:
            runner.submit(added(host_pod))
            await eventually(lambda: runtime.specs, "the container")
        assert sandbox_of(runtime).hostname is None
        content = Path(mounts_of(runtime)[ETC_HOSTS]).read_bytes()
        node = Path(ETC_HOSTS).read_bytes()
        assert content == (
            b"# Kubernetes-managed hosts file (host network).\n"
            + node
            + b"\n# Entries added by HostAliases.\n192.0.2.7\tdb\tdb.local\n"
        )

    run(scenario)


def test_a_hosts_file_that_cannot_be_written_holds_the_container_back(
    settings: WorkerSettings, tmp_path: Path, captured_logs: LogCapture
) -> None:
    """The kubelet's ``makeMounts`` fails the container's config: it waits as
    ``CreateContainerConfigError`` and is tried again."""
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the root directory should be")
    unwritable = replace(node_settings(settings, tmp_path), root_dir=str(blocked))

    failed_containers: list[str | None] = []

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, unwritable) as runner:
            runner.state.events.forward = lambda _key, _at, _type, reason, _msg, container: (
                failed_containers.append(container) if reason == "Failed" else None
            )
            runner.submit(added(pod("web")))

            def failures() -> int:
                events = runner.state.events.of(pod_key("web"))
                return sum(event.reason == "Failed" for event in events)

            await eventually(lambda: failures() >= 3, "retries")
        assert runtime.containers == {}

    run(scenario)
    # each retry is an event; the line is said once while the reason stays the same
    (record,) = captured_logs.records("container not configured")
    assert record["reason"] == "CreateContainerConfigError"
    assert record["error"].endswith(": not a directory")
    # the repeats are the same event as the first: the container's, not the pod's
    assert len(failed_containers) >= 3
    assert set(failed_containers) == {record["container"]}
