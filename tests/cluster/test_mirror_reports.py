"""The static pods as the cluster process holds them from the workers' reports: a pod with
its status, a status that came first, a removal, and the pods a worker no longer names
once it has named all it holds."""

from __future__ import annotations

import json

from fastpod.cluster.mirror_reports import ReportedPods
from fastpod.ipc.messages import PodsReported, PodStatusReported, StaticPodReported, StatusQuery


def reported(key: str, uid: str, worker: int = 0) -> StaticPodReported:
    namespace, name = key.split("/")
    pod = {"metadata": {"name": name, "namespace": namespace, "uid": uid}, "spec": {}}
    return StaticPodReported(worker, key, json.dumps(pod).encode())


def status(key: str, uid: str, phase: str, worker: int = 0) -> PodStatusReported:
    return PodStatusReported(worker, key, uid, json.dumps({"phase": phase}).encode())


def test_a_pod_and_its_status_are_held_and_each_change_is_told() -> None:
    pods = ReportedPods(workers=1)
    told: list[str] = []
    pods.changed = told.append
    assert pods.take(reported("default/web", "u1"))
    assert pods.take(status("default/web", "u1", "Running"))
    assert pods.pods["default/web"].status == {"phase": "Running"}
    assert told == ["default/web", "default/web"]
    assert not pods.take(StatusQuery(1))


def test_a_status_for_another_uid_waits_for_its_pod() -> None:
    pods = ReportedPods(workers=1)
    pods.take(reported("default/web", "u1"))
    pods.take(status("default/web", "u2", "Pending"))
    assert pods.pods["default/web"].status is None
    pods.take(reported("default/web", "u2"))
    assert pods.pods["default/web"].status == {"phase": "Pending"}


def test_a_removed_pod_is_gone_and_told() -> None:
    pods = ReportedPods(workers=1)
    pods.take(reported("default/web", "u1"))
    told: list[str] = []
    pods.changed = told.append
    pods.take(StaticPodReported(0, "default/web", b""))
    assert pods.pods == {}
    assert told == ["default/web"]


def test_pods_are_complete_once_every_worker_named_what_it_holds() -> None:
    pods = ReportedPods(workers=2)
    completed: list[bool] = []
    pods.completed = lambda: completed.append(True)
    pods.take(reported("default/web", "u1", worker=0))
    pods.take(reported("default/old", "u2", worker=0))
    pods.take(reported("default/db", "u3", worker=1))
    pods.take(PodsReported(0, ("default/web",)))
    assert not pods.complete
    assert sorted(pods.pods) == ["default/db", "default/web"], "only worker 0's unnamed pod"
    assert completed == []
    pods.take(PodsReported(1, ("default/db",)))
    assert pods.complete
    assert completed == [True]
