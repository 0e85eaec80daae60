"""What docs/security.md says of static pods: a privileged pod and a hostPath volume are
run as the kubelet runs them, on Docker and containerd; nothing is refused or narrowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.engines import BUSYBOX, Engine, start, wait_until
from tests.support.proc import proc_status


def test_a_privileged_pod_gets_every_capability_and_the_host_path_it_mounts(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    own = dict(line.split(":\t", 1) for line in Path("/proc/self/status").read_text().splitlines())
    every = (1 << (int(Path("/proc/sys/kernel/cap_last_cap").read_text()) + 1)) - 1
    if engine.runtime == "docker" and int(own["CapBnd"], 16) != every:
        # Docker's privileged asks for every capability the kernel knows (the CRI's, the
        # bounding set): runc fails "unable to apply caps" in a container that lacks some
        pytest.skip("Docker cannot run a privileged container on a host lacking capabilities")
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("only root on the host reads this\n")
    (host / "secret").chmod(0o600)
    (manifests / "root.yaml").write_text(
        f"""\
apiVersion: v1
kind: Pod
metadata:
  name: root
spec:
  terminationGracePeriodSeconds: 2
  volumes:
  - name: host
    hostPath: {{path: {host}, type: Directory}}
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "cat /host/secret > /host/copied; sleep 3600"]
    securityContext: {{privileged: true}}
    volumeMounts:
    - {{name: host, mountPath: /host}}
"""
    )
    fastpod = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: (host / "copied").exists(), timeout=30)
        (container,) = engine.containers("root", running_only=True)
        status = proc_status(container)
    finally:
        fastpod.stop()

    assert (host / "copied").read_text() == "only root on the host reads this\n"
    assert int(status["CapEff"], 16) == int(own["CapBnd"], 16)
    assert status["Seccomp"].strip() == "0"
