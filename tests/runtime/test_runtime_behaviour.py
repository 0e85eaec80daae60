"""Pods on every real runtime, end to end through ``fastpod run``: Docker and containerd (CRI).

Each test runs once per runtime (the ``engine`` fixture) and reads what runs through
:mod:`tests.support.engines`: the kubelet's labels, the sandbox's hostname and network,
restarts and their counts, what is removed and what is kept. What only Docker has (its
container names, ``docker inspect``'s HostConfig, a restarted daemon) is in test_docker.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from fastpod.config.settings import Config
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource
from fastpod.runtime.factory import create_runtime
from fastpod.runtime.spec import PodContext, container_spec
from tests.support import DATA, containerd_engine
from tests.support.engines import (
    BUSYBOX,
    ContainerView,
    Engine,
    manifest,
    start,
    wait_until,
)
from tests.support.pods import NODE, pod_key
from tests.support.probe_status import readiness
from tests.support.running import RunningFastpod, fastpod_cli, free_port, write_atomically

EXPECTATIONS = DATA / "corpus_expectations.tsv"
DEFAULT_MESSAGE_PATH = "/dev/termination-log"


@pytest.fixture
def fastpod(engine: Engine, manifests: Path, tmp_path: Path) -> Iterator[RunningFastpod]:
    running = start(engine, manifests, tmp_path)
    yield running
    running.stop()


def running(engine: Engine, pod: str, container: str = "main") -> list[ContainerView]:
    return engine.containers(pod, container, running_only=True)


def test_a_pod_runs_as_a_sandbox_and_its_containers_with_the_kubelet_labels(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    (manifests / "host.yaml").write_bytes(manifest("host", host_network=True))
    wait_until(lambda: len(running(engine, "web")) == 1 and len(running(engine, "host")) == 1)
    (container,) = running(engine, "web")
    labels = container.labels
    assert labels["io.kubernetes.pod.name"] == f"web-{NODE}"
    assert labels["io.kubernetes.pod.namespace"] == "default"
    assert labels["io.kubernetes.container.name"] == "main"
    assert labels["io.kubernetes.container.restartCount"] == "0"
    assert labels["io.kubernetes.container.hash"]
    assert labels["io.fastpod.managed"] == "true"
    uid = labels["io.kubernetes.pod.uid"]
    assert uid == fastpod.desired()[pod_key("web")]
    (sandbox,) = engine.sandboxes(uid=uid)
    assert sandbox.labels["app"] == "web", "the pod's own labels on the sandbox"
    assert sandbox.labels["io.kubernetes.pod.name"] == f"web-{NODE}"
    assert sandbox.hostname == f"web-{NODE}"
    assert not sandbox.host_network
    for kind in ("net", "ipc"):
        assert container.namespace(kind) == sandbox.namespace(kind), f"the sandbox's {kind}"
    assert container.hostname == f"web-{NODE}"
    assert container.command == ["sh", "-c", "sleep 3600"]

    (host_sandbox,) = engine.sandboxes("host")
    assert host_sandbox.host_network
    assert host_sandbox.hostname == socket.gethostname(), "the host's name under its network"
    (host_container,) = running(engine, "host")
    assert host_container.namespace("net") == host_sandbox.namespace("net")
    assert host_container.hostname == socket.gethostname()


def test_a_killed_container_is_restarted_with_the_next_restart_count(
    engine: Engine, manifests: Path, fastpod: RunningFastpod, tmp_path: Path
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running(engine, "web")) == 1)
    (first,) = running(engine, "web")
    engine.kill(first)
    wait_until(lambda: [c.restart_count for c in running(engine, "web")] == ["1"])
    dead = [c for c in engine.containers("web", "main") if not c.running]
    assert [c.id for c in dead] == [first.id], "the dead one is kept, once"
    assert dead[0].exit_code == 137
    log_dir = tmp_path / "logs" / "pods" / f"default_web-{NODE}_{first.pod_uid}" / "main"
    wait_until(lambda: (log_dir / "1.log").exists())
    assert (log_dir / "0.log").exists(), "the dead one's log is kept"
    fastpod.wait_for_event("container exited", pod=pod_key("web"))


def test_a_pod_whose_sandbox_dies_comes_back_in_a_new_sandbox_each_time(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    # no resync in the test's time: the death is seen as it happens (Docker's die event,
    # containerd's relist), and the sync it wakes must see the sandbox dead
    fastpod = start(engine, manifests, tmp_path, resync_period="300")
    try:
        (manifests / "web.yaml").write_bytes(manifest("web"))
        killed: list[str] = []
        for restarts in ("1", "2"):
            wait_until(lambda: len(running(engine, "web")) == 1)
            (sandbox,) = engine.sandboxes("web", ready_only=True)
            os.kill(sandbox.pid, signal.SIGKILL)
            killed.append(sandbox.id)

            def restarted(count: str = restarts) -> bool:
                return [c.restart_count for c in running(engine, "web")] == [count]

            wait_until(restarted)
        wait_until(lambda: len(engine.sandboxes("web")) == 1)
        (last,) = engine.sandboxes("web", ready_only=True)
    finally:
        fastpod.stop()
    assert last.id not in killed
    assert len(running(engine, "web")) == 1


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
    engine: Engine, manifests: Path, fastpod: RunningFastpod
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
    wait_until(lambda: len(running(engine, "ordered")) == 1)
    (main,) = running(engine, "ordered")
    # the runtime writes the log as the process writes: wait for the two lines
    wait_until(lambda: len(engine.output(main).split()) >= 2)
    assert engine.output(main).split() == ["first", "second"]
    # the log line comes just after the runtime has started the container
    fastpod.wait_for_event("container started", pod=pod_key("ordered"), container="main")
    started = [r["container"] for r in fastpod.events("container started", pod=pod_key("ordered"))]
    assert started == ["first", "second", "main"]


def test_an_edit_replaces_the_pod_old_fully_stopped_first(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(manifest("web"))
    wait_until(lambda: len(running(engine, "web")) == 1)
    (old,) = running(engine, "web")
    write_atomically(str(manifests / "web.yaml"), manifest("web", command="sleep 3601"))
    wait_until(lambda: [c.command for c in running(engine, "web")] == [["sh", "-c", "sleep 3601"]])

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
    assert stopped[0]["uid"] == old.pod_uid
    assert old.id not in engine.everything(), "the old pod's containers are gone"
    assert engine.sandboxes(uid=old.pod_uid) == [], "and its sandbox"


def test_a_pod_replaced_just_as_its_container_exits_leaves_nothing_behind(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    """Each edit replaces the pod as soon as its container has started, a container that
    exits at once: the runtime may still be recording that exit when the old pod is
    stopped and removed, and nothing of it may stay. (On containerd 1.6 a container whose
    task is gone stays CONTAINER_RUNNING until its exit is handled: StopContainer returns
    at once or fails with "ttrpc: closed", RemoveContainer fails with "container is still
    running, to stop first"; a few edits in twenty meet that window, hence twenty.)"""
    path = str(manifests / "flash.yaml")

    def started() -> int:
        return len(fastpod.events("container started", pod=pod_key("flash")))

    for edit in range(20):
        write_atomically(path, manifest("flash", command=f"echo {edit}; exit 2"))
        fastpod.wait_for(lambda: started() > edit)  # noqa: B023 (waited for right here)
    write_atomically(path, manifest("flash", command="sleep 3600"))
    wait_until(
        lambda: [c.command for c in running(engine, "flash")] == [["sh", "-c", "sleep 3600"]]
    )
    (last,) = running(engine, "flash")
    with contextlib.suppress(AssertionError):  # what is left is said below
        wait_until(lambda: len(engine.everything()) == 2)
    failed = [record["error"] for record in fastpod.events("runtime call failed")]
    left = [(c.pod_uid, c.state) for c in engine.containers() if c.id != last.id]
    assert left == [], f"old pods' containers left behind; fastpod's failed calls: {failed}"
    assert [s.pod_uid for s in engine.sandboxes()] == [last.pod_uid], failed
    assert failed == []


def test_a_removed_manifest_stops_and_removes_everything(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    (manifests / "web.yaml").write_bytes(
        manifest("web", extra="  volumes: [{name: scratch, emptyDir: {}}]\n")
    )
    wait_until(lambda: len(running(engine, "web")) == 1)
    (manifests / "web.yaml").unlink()
    wait_until(lambda: engine.containers("web") == [] and engine.sandboxes("web") == [])
    # logged just after the runtime has removed the sandbox
    fastpod.wait_for_event("pod stopped", pod=pod_key("web"))


def test_a_restarted_fastpod_adopts_running_pods_without_restarting_one(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    for index in range(20):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    first = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: len(engine.containers(container="main", running_only=True)) == 20, 60)
        before = engine.everything()
    finally:
        first.signal(signal.SIGKILL)
        first.process.wait(5)
    (manifests / "pod-0.yaml").unlink()
    second = start(engine, manifests, tmp_path)
    try:
        second.wait_for_event("all sources seen", count=2)
        wait_until(lambda: not running(engine, "pod-0"))
        time.sleep(2.5)  # a resync period: nothing else may move
        after = engine.everything()
        decisions = [
            record
            for record in second.records
            if record.get("pod") and record["event"] != "pod added"
        ]
        assert after <= before, f"no container created; fastpod did: {decisions}"
        assert len(before - after) == 2, "only pod-0's sandbox and container removed"
        assert len(after) == 38, "19 pods, a sandbox and a container each, none duplicated"
        assert second.events("container started") == []
        assert second.events("orphan pod removed", pod=pod_key("pod-0"))
    finally:
        second.stop()


async def create_without_starting(
    engine: Engine, manifest_path: Path, tmp_path: Path, restart_count: int
) -> str:
    """Create the pod's ``main`` container in its sandbox through fastpod's own runtime
    adapter, as fastpod does before it starts one, and leave it unstarted."""
    pod = decode_pod(manifest_path.read_bytes(), PodSource("file", str(manifest_path)), NODE).pod
    config = Config(
        node_name=NODE,
        runtime="docker" if engine.runtime == "docker" else "cri",
        container_runtime_endpoint=containerd_engine.TARGET,
        pod_logs_dir=str(tmp_path / "logs" / "pods"),
    )
    runtime = create_runtime(config)
    try:
        (sandbox,) = await runtime.list_pod_sandboxes(pod.metadata.uid)
        main = (pod.spec.containers or [])[0]
        context = PodContext("127.0.0.1", "127.0.0.1", str(tmp_path / "volumes"))
        spec = container_spec(pod, main, restart_count, "regular", context)
        return await runtime.create_container(sandbox.id, pod, spec)
    finally:
        await runtime.close()


def test_a_container_left_created_is_started_again_as_a_new_one(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """fastpod died between creating a restart and starting it: the next fastpod starts a
    new container one restart further (the kubelet's ``ShouldContainerBeRestarted``), and
    the created one stays unstarted, kept as the newest of its name not running."""
    path = manifests / "web.yaml"
    path.write_bytes(manifest("web"))
    first = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: len(running(engine, "web")) == 1)
    finally:
        first.signal(signal.SIGKILL)
        first.process.wait(5)
    (original,) = running(engine, "web")
    engine.kill(original)
    wait_until(lambda: not running(engine, "web"))
    asyncio.run(create_without_starting(engine, path, tmp_path, restart_count=1))
    assert {c.restart_count: c.running for c in engine.containers("web", "main")} == {
        "0": False,
        "1": False,
    }
    second = start(engine, manifests, tmp_path)
    try:
        wait_until(lambda: [c.restart_count for c in running(engine, "web")] == ["2"])
        wait_until(lambda: len(engine.containers("web", "main")) == 2)
        left = {c.restart_count: c.running for c in engine.containers("web", "main")}
        assert left == {"1": False, "2": True}
        assert second.events("container started", pod=pod_key("web"))
    finally:
        second.stop()


def test_kubeadm_control_planes_from_the_corpus_come_up(
    corpus: Path, engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    """Every accepted kubeadm control-plane manifest, its image swapped for busybox sleeping."""
    expected: dict[str, dict[str, Any]] = {}
    for line in EXPECTATIONS.read_text().splitlines()[1:]:
        path, outcome = line.split("\t")[:2]
        name = os.path.basename(path)
        if outcome != "accept" or not name.startswith(
            ("kube-apiserver", "kube-controller", "kube-scheduler", "etcd")
        ):
            continue
        document = yaml.safe_load((corpus / path).read_text())
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
    wait_until(lambda: len(engine.containers(running_only=True)) == len(expected), timeout=90)
    for name, document in expected.items():
        spec = document["spec"]
        (container,) = engine.containers(name)
        assert container.running, name
        (sandbox,) = engine.sandboxes(uid=container.pod_uid)
        assert sandbox.host_network == bool(spec.get("hostNetwork")), name
        wanted = {m["mountPath"] for c in spec["containers"] for m in c.get("volumeMounts", [])}
        # and, as the kubelet mounts them, the pod's hosts file and the termination message's
        wanted |= {
            c.get("terminationMessagePath", DEFAULT_MESSAGE_PATH) for c in spec["containers"]
        }
        wanted.add("/etc/hosts")
        assert container.mounts == wanted, name
        assert container.command == ["sleep", "3600"], name


def test_a_missing_hostpath_directory_blocks_the_pod_with_a_clear_error(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
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
    assert engine.containers("blocked") == []
    assert engine.sandboxes("blocked") == []


def test_a_missing_image_with_pull_policy_never_waits_with_err_image_never_pull(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    body = manifest("absent").replace(BUSYBOX.encode(), b"fastpod.local/absent:1.0")
    (manifests / "absent.yaml").write_bytes(body)
    fastpod.wait_for_event("container waiting", pod=pod_key("absent"), reason="ErrImageNeverPull")
    assert running(engine, "absent") == []


def test_an_image_that_cannot_be_pulled_fails_then_waits_with_image_pull_back_off(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    # a registry on a port nothing listens on: refused at once, nothing leaves the machine
    body = manifest("unpulled").replace(BUSYBOX.encode(), b"127.0.0.1:1/absent:1.0")
    (manifests / "unpulled.yaml").write_bytes(body.replace(b"Never", b"IfNotPresent"))
    failure = fastpod.wait_for_event("image pull failed", pod=pod_key("unpulled"))[0]
    assert "127.0.0.1:1/absent:1.0" in failure["error"]
    fastpod.wait_for_event("container waiting", pod=pod_key("unpulled"), reason="ImagePullBackOff")
    assert running(engine, "unpulled") == []


def test_a_container_whose_image_went_away_is_not_restarted_under_pull_policy_never(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    doomed = "fastpod.local/doomed:1.0"
    engine.tag_image(BUSYBOX, doomed)
    try:
        (manifests / "doomed.yaml").write_bytes(
            manifest("doomed").replace(BUSYBOX.encode(), doomed.encode())
        )
        wait_until(lambda: len(running(engine, "doomed")) == 1)
        engine.untag_image(doomed)
        engine.kill(running(engine, "doomed")[0])
        fastpod.wait_for_event(
            "container waiting", pod=pod_key("doomed"), reason="ErrImageNeverPull"
        )
        assert running(engine, "doomed") == []
        assert fastpod.events("runtime call failed", pod=pod_key("doomed")) == []
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            engine.untag_image(doomed)


def test_random_edits_while_containers_crash_end_in_exactly_the_desired_containers(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    rng = random.Random(4)
    fastpod = start(engine, manifests, tmp_path, "--restart-backoff", "0.2", "1", resync_period="1")
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
        wanted = {
            f"pod-{index}-{NODE}": ["sh", "-c", f"sleep {3600 + index}"] for index in range(8)
        }

        def settled() -> bool:
            containers = engine.containers()
            sandboxes = engine.sandboxes()
            now = {c.pod_name: c.command for c in containers if c.running}
            return now == wanted and len(containers) == 8 and len(sandboxes) == 8

        wait_until(settled, timeout=120)
    finally:
        fastpod.stop()


def test_a_killed_worker_restarts_without_restarting_or_duplicating_a_container(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    for index in range(6):
        (manifests / f"pod-{index}.yaml").write_bytes(manifest(f"pod-{index}"))
    wait_until(lambda: all(len(running(engine, f"pod-{i}")) == 1 for i in range(6)))
    before = engine.everything()
    for worker in ("worker-0", "worker-1"):
        victim = fastpod.child_pid(worker)
        mark = fastpod.mark()
        os.kill(victim, signal.SIGKILL)

        def replaced(name: str = worker, old: int = victim) -> bool:
            return fastpod.child_pid(name) != old

        def resynced(since: int = mark) -> bool:
            return bool(fastpod.since(since, "all sources seen"))

        fastpod.wait_for(replaced)
        fastpod.wait_for(resynced, timeout=20)
    time.sleep(2.5)  # a resync period of the restarted workers
    assert engine.everything() == before, "no container created or removed"
    assert all(c.running for c in engine.containers())
    assert all(s.ready for s in engine.sandboxes())


def test_a_sidecar_starts_first_and_keeps_running_beside_the_main_container(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
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
        lambda: len(running(engine, "meshed")) == 1 and len(running(engine, "meshed", "proxy")) == 1
    )
    fastpod.wait_for_event("container started", pod=pod_key("meshed"), container="main")
    started = [r["container"] for r in fastpod.events("container started", pod=pod_key("meshed"))]
    assert started == ["proxy", "main"]
    (main,) = running(engine, "meshed")
    (proxy,) = running(engine, "meshed", "proxy")
    engine.kill(proxy)
    wait_until(lambda: [c.restart_count for c in running(engine, "meshed", "proxy")] == ["1"])
    assert [c.id for c in running(engine, "meshed")] == [main.id], "the main container left alone"


def test_pods_names_containers_and_images_as_the_kubelet_on_this_runtime_does(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """``containerID`` is ``<runtime>://<id>`` (``containerd://`` on the CRI runtime, as its
    Version reply names it) and ``imageID`` the runtime's own reference to the image."""
    (manifests / "web.yaml").write_bytes(manifest("web"))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: len(running(engine, "web")) == 1)

        def status() -> dict[str, Any]:
            (pod,) = json.loads(fastpod.get("/pods")[1])["items"]
            (container,) = pod["status"]["containerStatuses"]
            return dict(container)

        wait_until(lambda: "running" in status()["state"])
        shown = status()
        (container,) = running(engine, "web")
    finally:
        fastpod.stop()
    assert container.image_ref
    assert (shown["containerID"], shown["imageID"]) == (
        f"{engine.scheme}://{container.id}",
        container.image_ref,
    )


def test_the_pods_logs_are_read_through_fastpod_logs_across_a_restart(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """Docker's json-file through fastpod's link, containerd's CRI log file where it is."""
    command = "echo run $RANDOM; echo to stderr >&2; echo last; sleep 3600"
    (manifests / "talker.yaml").write_bytes(manifest("talker", command=command))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: len(running(engine, "talker")) == 1)

        def logs(*options: str) -> str | None:
            """What ``fastpod logs`` prints; None while it fails (no log file yet)."""
            result = fastpod_cli(tmp_path / "root", "logs", f"talker-{NODE}", *options)
            return result.stdout if result.returncode == 0 else None

        def complete(output: str | None) -> bool:
            """One run's three lines: stdout in order, stderr interleaved anywhere."""
            lines = (output or "").splitlines()
            stdout = [line for line in lines if line != "to stderr"]
            return (
                lines.count("to stderr") == 1
                and len(stdout) == 2
                and stdout[0].startswith("run ")
                and stdout[1] == "last"
            )

        wait_until(lambda: complete(logs()))
        first_run = logs()

        (container,) = running(engine, "talker")
        engine.kill(container)
        wait_until(lambda: [c.restart_count for c in running(engine, "talker")] == ["1"])
        assert logs("--previous") == first_run
        wait_until(lambda: complete(logs()))
        current = logs()
        assert current is not None
        assert logs("--tail", "1") == current.splitlines(keepends=True)[-1]
    finally:
        fastpod.stop()


def main_status(fastpod: RunningFastpod, pod: str) -> dict[str, Any]:
    """The ``main`` container's status in ``/pods``; ``{}`` while the pod is not listed."""
    for item in json.loads(fastpod.get("/pods")[1])["items"]:
        if item["metadata"]["name"] == f"{pod}-{NODE}":
            (status,) = item["status"].get("containerStatuses") or [{}]
            return dict(status)
    return {}


def terminated(fastpod: RunningFastpod, pod: str, state: str = "state") -> dict[str, Any]:
    """The ``main`` container's ``terminated`` (of ``state`` or ``lastState``), or ``{}``."""
    return dict(main_status(fastpod, pod).get(state, {}).get("terminated") or {})


def test_what_a_container_writes_to_dev_termination_log_is_its_terminated_message(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """Read again by a restarted fastpod, through the container's mounts; removed with the
    pod."""
    command = "printf 'disk full\\non /data' > /dev/termination-log; exit 1"
    (manifests / "writer.yaml").write_bytes(
        manifest("writer", command=command, restart_policy="Never")
    )
    first = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        first.wait_for_api()
        wait_until(lambda: terminated(first, "writer").get("exitCode") == 1)
        assert terminated(first, "writer")["message"] == "disk full\non /data"
    finally:
        first.stop()
    (container,) = engine.containers("writer", "main")
    pod_dir = tmp_path / "root" / "pods" / container.pod_uid
    (message_file,) = (pod_dir / "containers" / "main").iterdir()
    assert message_file.read_text() == "disk full\non /data"

    second = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        second.wait_for_api()
        wait_until(lambda: terminated(second, "writer").get("exitCode") == 1)
        assert terminated(second, "writer")["message"] == "disk full\non /data"
        assert second.events("container started") == [], "adopted, not started again"
        (manifests / "writer.yaml").unlink()
        wait_until(lambda: engine.containers("writer") == [])
        second.wait_for_event("pod stopped", pod=pod_key("writer"))
        assert not pod_dir.exists()
    finally:
        second.stop()


def test_fallback_to_logs_on_error_makes_a_failed_containers_log_tail_its_message(
    manifests: Path, engine: Engine, tmp_path: Path
) -> None:
    policy = "    terminationMessagePolicy: FallbackToLogsOnError\n"
    for name, command in (
        ("fails", "echo starting; echo no config >&2; exit 2"),
        ("ends", "echo ok"),
    ):
        (manifests / f"{name}.yaml").write_bytes(
            manifest(name, command=command, restart_policy="Never", extra=policy)
        )
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: terminated(fastpod, "fails").get("exitCode") == 2)
        wait_until(lambda: terminated(fastpod, "ends").get("reason") == "Completed")
        # both streams, each line whole: their order is the runtime's
        message = terminated(fastpod, "fails")["message"]
        assert sorted(message.splitlines(keepends=True)) == ["no config\n", "starting\n"]
        assert "message" not in terminated(fastpod, "ends"), "a success never falls back"
    finally:
        fastpod.stop()


def test_a_custom_termination_message_path_is_read_for_the_last_state_too(
    manifests: Path, engine: Engine, tmp_path: Path
) -> None:
    path = "    terminationMessagePath: /tmp/status/last-words\n"
    command = "echo -n run $(cat /proc/uptime) > /tmp/status/last-words; exit 3"
    (manifests / "custom.yaml").write_bytes(
        manifest("custom", command=command, restart_policy="OnFailure", extra=path)
    )
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: terminated(fastpod, "custom", "lastState").get("exitCode") == 3)
        message = terminated(fastpod, "custom", "lastState")["message"]
        assert message.startswith("run ")
        assert main_status(fastpod, "custom")["restartCount"] >= 1
    finally:
        fastpod.stop()


def test_a_termination_message_path_the_runtime_cannot_mount_fails_the_start_clearly(
    manifests: Path, engine: Engine, tmp_path: Path
) -> None:
    """A file cannot be mounted over the image's /etc: the runtime refuses to start the
    container; its error is an event and the terminated message, and the restarts wait
    out the crash-loop back-off."""
    extra = "    terminationMessagePath: /etc\n"
    (manifests / "unmountable.yaml").write_bytes(manifest("unmountable", extra=extra))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        (failed, *_) = fastpod.wait_for_event("runtime call failed", pod=pod_key("unmountable"))
        assert '"/etc"' in failed["error"]
        fastpod.wait_for_event(
            "container waiting", pod=pod_key("unmountable"), reason="CrashLoopBackOff"
        )
        last = terminated(fastpod, "unmountable", "lastState")
        assert last["exitCode"] in (127, 128), "a start failure's code (Docker's, containerd's)"
        if engine.runtime == "docker":
            # Docker keeps such a container "created": dockershim's name for it
            assert last["reason"] == "ContainerCannotRun"
        assert '"/etc"' in last["message"]
        assert fastpod.events("termination message file not created") == []
    finally:
        fastpod.stop()


def test_an_exec_liveness_probe_that_starts_failing_restarts_the_container(
    engine: Engine, manifests: Path, fastpod: RunningFastpod
) -> None:
    """The probe runs inside the container through the runtime (Docker exec, CRI ExecSync)."""
    probe = """\
    livenessProbe:
      exec: {command: [cat, /tmp/healthy]}
      periodSeconds: 1
      failureThreshold: 2
"""
    command = "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"
    (manifests / "web.yaml").write_bytes(manifest("web", command=command, extra=probe))
    wait_until(lambda: len(running(engine, "web")) == 1)
    (first,) = running(engine, "web")
    wait_until(lambda: [c.restart_count for c in running(engine, "web")] == ["1"], timeout=40)
    (dead,) = [c for c in engine.containers("web", "main") if not c.running]
    assert dead.id == first.id
    assert dead.exit_code in (137, 143)
    (failed, *_) = fastpod.wait_for_event("probe failed", pod=pod_key("web"))
    assert failed["detail"].startswith("Liveness probe failed: cat: can't open '/tmp/healthy'")
    (killed, *_) = fastpod.wait_for_event("container killed by probe", pod=pod_key("web"))
    assert killed["detail"] == "Container main failed liveness probe, will be restarted"


def test_an_exec_readiness_probe_flips_ready_both_ways_without_a_restart(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    probe = """\
    readinessProbe:
      exec: {command: [test, -e, /tmp/ready]}
      periodSeconds: 1
"""
    command = "sleep 2; touch /tmp/ready; sleep 4; rm /tmp/ready; sleep 3600"
    (manifests / "web.yaml").write_bytes(manifest("web", command=command, extra=probe))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()

        wait_until(lambda: len(running(engine, "web")) == 1)
        assert readiness(fastpod) == (False, "False", "False")
        wait_until(lambda: readiness(fastpod) == (True, "True", "True"))
        wait_until(lambda: readiness(fastpod) == (False, "False", "False"))
        assert [c.restart_count for c in running(engine, "web")] == ["0"]
    finally:
        fastpod.stop()


def test_an_http_readiness_probe_of_a_host_network_pod_flips_ready_both_ways(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """busybox httpd on the node's network; the probe asks the node's address."""
    port = free_port()
    probe = f"""\
    readinessProbe:
      httpGet: {{path: /ready, port: {port}}}
      periodSeconds: 1
"""
    command = (
        f"mkdir -p /www; httpd -p {port} -h /www; sleep 2; touch /www/ready; "
        "sleep 4; rm /www/ready; sleep 3600"
    )
    document = manifest("web", command=command, host_network=True, extra=probe)
    (manifests / "web.yaml").write_bytes(document)
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()

        wait_until(lambda: len(running(engine, "web")) == 1)
        wait_until(lambda: readiness(fastpod) == (True, "True", "True"))
        wait_until(lambda: readiness(fastpod) == (False, "False", "False"))
        assert [c.restart_count for c in running(engine, "web")] == ["0"]
        # probes before httpd listens fail with a refused connection; the 404 comes later
        fastpod.wait_for_event(
            "probe failed",
            pod=pod_key("web"),
            detail="Readiness probe failed: HTTP probe failed with statuscode: 404",
        )
    finally:
        fastpod.stop()


def test_an_http_readiness_probe_of_a_pod_network_pod_runs_in_its_namespace(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    """busybox httpd on the pod's own loopback, which the node cannot reach: the probe's
    socket is made inside the pod's network namespace."""
    probe = """\
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
"""
    command = (
        "mkdir -p /www; httpd -p 127.0.0.1:8080 -h /www; sleep 2; touch /www/ready; "
        "sleep 4; rm /www/ready; sleep 3600"
    )
    (manifests / "web.yaml").write_bytes(manifest("web", command=command, extra=probe))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()

        wait_until(lambda: len(running(engine, "web")) == 1)
        wait_until(lambda: readiness(fastpod) == (True, "True", "True"))
        wait_until(lambda: readiness(fastpod) == (False, "False", "False"))
        assert [c.restart_count for c in running(engine, "web")] == ["0"], "tcp liveness held"
        assert not fastpod.events("probe errored")
    finally:
        fastpod.stop()


def test_a_pod_past_its_active_deadline_is_stopped_and_reported_failed(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    extra = "  activeDeadlineSeconds: 3\n"
    (manifests / "web.yaml").write_bytes(manifest("web", extra=extra))
    fastpod = start(engine, manifests, tmp_path, api_port=free_port())
    try:
        fastpod.wait_for_api()
        wait_until(lambda: len(running(engine, "web")) == 1)

        def status() -> dict[str, Any]:
            (pod,) = json.loads(fastpod.get("/pods")[1])["items"]
            return dict(pod["status"])

        wait_until(lambda: status()["phase"] == "Failed")
        assert (status()["reason"], status()["message"]) == (
            "DeadlineExceeded",
            "Pod was active on the node longer than the specified deadline",
        )
        # reported as soon as decided; the stop takes the pod's grace
        wait_until(lambda: running(engine, "web") == [])
        wait_until(lambda: engine.sandboxes("web", ready_only=True) == [])
        time.sleep(2.5)  # past a resync period (2 s here): nothing comes back
        assert running(engine, "web") == []
        fastpod.wait_for_event("pod deadline exceeded", pod=pod_key("web"))
    finally:
        fastpod.stop()
