"""Pods on a real Docker Engine, end to end through ``fastpod run --runtime docker``.

What runs is read back with ``docker inspect``: the kubelet's labels, namespaces shared
with the sandbox, mounts, the command line, restarts and their counts.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.docker_engine import BUSYBOX, docker, managed
from tests.running import NODE, RunningFastpod, pod_key, write_atomically

CORPUS = Path(__file__).parents[2] / ".." / "shared" / "corpus" / "pods"
EXPECTATIONS = Path(__file__).parents[1] / "data" / "corpus_expectations.tsv"
SCRIPTS = Path(__file__).parents[2] / "scripts"


def manifest(
    name: str,
    *,
    command: str = "sleep 3600",
    restart_policy: str = "Always",
    host_network: bool = False,
    extra: str = "",
) -> bytes:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels:
    app: {name}
spec:
  hostNetwork: {str(host_network).lower()}
  restartPolicy: {restart_policy}
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "{command}"]
{extra}""".encode()


@pytest.fixture
def manifests(tmp_path: Path, clean_engine: None) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


def start(manifests: Path, tmp_path: Path) -> RunningFastpod:
    return RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--pod-logs-dir",
            str(tmp_path / "logs" / "pods"),
            "--resync-period",
            "2",
        ],
        runtime="docker",
    )


@pytest.fixture
def fastpod(manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(manifests, tmp_path)
    yield running
    running.stop()


def running_containers(pod: str, container: str = "main") -> list[dict[str, object]]:
    return [
        item
        for item in managed(
            f"label=io.kubernetes.pod.name={pod}-{NODE}",
            f"label=io.kubernetes.container.name={container}",
        )
        if item["State"]["Running"]
    ]


def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_a_pod_runs_as_a_sandbox_and_its_containers_with_the_kubelet_labels(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running_containers("web")) == 1)
    (container,) = running_containers("web")
    labels = container["Config"]["Labels"]
    assert labels["io.kubernetes.pod.name"] == f"web-{NODE}"
    assert labels["io.kubernetes.pod.namespace"] == "default"
    assert labels["io.kubernetes.container.name"] == "main"
    assert labels["io.kubernetes.container.restartCount"] == "0"
    uid = labels["io.kubernetes.pod.uid"]
    assert uid == fastpod.desired()[pod_key("web")]
    (sandbox,) = managed(
        f"label=io.kubernetes.pod.uid={uid}", "label=io.kubernetes.docker.type=podsandbox"
    )
    assert sandbox["Config"]["Labels"]["app"] == "web", "the pod's own labels on the sandbox"
    assert sandbox["Config"]["Hostname"] == f"web-{NODE}"
    host = container["HostConfig"]
    assert host["NetworkMode"] == f"container:{sandbox['Id']}"
    assert host["IpcMode"] == f"container:{sandbox['Id']}"
    assert container["Path"] == "sh"
    assert container["Args"] == ["-c", "sleep 3600"]
    # the kubelet's way to find a pod's containers works
    names = docker(
        "ps", "--filter", f"label=io.kubernetes.pod.name=web-{NODE}", "--format", "{{.Names}}"
    )
    assert f"k8s_main_web-{NODE}_default_{uid}_0" in names.split()


def test_a_killed_container_is_restarted_with_the_next_restart_count(
    manifests: Path, fastpod: RunningFastpod, tmp_path: Path
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running_containers("web")) == 1)
    (first,) = running_containers("web")
    docker("kill", first["Id"])
    wait_until(
        lambda: (
            [
                c["Config"]["Labels"]["io.kubernetes.container.restartCount"]
                for c in running_containers("web")
            ]
            == ["1"]
        )
    )
    dead = [
        c
        for c in managed(
            f"label=io.kubernetes.pod.name=web-{NODE}", "label=io.kubernetes.container.name=main"
        )
        if not c["State"]["Running"]
    ]
    assert [c["Id"] for c in dead] == [first["Id"]], "the dead one is kept, once"
    uid = first["Config"]["Labels"]["io.kubernetes.pod.uid"]
    log_dir = tmp_path / "logs" / "pods" / f"default_web-{NODE}_{uid}" / "main"
    wait_until(lambda: (log_dir / "1.log").is_symlink())
    assert fastpod.events("container exited", pod=pod_key("web"))


def test_restart_policies_decide_which_exits_come_back(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "fails.yaml").write_bytes(
        manifest("fails", command="exit 3", restart_policy="OnFailure")
    )
    (manifests / "done.yaml").write_bytes(
        manifest("done", command="exit 0", restart_policy="OnFailure")
    )
    (manifests / "once.yaml").write_bytes(
        manifest("once", command="exit 3", restart_policy="Never")
    )
    fastpod.wait_for(
        lambda: len(fastpod.events("container exited", pod=pod_key("fails"))) >= 2, timeout=20
    )
    fastpod.wait_for(lambda: bool(fastpod.events("container exited", pod=pod_key("done"))))
    fastpod.wait_for(lambda: bool(fastpod.events("container exited", pod=pod_key("once"))))
    time.sleep(1.5)
    assert len(fastpod.events("container started", pod=pod_key("done"))) == 1
    assert len(fastpod.events("container started", pod=pod_key("once"))) == 1
    assert fastpod.events("container waiting", pod=pod_key("fails"), reason="CrashLoopBackOff")


def test_init_containers_run_in_order_before_the_main_container(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    extra = f"""\
  initContainers:
  - name: first
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo first > /work/order"]
    volumeMounts: [{{name: work, mountPath: /work}}]
  - name: second
    image: {BUSYBOX}
    imagePullPolicy: Never
    command: ["sh", "-c", "echo second >> /work/order"]
    volumeMounts: [{{name: work, mountPath: /work}}]
  volumes:
  - name: work
    emptyDir: {{}}
"""
    body = manifest("ordered", command="cat /work/order; sleep 3600", extra=extra)
    body = body.replace(
        b'    command: ["sh", "-c", "cat /work/order; sleep 3600"]\n',
        b'    command: ["sh", "-c", "cat /work/order; sleep 3600"]\n'
        b"    volumeMounts: [{name: work, mountPath: /work}]\n",
    )
    (manifests / "ordered.yaml").write_bytes(body)
    wait_until(lambda: len(running_containers("ordered")) == 1)
    (main,) = running_containers("ordered")
    assert docker("logs", main["Id"]).split() == ["first", "second"]
    started = [r["container"] for r in fastpod.events("container started", pod=pod_key("ordered"))]
    assert started == ["first", "second", "main"]


def test_an_edit_replaces_the_pod_old_fully_stopped_first(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running_containers("web")) == 1)
    (old,) = running_containers("web")
    write_atomically(str(manifests / "web.yaml"), manifest("web", command="sleep 3601"))
    wait_until(lambda: [c["Args"] for c in running_containers("web")] == [["-c", "sleep 3601"]])

    def order() -> list[str]:
        return [
            record["event"]
            for record in fastpod.records
            if record.get("pod") == pod_key("web")
            and record["event"] in ("pod stopped", "container started")
        ]

    fastpod.wait_for(lambda: len(order()) == 3)
    assert order() == ["container started", "pod stopped", "container started"]
    stopped = fastpod.events("pod stopped", pod=pod_key("web"))
    assert stopped[0]["uid"] == old["Config"]["Labels"]["io.kubernetes.pod.uid"]
    assert not [c for c in managed() if c["Id"] == old["Id"]], "the old pod's containers are gone"


def test_a_removed_manifest_stops_and_removes_everything(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(
        manifest("web", extra="  volumes: [{name: scratch, emptyDir: {}}]\n")
    )
    wait_until(lambda: len(running_containers("web")) == 1)
    (manifests / "web.yaml").unlink()
    wait_until(lambda: managed(f"label=io.kubernetes.pod.name=web-{NODE}") == [])
    assert fastpod.events("pod stopped", pod=pod_key("web"))


def test_a_restarted_fastpod_adopts_running_pods_without_restarting_one(
    manifests: Path, tmp_path: Path
) -> None:
    for index in range(20):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    first = start(manifests, tmp_path)
    try:
        wait_until(
            lambda: len(managed("label=io.kubernetes.container.name=main", all_states=False)) == 20,
            timeout=60,
        )
        before = {c["Id"] for c in managed(all_states=True)}
    finally:
        first.signal(signal.SIGKILL)
        first.process.wait(5)
    (manifests / "pod-0.yaml").unlink()
    second = start(manifests, tmp_path)
    try:
        second.wait_for_event("all sources seen", count=2)
        wait_until(lambda: not running_containers("pod-0"))
        time.sleep(2.5)  # a resync period: nothing else may move
        after = {c["Id"] for c in managed(all_states=True)}
        assert after <= before, "no container created"
        assert len(before - after) == 2, "only pod-0's sandbox and container removed"
        assert len(after) == 38, "19 pods, a sandbox and a container each, none duplicated"
        assert second.events("container started") == []
        assert second.events("orphan pod removed", pod=pod_key("pod-0"))
    finally:
        second.stop()


def test_kubeadm_control_planes_from_the_corpus_come_up(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    """Every accepted kubeadm control-plane manifest, its image swapped for busybox sleeping."""
    expected: dict[str, dict[str, object]] = {}
    for line in EXPECTATIONS.read_text().splitlines()[1:]:
        path, outcome = line.split("\t")[:2]
        name = os.path.basename(path)
        if outcome != "accept" or not name.startswith(
            ("kube-apiserver", "kube-controller", "kube-scheduler", "etcd")
        ):
            continue
        document = yaml.safe_load((CORPUS / path).read_text())
        index = len(expected)
        document["metadata"]["name"] = f"cp{index}"
        for container in document["spec"]["containers"]:
            container["image"] = BUSYBOX
            container["imagePullPolicy"] = "Never"
            container["command"] = ["sleep", "3600"]
            container.pop("args", None)
        (manifests / f"cp{index}.yaml").write_text(yaml.safe_dump(document))
        expected[f"cp{index}"] = document
    assert len(expected) >= 20
    wait_until(
        lambda: (
            len(managed("label=io.kubernetes.docker.type=container", all_states=False))
            == len(expected)
        ),
        timeout=90,
    )
    for name, document in expected.items():
        (container,) = [
            c
            for c in managed(
                f"label=io.kubernetes.pod.name={name}-{NODE}",
                "label=io.kubernetes.docker.type=container",
            )
        ]
        assert container["State"]["Running"], name
        sandbox_id = container["HostConfig"]["NetworkMode"].removeprefix("container:")
        sandbox = docker("inspect", "-f", "{{.HostConfig.NetworkMode}}", sandbox_id).strip()
        assert sandbox == ("host" if document["spec"].get("hostNetwork") else "none"), name
        binds = {bind.split(":")[1] for bind in container["HostConfig"]["Binds"] or []}
        wanted = {
            m["mountPath"]
            for c in document["spec"]["containers"]
            for m in c.get("volumeMounts", [])
        }
        assert binds == wanted, name
        assert [container["Path"], *container["Args"]] == ["sleep", "3600"], name


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


def test_a_missing_hostpath_directory_blocks_the_pod_with_a_clear_error(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    extra = """\
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    hostPath: {path: /nonexistent/fastpod-test, type: Directory}
"""
    (manifests / "blocked.yaml").write_bytes(manifest("blocked", extra=extra))
    (failure,) = fastpod.wait_for_event("pod cannot start", pod=pod_key("blocked"))
    assert failure["error"] == (
        "volume data: hostPath type check failed: /nonexistent/fastpod-test does not exist, "
        "type Directory needs a directory"
    )
    assert managed(f"label=io.kubernetes.pod.name=blocked-{NODE}") == []


def test_a_missing_image_with_pull_policy_never_waits_with_err_image_never_pull(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    body = manifest("absent").replace(BUSYBOX.encode(), b"fastpod.local/absent:1.0")
    (manifests / "absent.yaml").write_bytes(body)
    fastpod.wait_for_event("container waiting", pod=pod_key("absent"), reason="ErrImageNeverPull")
    assert running_containers("absent") == []


def test_a_restarted_docker_daemon_gets_every_pod_back_once(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    for index in range(3):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    wait_until(lambda: all(len(running_containers(f"pod-{i}")) == 1 for i in range(3)))
    subprocess.run(["pkill", "-TERM", "-x", "dockerd"], check=True)
    wait_until(
        lambda: subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True).returncode != 0,
        timeout=60,
    )
    subprocess.run([str(SCRIPTS / "docker-up")], check=True, capture_output=True)
    wait_until(lambda: all(len(running_containers(f"pod-{i}")) == 1 for i in range(3)), timeout=60)
    time.sleep(2.5)  # a resync period: nothing else comes up
    for index in range(3):
        sandboxes = managed(
            f"label=io.kubernetes.pod.name=pod-{index}-{NODE}",
            "label=io.kubernetes.docker.type=podsandbox",
            all_states=False,
        )
        assert len(sandboxes) == 1
        assert len(running_containers(f"pod-{index}")) == 1
    assert fastpod.events("container started", restart_count=1)


def test_random_edits_while_containers_crash_end_in_exactly_the_desired_containers(
    manifests: Path, tmp_path: Path
) -> None:
    rng = random.Random(4)
    fastpod = RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--root-dir",
            str(tmp_path / "root"),
            "--pod-logs-dir",
            str(tmp_path / "logs" / "pods"),
            "--resync-period",
            "1",
            "--restart-backoff",
            "0.2",
            "1",
        ],
        runtime="docker",
    )
    try:
        for _ in range(200):
            index = rng.randrange(8)
            command = rng.choice(
                ["sleep 3600", "sleep 0.3; exit 1", "exit 2", f"sleep {rng.randrange(100, 999)}"]
            )
            write_atomically(
                str(manifests / f"pod-{index}.yaml"), manifest(f"pod-{index}", command=command)
            )
            time.sleep(rng.uniform(0, 0.05))
        for index in range(8):
            write_atomically(
                str(manifests / f"pod-{index}.yaml"),
                manifest(f"pod-{index}", command=f"sleep {3600 + index}"),
            )
        wanted = {f"pod-{index}-{NODE}": ["-c", f"sleep {3600 + index}"] for index in range(8)}

        def settled() -> bool:
            containers = managed("label=io.kubernetes.docker.type=container")
            sandboxes = managed("label=io.kubernetes.docker.type=podsandbox")
            running = {
                c["Config"]["Labels"]["io.kubernetes.pod.name"]: c["Args"]
                for c in containers
                if c["State"]["Running"]
            }
            return running == wanted and len(containers) == 8 and len(sandboxes) == 8

        wait_until(settled, timeout=120)
    finally:
        fastpod.stop()


def test_a_killed_worker_restarts_without_restarting_or_duplicating_a_container(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    for index in range(6):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    wait_until(lambda: all(len(running_containers(f"pod-{i}")) == 1 for i in range(6)))
    before = {c["Id"] for c in managed()}
    for worker in ("worker-0", "worker-1"):
        victim = fastpod.child_pid(worker)
        mark = fastpod.mark()
        os.kill(victim, signal.SIGKILL)
        fastpod.wait_for(lambda w=worker, v=victim: fastpod.child_pid(w) != v)
        fastpod.wait_for(lambda m=mark: bool(fastpod.since(m, "all sources seen")), timeout=20)
    time.sleep(2.5)  # a resync period of the restarted workers
    assert {c["Id"] for c in managed()} == before, "no container created or removed"
    assert all(c["State"]["Running"] for c in managed())


def test_a_sidecar_starts_first_and_keeps_running_beside_the_main_container(
    manifests: Path, fastpod: RunningFastpod
) -> None:
    extra = f"""\
  initContainers:
  - name: proxy
    image: {BUSYBOX}
    imagePullPolicy: Never
    restartPolicy: Always
    command: ["sleep", "3600"]
"""
    (manifests / "meshed.yaml").write_bytes(manifest("meshed", extra=extra))
    wait_until(
        lambda: (
            len(running_containers("meshed")) == 1
            and len(running_containers("meshed", "proxy")) == 1
        )
    )
    started = [r["container"] for r in fastpod.events("container started", pod=pod_key("meshed"))]
    assert started == ["proxy", "main"]
    (proxy,) = running_containers("meshed", "proxy")
    docker("kill", proxy["Id"])
    wait_until(
        lambda: (
            [
                c["Config"]["Labels"]["io.kubernetes.container.restartCount"]
                for c in running_containers("meshed", "proxy")
            ]
            == ["1"]
        )
    )
    assert len(running_containers("meshed")) == 1, "the main container was left alone"
