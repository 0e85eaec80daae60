"""Probes on every real runtime, end to end through ``fastpod run``: Docker and containerd.

What test_runtime_behaviour.py leaves out: an HTTPS probe against a certificate nobody
trusts, a gRPC health probe, the startup probe holding the others back. The servers probed
live on the host (tests/support/probe_servers.py): the pods use the host's network, so a
probe of the node's address reaches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fastpod.config.node import host_ip
from tests.support.engines import ContainerView, Engine, manifest, start, wait_until
from tests.support.http_server import Reply, serving
from tests.support.pods import NODE, pod_key
from tests.support.probe_servers import (
    NOT_SERVING,
    SERVING,
    HealthServer,
    refuses_verification,
    self_signed_context,
)
from tests.support.probe_status import NOT_READY, READY, probe_count, readiness
from tests.support.running import RunningFastpod, free_port


@pytest.fixture
def manifests(tmp_path: Path, engine: Engine) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


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
