"""Probes on every real runtime, end to end through ``fastpod run``: Docker and containerd.

What test_runtime_behaviour.py leaves out: an HTTPS probe against a certificate nobody
trusts, a gRPC health probe, the startup probe holding the others back, and the kubeadm
control plane of the corpus coming up Ready on its own probes. The servers probed live on
the host (tests/support/probe_servers.py): the pods use the host's network, as the control
plane's do, so a probe of the node's address reaches them.
"""

from __future__ import annotations

import posixpath
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fastpod.config.node import host_ip
from tests.support.engines import BUSYBOX, ContainerView, Engine, manifest, start, wait_until
from tests.support.http_server import Reply, serving
from tests.support.pods import NODE, pod_key
from tests.support.probe_servers import (
    NOT_SERVING,
    SERVING,
    HealthServer,
    TlsProxy,
    refuses_verification,
    self_signed_context,
)
from tests.support.probe_status import NOT_READY, READY, pod_readiness, probe_count, readiness
from tests.support.proc import SECCOMP_FILTER, SECCOMP_NONE, proc_status
from tests.support.running import RunningFastpod, free_port


@pytest.fixture
def host_address() -> str:
    """The node's address: a hostNetwork pod's IP, where its probes go by default."""
    return host_ip()


def running(engine: Engine, pod: str, container: str = "main") -> list[ContainerView]:
    return engine.containers(pod, container, running_only=True)


def restart_counts(engine: Engine, pod: str) -> list[str]:
    return [c.restart_count for c in running(engine, pod)]


@pytest.fixture
def fastpod(engine: Engine, manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    """``fastpod run`` on the engine, serving the read-only API the probe tests read."""
    running = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        running.wait_for_api()
        yield running
    finally:
        running.stop()


@pytest.fixture
def health_server(host_address: str) -> Iterator[HealthServer]:
    """A gRPC health server on the node's address."""
    server = HealthServer(host_address)
    yield server
    server.close()


def test_an_https_probe_accepts_a_self_signed_certificate_and_fails_on_an_error_status(
    engine: Engine, manifests: Path, fastpod: RunningFastpod, host_address: str
) -> None:
    """The kubelet verifies no probe's certificate: a server on the node's address whose
    certificate signs itself (a verifying client refuses it) makes the pod ready while it
    answers 200, and not ready once it answers 500."""
    with serving(self_signed_context(host_address), host_address) as server:
        server.serve("/ready", Reply(200))
        assert refuses_verification(host_address, server.port)
        probe = f"""\
    readinessProbe:
      httpGet: {{path: /ready, port: {server.port}, scheme: HTTPS}}
      periodSeconds: 1
"""
        (manifests / "web.yaml").write_bytes(manifest("web", host_network=True, extra=probe))
        wait_until(lambda: len(running(engine, "web")) == 1)
        wait_until(lambda: readiness(fastpod) == READY)
        server.serve("/ready", Reply(500))
        wait_until(lambda: readiness(fastpod) == NOT_READY)
        (failed, *_) = fastpod.wait_for_event("probe failed", pod=pod_key("web"))
    assert failed["detail"] == "Readiness probe failed: HTTP probe failed with statuscode: 500"
    assert restart_counts(engine, "web") == ["0"]
    assert {request.path for request in server.requests} == {"/ready"}
    assert {request.headers["User-Agent"] for request in server.requests} == {"kube-probe/1.32"}


def test_a_grpc_probe_follows_the_health_service_for_readiness_and_liveness(
    engine: Engine, manifests: Path, fastpod: RunningFastpod, health_server: HealthServer
) -> None:
    """A gRPC health server on the node's address: readiness asks about the service
    ``shop``, liveness about the server overall. ``shop`` not serving clears ``ready``
    without a restart; the server not serving restarts the container."""
    health_server.set("", SERVING)
    health_server.set("shop", SERVING)
    probe = f"""\
    readinessProbe:
      grpc: {{port: {health_server.port}, service: shop}}
      periodSeconds: 1
    livenessProbe:
      grpc: {{port: {health_server.port}}}
      periodSeconds: 1
      failureThreshold: 2
"""
    (manifests / "web.yaml").write_bytes(manifest("web", host_network=True, extra=probe))
    wait_until(lambda: len(running(engine, "web")) == 1)
    wait_until(lambda: readiness(fastpod) == READY)

    health_server.set("shop", NOT_SERVING)
    wait_until(lambda: readiness(fastpod) == NOT_READY)
    (failed, *_) = fastpod.wait_for_event("probe failed", pod=pod_key("web"), probe="readiness")
    assert failed["detail"] == (
        'Readiness probe failed: service unhealthy (responded with "NOT_SERVING")'
    )
    assert restart_counts(engine, "web") == ["0"], "readiness never restarts"

    health_server.set("", NOT_SERVING)
    wait_until(lambda: restart_counts(engine, "web") == ["1"], timeout=40)
    (killed, *_) = fastpod.wait_for_event("container killed by probe", pod=pod_key("web"))
    assert killed["detail"] == "Container main failed liveness probe, will be restarted"


def test_a_startup_probe_holds_liveness_and_readiness_back_until_it_succeeds(
    engine: Engine, manifests: Path, fastpod: RunningFastpod, tmp_path: Path
) -> None:
    """The startup probe looks for a file that the test creates, through a hostPath, when
    it chooses. Until then neither the liveness probe (which would fail at once and restart
    the container) nor the readiness probe (which would succeed) runs: the container runs
    but is neither started nor ready. Once the startup probe succeeds, both run."""
    gate = tmp_path / "gate"
    gate.mkdir()
    extra = f"""\
    startupProbe:
      exec: {{command: [test, -e, /gate/started]}}
      periodSeconds: 1
      failureThreshold: 300
    livenessProbe:
      exec: {{command: [test, -e, /gate/started]}}
      periodSeconds: 1
      failureThreshold: 1
    readinessProbe:
      exec: {{command: ["true"]}}
      periodSeconds: 1
    volumeMounts: [{{name: gate, mountPath: /gate}}]
  volumes:
  - name: gate
    hostPath: {{path: {gate}, type: Directory}}
"""
    (manifests / "web.yaml").write_bytes(manifest("web", extra=extra))

    def startup_failures() -> int:
        return len(fastpod.events("probe failed", pod=pod_key("web"), probe="startup"))

    def container_status() -> dict[str, Any]:
        (status,) = fastpod.served_pods()[f"web-{NODE}"]["status"]["containerStatuses"]
        return dict(status)

    fastpod.wait_for(lambda: startup_failures() >= 3, timeout=30)
    assert "running" in container_status()["state"]
    assert container_status()["started"] is False
    assert readiness(fastpod) == NOT_READY
    assert probe_count(fastpod, "web", "Liveness", "failed") == 0
    assert probe_count(fastpod, "web", "Readiness", "successful") == 0

    (gate / "started").touch()
    wait_until(lambda: readiness(fastpod) == READY)
    assert container_status()["started"] is True
    wait_until(lambda: probe_count(fastpod, "web", "Liveness", "successful") >= 1)
    assert probe_count(fastpod, "web", "Liveness", "failed") == 0
    assert restart_counts(engine, "web") == ["0"]


KUBEADM_CONTROL_PLANES = {
    "kubeadm-1.16": "MaxxMoney__kubeadm_etc_kubernetes",
    "kubeadm-1.29": "zetaoss__zeta-linux",
}
"""Two kubeadm control planes of the corpus, all four manifests of each as kubeadm wrote
them. 1.16: a liveness probe on each, over HTTPS on the API server's advertise address,
plain HTTP elsewhere. 1.29: liveness and startup probes on each and readiness on the API
server, over HTTPS but for etcd, whose probes ask ``/health`` with query strings."""

CONTROL_PLANE = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
PROBES = {"livenessProbe": "Liveness", "readinessProbe": "Readiness", "startupProbe": "Startup"}
"""Each probe field, and its ``probe_type`` in the prober's metrics."""


def probed_endpoint(container: dict[str, Any]) -> tuple[str, int, list[str]]:
    """The scheme and port that all of a control-plane container's probes ask, and the
    paths they ask for (without their query strings)."""
    probes = [container[kind]["httpGet"] for kind in PROBES if kind in container]
    ((scheme, port),) = {(probe["scheme"], probe["port"]) for probe in probes}
    return scheme, port, sorted({probe["path"].partition("?")[0] for probe in probes})


def serving_probe_paths(
    document: dict[str, Any], listen_port: int, host_root: Path
) -> dict[str, Any]:
    """The control-plane pod ``document`` as it runs here, changed only where it must be:

    - its image is busybox (nothing can be pulled), its command busybox ``httpd`` on
      ``127.0.0.1:listen_port`` serving a file at each probe path;
    - its probes' ``host`` is 127.0.0.1: the API server's names its advertise address on
      the machine kubeadm ran on, the others' already are; their ``initialDelaySeconds``
      are 1 instead of 10 or 15, to keep the test short;
    - its hostPath volumes are under ``host_root``, so the test creates nothing in the
      host's /etc or /var.

    The probes' paths, schemes, ports, periods, timeouts and thresholds stay as kubeadm
    wrote them, and so does the rest of the pod (host network, priority, seccomp profile,
    resources, mounts)."""
    (container,) = document["spec"]["containers"]
    _, _, paths = probed_endpoint(container)
    for kind in PROBES:
        if kind in container:
            probe = container[kind]
            probe["httpGet"]["host"] = "127.0.0.1"
            if "initialDelaySeconds" in probe:
                probe["initialDelaySeconds"] = 1
    directories = sorted({"/www" + posixpath.dirname(path) for path in paths})
    files = " ".join("/www" + path for path in paths)
    container["image"] = BUSYBOX
    container["imagePullPolicy"] = "Never"
    container["command"] = [
        "sh",
        "-c",
        f"mkdir -p {' '.join(directories)} && touch {files}"
        f" && exec httpd -f -p 127.0.0.1:{listen_port} -h /www",
    ]
    container.pop("args", None)
    for volume in document["spec"].get("volumes", ()):
        if "hostPath" in volume:
            moved = host_root / volume["hostPath"]["path"].lstrip("/")
            moved.parent.mkdir(parents=True, exist_ok=True)  # as on a kubeadm node
            volume["hostPath"]["path"] = str(moved)
    return document


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_settled(unsettled: Callable[[], list[str]], timeout: float) -> None:
    """Wait until ``unsettled()`` names nothing; fail with what it last named."""
    deadline = time.monotonic() + timeout
    while problems := unsettled():
        assert time.monotonic() < deadline, f"not settled in {timeout} s: {problems}"
        time.sleep(0.2)


@pytest.fixture
def tls_fronts() -> Iterator[list[TlsProxy]]:
    """The TLS proxies a test starts, closed after it."""
    proxies: list[TlsProxy] = []
    yield proxies
    for proxy in proxies:
        proxy.close()


@pytest.mark.parametrize(
    "control_plane", KUBEADM_CONTROL_PLANES.values(), ids=list(KUBEADM_CONTROL_PLANES)
)
def test_the_kubeadm_control_plane_comes_up_ready_on_its_own_probes(
    engine: Engine,
    manifests: Path,
    fastpod: RunningFastpod,
    tmp_path: Path,
    corpus: Path,
    tls_fronts: list[TlsProxy],
    control_plane: str,
) -> None:
    """etcd, the API server, the controller manager and the scheduler of a kubeadm control
    plane, each probed as kubeadm wrote it, with busybox in place of the real binaries
    (:func:`serving_probe_paths` says what changes and why).

    busybox httpd speaks no TLS, so for a probe over HTTPS the test puts a TLS-terminating
    proxy on the probe's own port of 127.0.0.1, with a self-signed certificate, relaying to
    the pod's httpd on a free port; a plain HTTP probe reaches its httpd directly on its
    port. Every pod becomes Ready in ``/pods`` (for 1.29 once its startup probe, and for
    the API server its readiness probe, succeeded), every probe succeeds, none restarts.
    The processes of the pods that ask ``seccompProfile: RuntimeDefault`` (1.29's) run
    under a seccomp filter; the others (1.16's ask for none) unconfined, as the kubelet
    runs them."""
    probe_types: dict[str, list[str]] = {}
    seccomp: dict[str, str] = {}
    for name in CONTROL_PLANE:
        path = corpus / control_plane / f"{name}.yaml"
        document = yaml.safe_load(path.read_text())
        (container,) = document["spec"]["containers"]
        probe_types[name] = [PROBES[kind] for kind in PROBES if kind in container]
        asked = document["spec"].get("securityContext", {}).get("seccompProfile", {})
        seccomp[name] = SECCOMP_FILTER if asked.get("type") == "RuntimeDefault" else SECCOMP_NONE
        scheme, port, _ = probed_endpoint(container)
        assert port_is_free(port), f"{name}'s probe port {port} is taken on this machine"
        if scheme == "HTTPS":
            backend = free_port()
            tls_fronts.append(TlsProxy("127.0.0.1", port, backend))
        else:
            backend = port
        document = serving_probe_paths(document, backend, tmp_path / "host")
        (manifests / f"{name}.yaml").write_text(yaml.safe_dump(document))

    def unsettled() -> list[str]:
        """What is not yet as it should be: a pod not Ready, a probe not yet succeeded."""
        served = fastpod.served_pods()
        shown = {
            name: pod_readiness(served[f"{name}-{NODE}"]) if f"{name}-{NODE}" in served else None
            for name in CONTROL_PLANE
        }
        problems = [f"{name}: {state}" for name, state in shown.items() if state != READY]
        problems += [
            f"{name}: no {probe_type} probe succeeded"
            for name, types in probe_types.items()
            for probe_type in types
            if probe_count(fastpod, name, probe_type, "successful") == 0
        ]
        return problems

    wait_until_settled(unsettled, timeout=90)
    served = fastpod.served_pods()
    for name in CONTROL_PLANE:
        (status,) = served[f"{name}-{NODE}"]["status"]["containerStatuses"]
        assert (status["started"], status["restartCount"]) == (True, 0), name
        assert pod_readiness(served[f"{name}-{NODE}"]) == READY, name
        if "Startup" in probe_types[name]:
            assert probe_count(fastpod, name, "Startup", "successful") == 1, "then no more"
    assert all(proxy.connections >= 1 for proxy in tls_fronts), "probed over TLS"
    assert fastpod.events("probe errored") == []
    running_seccomp = {
        name: proc_status(container)["Seccomp"]
        for name in CONTROL_PLANE
        for container in running(engine, name, name)
    }
    assert running_seccomp == seccomp
