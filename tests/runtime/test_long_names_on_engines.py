"""A pod whose name, namespace and container name together are too long for a file name
runs on every real runtime: its ``/var/log/containers`` link is cut as the kubelet cuts it,
and its logs are served."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.engines import BUSYBOX, Engine, start, wait_until
from tests.support.running import free_port

POD = "p" * 120
NAMESPACE = "n" * 63
CONTAINER = "c" * 63


def test_a_long_named_pods_containers_link_is_cut_and_its_logs_served(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    (manifests / "long.yaml").write_text(
        f"""\
apiVersion: v1
kind: Pod
metadata: {{name: {POD}, namespace: {NAMESPACE}}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: {CONTAINER}
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo hello from a long name; sleep 3600"]
"""
    )
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    containers_dir = tmp_path / "logs" / "containers"
    try:
        fastpod.wait_for_api()
        wait_until(lambda: containers_dir.is_dir() and os.listdir(containers_dir))
        (container,) = engine.containers(POD, CONTAINER, running_only=True)
        (link,) = os.listdir(containers_dir)
        full = f"{POD}-node1_{NAMESPACE}_{CONTAINER}-{container.id}"
        assert link == full[:251] + ".log"
        wait_until(lambda: b"hello" in (containers_dir / link).read_bytes())
        path = f"/containerLogs/{NAMESPACE}/{POD}-node1/{CONTAINER}"
        wait_until(lambda: fastpod.get(path)[1] == b"hello from a long name\n")
        assert fastpod.events("log link not created") == []
    finally:
        fastpod.stop()
