"""The kubelet's health server of a real ``fastpod run``: ``/healthz`` on its own port, and
what it says when the runtime does not answer or is not there at all."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.pods import pod_manifest
from tests.support.running import RunningFastpod, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    (directory / "web.yaml").write_bytes(pod_manifest("web"))
    return directory


def start(manifests: Path, tmp_path: Path, *extra: str, **options: Any) -> RunningFastpod:
    """fastpod with its health server on a free port and the read-only API off."""
    fastpod = RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--pod-logs-dir",
            str(tmp_path / "logs"),
            *extra,
        ],
        api_port=0,
        healthz_port=free_port(),
        **options,
    )
    fastpod.wait_for_event("health server listening")
    return fastpod


def healthz(fastpod: RunningFastpod, path: str = "/healthz") -> tuple[int, str]:
    status, body = fastpod.get(path, port=fastpod.healthz_port)
    return status, body.decode()


@pytest.fixture
def fastpod(manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(manifests, tmp_path)
    running.wait_for_event("container started")
    yield running
    running.stop()


def test_the_health_port_answers_ok_with_the_read_only_port_off(fastpod: RunningFastpod) -> None:
    """kubeadm's ``--config`` turns the read-only port off; its health checks still work."""
    assert healthz(fastpod) == (200, "ok")
    (listening,) = fastpod.events("health server listening")
    assert listening["url"] == f"http://127.0.0.1:{fastpod.healthz_port}/healthz"
    assert not fastpod.events("API listening")


def test_verbose_and_single_checks_answer_as_the_apiservers_handler(
    fastpod: RunningFastpod,
) -> None:
    status, body = healthz(fastpod, "/healthz?verbose")
    assert status == 200
    assert body.startswith("[+]ping ok\n")
    assert body.endswith("healthz check passed\n")
    assert healthz(fastpod, "/healthz/runtime") == (200, "ok")
    assert healthz(fastpod, "/healthz/nothing")[0] == 404


def test_a_docker_socket_that_refuses_is_a_failed_runtime_check(
    manifests: Path, tmp_path: Path
) -> None:
    """No pod needs to sync for it to show: the check pings the runtime itself."""
    refusing = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as bound:
        bound.bind(str(refusing))  # bound, never listening: connections are refused
        fastpod = start(
            manifests, tmp_path, "--docker-socket", str(refusing), runtime="docker", workers=1
        )
        try:
            status, body = healthz(fastpod)
            one = healthz(fastpod, "/healthz/runtime")
        finally:
            fastpod.stop()
    assert status == 500
    assert "[-]runtime failed: worker-0: GET /_ping: Docker unreachable" in body
    assert "[+]syncloop ok\n" in body
    assert body.endswith("healthz check failed\n")
    assert one[0] == 500
    assert one[1].startswith("internal server error: worker-0: GET /_ping")


def test_a_docker_that_accepts_and_never_answers_fails_within_the_deadline(
    manifests: Path, tmp_path: Path
) -> None:
    """A hung daemon: the ping gives up after a second, before the supervisor's 2 s."""
    silent = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(silent))
        listening.listen(64)  # connections wait in the backlog, never read
        fastpod = start(
            manifests, tmp_path, "--docker-socket", str(silent), runtime="docker", workers=1
        )
        try:
            status, body = healthz(fastpod)
        finally:
            fastpod.stop()
    assert status == 500
    assert "[-]runtime failed: worker-0: GET /_ping: Docker did not answer within 1s" in body


def test_a_cri_endpoint_with_nothing_behind_it_is_a_failed_runtime_check(
    manifests: Path, tmp_path: Path
) -> None:
    fastpod = start(
        manifests,
        tmp_path,
        "--container-runtime-endpoint",
        f"unix://{tmp_path / 'containerd.sock'}",
        runtime="cri",
        workers=1,
    )
    try:
        status, body = healthz(fastpod)
    finally:
        fastpod.stop()
    assert status == 500
    assert "[-]runtime failed: worker-0: Status: UNAVAILABLE" in body


def test_a_taken_health_port_is_logged_and_the_pods_still_run(
    manifests: Path, tmp_path: Path
) -> None:
    """As the kubelet, fastpod retries the port every 5 s and keeps running its pods."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fastpod = RunningFastpod(
            ["--pod-manifest-path", str(manifests), "--root-dir", str(tmp_path / "root")],
            api_port=0,
            healthz_port=port,
        )
        try:
            (refused,) = fastpod.wait_for_event("health server cannot listen")
            fastpod.wait_for_event("container started")
        finally:
            fastpod.stop()
    assert (refused["port"], refused["retry_in"]) == (port, "5s")
