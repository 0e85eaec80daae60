"""The points of docs/security.md that a running fastpod shows: secrets given to it are
never written in its log nor served by its API; its run directory is its own; its API
record cannot be rewritten by others, whatever the umask; and what an unauthenticated reader
of the read-only API learns."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.http_server import Reply, Server
from tests.support.pods import pod_manifest
from tests.support.running import RunningFastpod, free_port

PASSWORD = "pw-in-the-userinfo-5ecret"
HEADER_VALUE = "bearer-token-5ecret"
OTHER_HEADER_VALUE = "x-token-5ecret"
SECRETS = (PASSWORD, HEADER_VALUE, OTHER_HEADER_VALUE)


@pytest.fixture
def no_umask() -> Iterator[None]:
    """Children started meanwhile get umask 0: any mode fastpod relies on is its own."""
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def test_header_values_and_url_passwords_are_never_logged_nor_served(
    server: Server, tmp_path: Path
) -> None:
    server.serve(
        "/pods",
        Reply(500, b"down"),
        Reply(200, b"{not: [a manifest"),
        Reply(302, location=f"http://bob:{PASSWORD}@127.0.0.1:{server.port}/moved"),
        Reply(200, pod_manifest("web")),
    )
    url = server.url("/pods").replace("http://", f"http://alice:{PASSWORD}@")
    fastpod = RunningFastpod(
        [
            "--manifest-url",
            url,
            "--manifest-url-header",
            f"Authorization:Bearer {HEADER_VALUE}",
            "--manifest-url-header",
            f"X-Token:{OTHER_HEADER_VALUE}",
            "--http-check-frequency",
            "0.2s",
            "--root-dir",
            str(tmp_path / "root"),
        ],
        api_port=free_port(),
    )
    try:
        fastpod.wait_for_event("pod added")
        fastpod.wait_for_api()
        served = [fastpod.get(path)[1] for path in ("/pods", "/metrics", "/healthz?verbose")]
    finally:
        fastpod.stop()

    # the headers were sent: the secrets were there to leak
    assert any(HEADER_VALUE in str(request.headers) for request in server.requests)
    log = b"".join(fastpod.raw_lines).decode()
    events = {record["event"] for record in fastpod.records}
    assert {"manifest URL failed", "pod added"} <= events, events
    assert f"127.0.0.1:{server.port}" in log  # the URL is named, without its userinfo
    for secret in SECRETS:
        assert secret not in log
        assert all(secret.encode() not in body for body in served)
    for where in (tmp_path / "root").rglob("*"):
        if where.is_file():
            assert all(secret.encode() not in where.read_bytes() for secret in SECRETS)


def test_the_run_directory_is_fastpods_alone_and_the_api_record_writable_by_it_only(
    tmp_path: Path, no_umask: None
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir(mode=0o755)
    root = tmp_path / "root"
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(manifests), "--root-dir", str(root)], api_port=free_port()
    )
    try:
        fastpod.wait_for_event("API listening")
        fastpod.wait_for(lambda: (root / "api.json").exists())
        sockets = {
            connection.laddr
            for process in (psutil.Process(fastpod.process.pid), *fastpod.children())
            for connection in process.net_connections(kind="unix")
            if connection.laddr
        }
        run_dirs = {os.path.dirname(str(path)) for path in sockets}
        record = (root / "api.json").stat()
        root_mode = root.stat().st_mode
        run_modes = {path: os.stat(path).st_mode for path in run_dirs}
    finally:
        fastpod.stop()

    assert len(run_dirs) == 1, sockets  # every process's socket in one directory
    ((run_dir, run_mode),) = run_modes.items()
    assert stat.S_IMODE(run_mode) == 0o700, run_dir
    assert stat.S_IMODE(record.st_mode) & 0o022 == 0
    assert record.st_uid == os.geteuid()
    assert stat.S_IMODE(root_mode) & 0o027 == 0  # the kubelet's 0750


def test_an_unauthenticated_reader_of_the_api_learns_the_pods_specs_env_values_included(
    tmp_path: Path,
) -> None:
    """What docs/security.md warns of: the read-only port serves every static pod as its
    manifest says, as the kubelet's does; a secret in a manifest's env is readable there."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    body = json.loads(pod_manifest("web"))
    body["spec"]["containers"][0]["env"] = [{"name": "PASSWORD", "value": "in-the-manifest"}]
    (manifests / "web.json").write_text(json.dumps(body))
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(manifests), "--root-dir", str(tmp_path / "root")],
        api_port=free_port(),
    )
    try:
        fastpod.wait_for_event("pod added")
        fastpod.wait_for_api()
        status, served = fastpod.get("/pods")
    finally:
        fastpod.stop()

    assert status == 200
    (pod,) = json.loads(served)["items"]
    assert pod["spec"]["containers"][0]["env"] == [{"name": "PASSWORD", "value": "in-the-manifest"}]
