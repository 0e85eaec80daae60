"""Lifecycle hooks on every real runtime, end to end through ``fastpod run``: postStart and
preStop leave marks in a ``hostPath`` directory, a failing postStart restarts the container.

Each test runs once per runtime (the ``engine`` fixture). The hook's ``exec`` goes through
the runtime (Docker exec, CRI ``ExecSync``); an ``httpGet`` hook of a pod-network pod is
sent from inside the pod's network namespace, the only place its server can be reached.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.engines import BUSYBOX, Engine, start, wait_until
from tests.support.pods import pod_key
from tests.support.running import RunningFastpod, free_port

QUIT_CGI = (
    r"#!/bin/sh\necho stopping-http > /marks/pre-stop-http\n"
    r"echo Content-Type: text/plain\necho\necho ok\n"
)
"""A busybox httpd CGI script that leaves a mark when a preStop ``httpGet`` calls it."""


def hooked_manifest(marks: Path, command: str, lifecycle: str) -> bytes:
    """A pod ``web`` whose busybox container ``main`` runs ``sh -c COMMAND`` with the
    ``hostPath`` ``marks`` at ``/marks`` and ``lifecycle`` (YAML, indented for it)."""
    return f"""\
apiVersion: v1
kind: Pod
metadata: {{name: web}}
spec:
  terminationGracePeriodSeconds: 10
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", {json.dumps(command)}]
    volumeMounts: [{{name: marks, mountPath: /marks}}]
    lifecycle:
{lifecycle}
  volumes:
  - name: marks
    hostPath: {{path: {marks}, type: Directory}}
""".encode()


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """The hostPath directory the hooks leave their marks in."""
    directory = tmp_path / "marks"
    directory.mkdir(mode=0o777)
    return directory


def container_state(fastpod: RunningFastpod) -> dict[str, Any]:
    """The one container's ``state`` as ``/pods`` serves it (empty before the pod is)."""
    for pod in json.loads(fastpod.get("/pods")[1])["items"]:
        for container in pod["status"].get("containerStatuses") or ():
            return dict(container["state"])
    return {}


def test_post_start_and_pre_stop_hooks_leave_their_marks(
    engine: Engine, manifests: Path, marks: Path, tmp_path: Path
) -> None:
    """postStart holds the container back from ``running`` until it is done; preStop runs
    before the stop signal, by ``exec`` and by ``httpGet`` in the pod's namespace."""
    command = (
        f"mkdir -p /www/cgi-bin; printf '{QUIT_CGI}' > /www/cgi-bin/quit;"
        " chmod +x /www/cgi-bin/quit; httpd -p 127.0.0.1:8080 -h /www;"
        " trap 'echo term > /marks/signal; exit 0' TERM; while true; do sleep 1; done"
    )
    lifecycle = """\
      postStart:
        exec: {command: [sh, -c, "sleep 3; date +%s%N > /marks/post-start"]}
      preStop:
        exec: {command: [sh, -c, "date +%s%N > /marks/pre-stop; wget -q -O- http://127.0.0.1:8080/cgi-bin/quit"]}
"""
    (manifests / "web.yaml").write_bytes(hooked_manifest(marks, command, lifecycle))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: engine.containers("web", "main", running_only=True) != [])
        state = container_state(fastpod)
        if not (marks / "post-start").exists():
            assert "running" not in state, state
        wait_until(lambda: (marks / "post-start").exists())
        wait_until(lambda: "running" in container_state(fastpod))

        (manifests / "web.yaml").unlink()
        wait_until(lambda: engine.containers("web", "main") == [], timeout=30)
        assert (marks / "pre-stop").exists()
        # the stop signal came after the hook: the trap wrote its mark after the hook's
        assert (marks / "signal").read_text() == "term\n"
        assert (marks / "pre-stop").stat().st_mtime <= (marks / "signal").stat().st_mtime
    finally:
        fastpod.stop()


def test_a_pre_stop_http_hook_reaches_a_server_on_the_pods_own_loopback(
    engine: Engine, manifests: Path, marks: Path, tmp_path: Path
) -> None:
    command = (
        f"mkdir -p /www/cgi-bin; printf '{QUIT_CGI}' > /www/cgi-bin/quit;"
        " chmod +x /www/cgi-bin/quit; httpd -p 127.0.0.1:8080 -h /www; sleep 3600"
    )
    lifecycle = """\
      preStop:
        httpGet: {path: /cgi-bin/quit, port: 8080}
"""
    (manifests / "web.yaml").write_bytes(hooked_manifest(marks, command, lifecycle))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: "running" in container_state(fastpod))
        (manifests / "web.yaml").unlink()
        wait_until(lambda: engine.containers("web", "main") == [], timeout=30)
        assert (marks / "pre-stop-http").read_text() == "stopping-http\n"
        assert [e["error"] for e in fastpod.events("pre-stop hook failed")] == []
    finally:
        fastpod.stop()


def test_a_failing_post_start_hook_restarts_the_container(
    engine: Engine, manifests: Path, marks: Path, tmp_path: Path
) -> None:
    lifecycle = """\
      postStart:
        exec: {command: [sh, -c, "echo no; exit 3"]}
"""
    (manifests / "web.yaml").write_bytes(hooked_manifest(marks, "sleep 3600", lifecycle))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(
            lambda: any(c.restart_count != "0" for c in engine.containers("web", "main")),
            timeout=40,
        )
        (failed, *_) = fastpod.wait_for_event("post-start hook failed", pod=pod_key("web"))
        assert failed["detail"].startswith("Exec lifecycle hook ([sh -c echo no; exit 3]) for")
        assert "exited with 3" in failed["detail"]
    finally:
        fastpod.stop()
