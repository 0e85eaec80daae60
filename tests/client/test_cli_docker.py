"""The CLI against a running fastpod on a real Docker Engine, as an operator uses it.

``fastpod pods``, ``logs`` and ``inspect`` run as commands, finding the daemon by itself
through the record under its root directory; what they print is checked against what
Docker runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker_engine import BUSYBOX, docker, managed
from tests.support.engines import open_engine, start
from tests.support.kubernetes_client import parse_as_the_client_does
from tests.support.pods import NODE
from tests.support.running import RunningFastpod, fastpod_cli, fastpod_command, free_port

MANIFEST = f"""\
apiVersion: v1
kind: Pod
metadata:
  name: talker
  namespace: kube-system
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command:
    - sh
    - -c
    - echo hello from $(POD_NAME) run $RANDOM; echo to stderr >&2; sleep 0.2; echo last; sleep 3600
    env:
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
"""


@pytest.fixture
def fastpod(tmp_path: Path, clean_engine: None) -> Iterator[RunningFastpod]:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "talker.yaml").write_text(MANIFEST)
    engine = open_engine("docker")
    running = start(engine, manifests, tmp_path, api_port=free_port())
    running.wait_for_api()
    running.wait_for_event("container started", container="main")
    yield running
    running.stop()
    engine.close()


def eventually(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()  # type: ignore[operator]
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def row(tmp_path: Path) -> list[str]:
    result = fastpod_cli(tmp_path / "root", "pods")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    (line,) = rows
    return line.split()


def main_container() -> dict[str, object]:
    running = [
        item
        for item in managed(f"label=io.kubernetes.pod.name=talker-{NODE}")
        if item["State"]["Running"]
        and item["Config"]["Labels"].get("io.kubernetes.container.name") == "main"
    ]
    (container,) = running
    return container


@pytest.mark.docker
def test_pods_logs_and_inspect_show_what_docker_runs_through_a_restart(
    fastpod: RunningFastpod, tmp_path: Path
) -> None:
    def running_once() -> None:
        assert row(tmp_path)[:5] == ["kube-system", f"talker-{NODE}", "1/1", "Running", "0"]

    eventually(running_once)

    def everything_written() -> str:
        # the container may still be writing when it is first seen running
        logs = fastpod_cli(tmp_path / "root", "logs", f"talker-{NODE}")
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout.endswith("last\n"), logs.stdout
        return logs.stdout

    eventually(everything_written)
    first_run = everything_written()
    assert f"hello from talker-{NODE} run" in first_run
    assert "to stderr" in first_run

    container = main_container()
    docker("kill", str(container["Id"]))

    def restarted() -> None:
        line = row(tmp_path)
        assert line[2:4] == ["1/1", "Running"]
        assert line[4] == "1", line

    eventually(restarted)
    previous = fastpod_cli(tmp_path / "root", "logs", f"talker-{NODE}", "--previous")
    assert previous.returncode == 0, previous.stderr
    assert previous.stdout == first_run

    def tail_of_the_new_run() -> None:
        current = fastpod_cli(
            tmp_path / "root", "logs", f"kube-system/talker-{NODE}", "--tail", "1"
        )
        assert current.returncode == 0, current.stderr
        assert current.stdout == "last\n"

    eventually(tail_of_the_new_run)

    listed = fastpod_cli(tmp_path / "root", "pods", "-o", "json")
    (pod,) = parse_as_the_client_does(listed.stdout.encode()).items
    (status,) = pod.status.container_statuses
    assert status.restart_count == 1
    assert status.last_state.terminated.exit_code == 137
    assert status.container_id == f"docker://{main_container()['Id']}"
    assert status.image == BUSYBOX
    assert status.image_id.startswith("sha256:")

    inspected = fastpod_cli(tmp_path / "root", "inspect", f"talker-{NODE}")
    assert inspected.returncode == 0, inspected.stderr
    assert str(tmp_path / "manifests" / "talker.yaml") in inspected.stdout
    assert "Started" in inspected.stdout
    document = json.loads(
        fastpod_cli(tmp_path / "root", "inspect", f"talker-{NODE}", "-o", "json").stdout
    )
    reasons = [event["reason"] for event in document["events"]]
    assert reasons.count("Started") == 2
    assert "Error" in reasons, "the kill is an event: exit code 137"


@pytest.mark.docker
def test_a_followed_log_streams_new_lines_and_ends_when_the_container_stops(
    fastpod: RunningFastpod, tmp_path: Path
) -> None:
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastpod",
            "logs",
            "-f",
            f"talker-{NODE}",
            "--root-dir",
            str(tmp_path / "root"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        # stdout and stderr reach Docker's log in either order; "last" comes 0.2 s later
        lines = [follower.stdout.readline() for _ in range(3)]
        assert lines[2] == "last\n"
        assert any(line.startswith("hello from") for line in lines)
        docker("kill", str(main_container()["Id"]))
        # the followed container ended: the command ends too, with what it had printed
        assert follower.wait(30) == 0
    finally:
        follower.kill()


def test_the_cli_says_plainly_when_no_fastpod_answers(tmp_path: Path) -> None:
    result = fastpod_command("pods", "--server", f"http://127.0.0.1:{free_port()}", timeout=30)
    assert result.returncode == 1
    assert "no fastpod answers" in result.stderr
    assert "Traceback" not in result.stderr
