"""What only Docker has, end to end through ``fastpod run --runtime docker``.

dockershim's container names, the sandbox's namespaces joined as ``container:<id>``, the
container's spec read back from ``docker inspect``'s HostConfig, the pod log link to
Docker's json-file, and a restarted Docker daemon. The behaviour every runtime shares
(labels, restarts, policies, init containers and sidecars, edits and removals, adoption,
logs) runs on Docker and on containerd in test_runtime_behaviour.py.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.docker_engine import docker, managed
from tests.support.engines import DockerEngine, manifest, start, wait_until
from tests.support.pods import NODE, pod_key
from tests.support.running import RunningFastpod

pytestmark = pytest.mark.docker

SCRIPTS = Path(__file__).parents[2] / "scripts"


@pytest.fixture
def manifests(tmp_path: Path, clean_engine: None) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


@pytest.fixture
def fastpod(manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(DockerEngine(), manifests, tmp_path)
    yield running
    running.stop()


def running_containers(pod: str, container: str = "main") -> list[dict[str, Any]]:
    return [
        item
        for item in managed(
            f"label=io.kubernetes.pod.name={pod}-{NODE}",
            f"label=io.kubernetes.container.name={container}",
        )
        if item["State"]["Running"]
    ]


def test_a_pod_gets_dockershims_names_and_joins_its_sandbox_container(
    manifests: Path, fastpod: RunningFastpod, tmp_path: Path
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running_containers("web")) == 1)
    (container,) = running_containers("web")
    uid = container["Config"]["Labels"]["io.kubernetes.pod.uid"]
    assert uid == fastpod.desired()[pod_key("web")]
    (sandbox,) = managed(
        f"label=io.kubernetes.pod.uid={uid}", "label=io.kubernetes.docker.type=podsandbox"
    )
    assert container["Config"]["Labels"]["io.kubernetes.docker.type"] == "container"
    assert sandbox["Config"]["Hostname"] == f"web-{NODE}"
    assert sandbox["HostConfig"]["NetworkMode"] == "none"
    host = container["HostConfig"]
    assert host["NetworkMode"] == f"container:{sandbox['Id']}"
    assert host["IpcMode"] == f"container:{sandbox['Id']}"
    assert container["Path"] == "sh"
    assert container["Args"] == ["-c", "sleep 3600"]
    # the kubelet's way to find a pod's containers works
    names = docker(
        "ps", "--filter", f"label=io.kubernetes.pod.name=web-{NODE}", "--format", "{{.Names}}"
    )
    assert set(names.split()) == {
        f"k8s_main_web-{NODE}_default_{uid}_0",
        f"k8s_POD_web-{NODE}_default_{uid}_0",
    }
    # the kubelet's log layout is a link to Docker's json-file
    log = tmp_path / "logs" / "pods" / f"default_web-{NODE}_{uid}" / "main" / "0.log"
    wait_until(log.is_symlink)
    assert os.readlink(log) == container["LogPath"]


def test_the_container_gets_what_the_spec_asks_for(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    extra = """\
    workingDir: /tmp
    env:
    - {name: GREETING, value: hello}
    - {name: MESSAGE, value: "$(GREETING) world"}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: POD_UID
      valueFrom: {fieldRef: {fieldPath: metadata.uid}}
    - name: APP
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    resources:
      limits: {cpu: 500m, memory: 64Mi}
      requests: {cpu: 250m, memory: 32Mi}
    securityContext:
      runAsUser: 1000
      runAsGroup: 2000
      readOnlyRootFilesystem: true
      capabilities: {add: [NET_ADMIN], drop: [MKNOD]}
    volumeMounts:
    - {name: config, mountPath: /config, readOnly: true}
    - {name: scratch, mountPath: /scratch}
  volumes:
  - name: config
    hostPath: {path: HOSTDIR, type: DirectoryOrCreate}
  - name: scratch
    emptyDir: {}
"""
    host_dir = manifests.parent / "created-by-fastpod"
    body = manifest(
        "spec", command="echo $(MESSAGE); sleep 3600", extra=extra.replace("HOSTDIR", str(host_dir))
    )
    (manifests / "spec.yaml").write_bytes(body)
    wait_until(lambda: len(running_containers("spec")) == 1)
    (container,) = running_containers("spec")
    env = dict(item.split("=", 1) for item in container["Config"]["Env"])
    uid = container["Config"]["Labels"]["io.kubernetes.pod.uid"]
    assert env["MESSAGE"] == "hello world"
    assert env["POD_NAME"] == f"spec-{NODE}"
    assert env["POD_UID"] == uid
    assert env["APP"] == "spec"
    assert container["Args"] == ["-c", "echo hello world; sleep 3600"], "$(VAR) expanded"
    assert container["Config"]["WorkingDir"] == "/tmp"
    assert container["Config"]["User"] == "1000:2000"
    host = container["HostConfig"]
    assert host["Memory"] == 64 * 2**20
    assert host["NanoCpus"] == 500_000_000
    assert host["CpuShares"] == 256
    assert host["ReadonlyRootfs"] is True
    assert host["CapAdd"] == ["NET_ADMIN"]
    assert host["CapDrop"] == ["MKNOD"]
    assert host_dir.is_dir(), "DirectoryOrCreate made it"
    binds = {bind.split(":")[1]: bind for bind in host["Binds"]}
    assert binds["/config"] == f"{host_dir}:/config:ro"
    assert binds["/scratch"].endswith(f"/pods/{uid}/volumes/empty-dir/scratch:/scratch")


def test_a_restarted_live_restore_docker_daemon_leaves_every_pod_running_once(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    # scripts/docker-up runs dockerd with --live-restore: its restart leaves the containers
    # running, and fastpod must adopt them as they are (the chaos suite's docker-restarts
    # --no-live-restore covers a dockerd that stops them)
    assert docker("info", "--format", "{{.LiveRestoreEnabled}}").strip() == "true"
    for index in range(3):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    wait_until(lambda: all(len(running_containers(f"pod-{i}")) == 1 for i in range(3)))
    before = {item["Id"] for item in managed(all_states=False)}
    subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=True)
    wait_until(
        lambda: subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode != 0,
        timeout=60,
    )
    subprocess.run([str(SCRIPTS / "docker-up")], check=True, capture_output=True)
    wait_until(lambda: all(len(running_containers(f"pod-{i}")) == 1 for i in range(3)), timeout=60)
    time.sleep(2.5)  # a resync period: nothing else comes up
    assert {item["Id"] for item in managed(all_states=False)} == before
    assert len(before) == 6, "a sandbox and a container per pod"
    assert not fastpod.events("container started", restart_count=1)
