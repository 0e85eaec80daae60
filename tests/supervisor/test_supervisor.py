"""The supervisor, end to end: children killed and restarted, clean stops, heavy churn."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.pods import NODE, pod_key, pod_manifest
from tests.support.running import RunningFastpod, write_atomically

pytestmark = pytest.mark.e2e

PODS = 40


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    directory = tmp_path / "manifests"
    directory.mkdir()
    for index in range(PODS):
        (directory / f"pod-{index}.yaml").write_bytes(pod_manifest(f"pod-{index}"))
    return directory


@pytest.fixture
def running(manifests: Path) -> Iterator[RunningFastpod]:
    fastpod = RunningFastpod(["--pod-manifest-path", str(manifests)])
    fastpod.wait_for(lambda: len(fastpod.desired()) == PODS)
    fastpod.wait_for_event("all sources seen", count=2)
    yield fastpod
    fastpod.stop()


def owned_by(fastpod: RunningFastpod, worker: str) -> set[str]:
    return {record["pod"] for record in fastpod.events("pod added", process=worker)}


def test_a_killed_worker_is_restarted_and_holds_its_pods_again_exactly_once(
    running: RunningFastpod,
) -> None:
    before = running.desired()
    victim = running.child_pid("worker-1")
    its_pods = owned_by(running, "worker-1")
    assert its_pods, "the test needs worker-1 to own some pods"
    mark = running.mark()
    os.kill(victim, signal.SIGKILL)
    running.wait_for(lambda: running.child_pid("worker-1") != victim)
    running.wait_for(
        lambda: {r["pod"] for r in running.since(mark, "pod added")} == its_pods, timeout=10
    )
    running.wait_for(lambda: len(running.since(mark, "all sources seen")) == 1)
    readded = [record["pod"] for record in running.since(mark, "pod added")]
    assert sorted(readded) == sorted(its_pods), "each pod once, only the dead worker's"
    assert running.since(mark, "pod removed") == []
    assert running.desired() == before
    assert running.since(mark, "process died")[0]["exit"] == "killed by SIGKILL"


def test_a_killed_watcher_is_restarted_without_touching_any_pod(
    running: RunningFastpod, manifests: Path
) -> None:
    before = running.desired()
    victim = running.child_pid("watcher")
    mark = running.mark()
    os.kill(victim, signal.SIGKILL)
    running.wait_for(lambda: running.child_pid("watcher") != victim)
    write_atomically(str(manifests / "after.yaml"), pod_manifest("after"))
    running.wait_for(lambda: pod_key("after") in running.desired())
    assert [record["pod"] for record in running.since(mark, "pod added")] == [pod_key("after")]
    assert running.since(mark, "pod removed") == []
    assert {k: v for k, v in running.desired().items() if k != pod_key("after")} == before


def test_a_file_deleted_while_the_watcher_was_dead_is_removed_by_its_successor(
    running: RunningFastpod, manifests: Path
) -> None:
    victim = running.child_pid("watcher")
    os.kill(victim, signal.SIGSTOP)
    (manifests / "pod-3.yaml").unlink()
    os.kill(victim, signal.SIGKILL)
    running.wait_for(lambda: pod_key("pod-3") not in running.desired())
    assert len(running.desired()) == PODS - 1


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_ends_every_process_cleanly(running: RunningFastpod, signum: int) -> None:
    children = running.children()
    assert len(children) >= 3
    running.signal(signum)
    assert running.process.wait(5) == 0
    _, alive = psutil.wait_procs(children, timeout=1)
    assert alive == []
    assert running.events("fastpod stopped")
    assert running.events("process killed") == [], "every child left on SIGTERM"
    assert b"Traceback" not in b"".join(running.raw_lines)


def test_a_child_that_does_not_leave_on_sigterm_is_killed_after_the_grace(
    running: RunningFastpod,
) -> None:
    """The grace is under a second, so a stop never takes longer, whatever a child does."""
    children = running.children()
    os.kill(running.child_pid("worker-0"), signal.SIGSTOP)
    running.signal(signal.SIGTERM)
    assert running.process.wait(5) == 0
    _, alive = psutil.wait_procs(children, timeout=1)
    assert alive == []
    assert [record["child"] for record in running.events("process killed")] == ["worker-0"]


def test_children_die_with_a_killed_supervisor(running: RunningFastpod) -> None:
    children = running.children()
    running.signal(signal.SIGKILL)
    running.process.wait(5)
    _, alive = psutil.wait_procs(children, timeout=3)
    assert alive == []


def test_churn_over_two_thousand_manifests_ends_in_exactly_the_desired_set(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "churn"
    directory.mkdir()
    rng = random.Random(20261124)
    present: dict[str, str] = {}  # file name → pod name
    for index in range(2000):
        name = f"pod-{index}"
        (directory / f"{name}.yaml").write_bytes(pod_manifest(name))
        present[f"{name}.yaml"] = name
    fastpod = RunningFastpod(
        ["--pod-manifest-path", str(directory), "--file-check-frequency", "2"], workers=2
    )
    try:
        fastpod.wait_for(lambda: len(fastpod.desired()) == 2000, timeout=30)
        serial = 2000
        for _ in range(1500):
            operation = rng.choice(("create", "modify", "rename", "delete"))
            if operation == "create" or not present:
                name = f"pod-{serial}"
                serial += 1
                write_atomically(str(directory / f"{name}.yaml"), pod_manifest(name))
                present[f"{name}.yaml"] = name
                continue
            file = rng.choice(sorted(present))
            if operation == "modify":
                image = f"busybox:1.{rng.randrange(30, 40)}"
                write_atomically(str(directory / file), pod_manifest(present[file], image=image))
            elif operation == "rename":
                target = f"renamed-{serial}.yaml"
                serial += 1
                os.rename(directory / file, directory / target)
                present[target] = present.pop(file)
            else:
                (directory / file).unlink()
                del present[file]
        expected = {f"default/{name}-{NODE}" for name in present.values()}
        fastpod.wait_for(lambda: set(fastpod.desired()) == expected, timeout=30)
        fastpod.wait_for_event("all sources seen", count=2)
        # nothing still in flight changes it afterwards
        time.sleep(2.5)
        assert set(fastpod.desired()) == expected
        sources = {record["pod"]: record["source"] for record in fastpod.events("pod added")}
        for file, name in present.items():
            assert sources[f"default/{name}-{NODE}"] == str(directory / file)
    finally:
        fastpod.stop()
