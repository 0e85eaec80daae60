"""``fastpod run`` on a node a kubelet left, end to end on real Docker and real containerd.

The kubelet's pods are made through each runtime's own API as the kubelet and cri-dockerd
or containerd's CRI make them (:mod:`tests.support.kubelet_pods`); then fastpod starts over
manifests that match some and differ for others, with the kubelet's root and log
directories. Read back from the runtime: the matching pod keeps its containers and their
start times; the differing one is stopped before fastpod's own starts (each writes the
host's uptime into a shared volume, as it stops and as it starts); the static pod no
manifest wants is removed; the API server's pod is untouched; a restart of fastpod
afterwards changes nothing at all; and the adopted pod is fastpod's from then on: its log
served, its removal done when its manifest goes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.engines import Engine, start, wait_until
from tests.support.kubelet_pods import (
    NAMESPACE,
    KubeletContainer,
    KubeletPod,
    Seen,
    leave,
    seen,
    static_manifest,
)
from tests.support.running import RunningFastpod, free_port

pytestmark = pytest.mark.e2e

UPTIME = "read up rest < /proc/uptime; echo $up"
STOPPING = f"trap '{UPTIME} > /data/stopped; exit 0' TERM; while true; do sleep 0.1; done"
"""The kubelet's db: notes when it was asked to stop."""
STARTING = f"{UPTIME} > /data/started; exec sleep 3600"
"""The manifest's db: notes when it started."""
GREETING = "echo hello from the kubelet; exec sleep 3600"
"""The kubelet's web, and its manifest: says something to its log."""


def kubelets(name: str, command: str, data: Path, *, read_only: bool) -> KubeletPod:
    """The pod the kubelet ran for :func:`~tests.support.kubelet_pods.static_manifest` with
    ``command`` and ``data``."""
    volume = (str(data), "/data", read_only)
    container = KubeletContainer("main", ["sh", "-c", command], volumes=[volume])
    return KubeletPod(f"{name}-node1", [container], labels={"app": name})


def by_id(objects: list[Seen]) -> dict[str, Seen]:
    return {each.id: each for each in objects}


def running_containers(engine: Engine, pod: str) -> list[Seen]:
    return [each for each in seen(engine, pod) if not each.sandbox and each.running]


def fastpod_on(engine: Engine, manifests: Path, tmp_path: Path) -> RunningFastpod:
    return start(engine, manifests, tmp_path, resync_period="1", api_port=free_port())


def test_fastpod_adopts_replaces_and_removes_what_the_kubelet_left_and_keeps_it_so(
    kubelet: Engine, manifests: Path, tmp_path: Path
) -> None:
    root, logs = tmp_path / "root", tmp_path / "logs" / "pods"
    data = tmp_path / "data"
    data.mkdir()
    web = kubelets("web", GREETING, data, read_only=True)
    db = kubelets("db", STOPPING, data, read_only=False)
    old = kubelets("old", "sleep 3600", data, read_only=True)
    proxy = KubeletPod("proxy-x7", [KubeletContainer("proxy", ["sleep", "3600"])], source="api")
    for pod in (web, db, old, proxy):
        leave(kubelet, pod, root, logs)
    web_before = by_id(seen(kubelet, web.name))
    proxy_before = by_id(seen(kubelet, proxy.name))
    (manifests / "web.yaml").write_bytes(static_manifest("web", GREETING, data=(data, True)))
    (manifests / "db.yaml").write_bytes(static_manifest("db", STARTING, data=(data, False)))

    fastpod = fastpod_on(kubelet, manifests, tmp_path)
    try:
        wait_until(lambda: any(c.fastpods for c in running_containers(kubelet, db.name)), 60)
        wait_until(lambda: seen(kubelet, old.name) == [], 30)
        fastpod.wait_for_event("foreign pod adopted", pod=f"{NAMESPACE}/{web.name}")
        fastpod.wait_for_api()
        # the kubelet's web runs on, untouched, and is fastpod's now
        assert by_id(seen(kubelet, web.name)) == web_before
        assert fastpod.served_pods()[web.name]["metadata"]["uid"] == web.uid
        wait_until(lambda: fastpod.served_pods()[web.name]["status"]["phase"] == "Running")
        # the kubelet's db was stopped before fastpod's started
        assert {each.uid for each in seen(kubelet, db.name)} != {db.uid}
        stopped = float((data / "stopped").read_text())
        wait_until(lambda: (data / "started").exists())
        assert stopped <= float((data / "started").read_text())
        (difference,) = fastpod.events("foreign pod differs", pod=f"{NAMESPACE}/{db.name}")
        assert difference["container"] == "main"
        assert difference["difference"].startswith("command: runs")
        # the API server's pod is no business of fastpod's
        assert by_id(seen(kubelet, proxy.name)) == proxy_before
        assert fastpod.events("foreign pods left alone")[0]["pods"] >= 1
        settled = by_id(seen(kubelet))
    finally:
        fastpod.stop()

    again = fastpod_on(kubelet, manifests, tmp_path)
    try:
        again.wait_for_event("all sources seen", count=2)
        again.wait_for_api()
        wait_until(lambda: again.served_pods()[db.name]["status"]["phase"] == "Running")
        wait_until(lambda: again.served_pods()[web.name]["status"]["phase"] == "Running")
        assert again.served_pods()[web.name]["metadata"]["uid"] == web.uid
        assert by_id(seen(kubelet)) == settled
        assert again.events("foreign pod adopted") == []
        assert again.events("foreign pod replaced") == []
        assert by_id(seen(kubelet)) == settled
        # the adopted pod's log, where the kubelet's runtime writes it, is fastpod's to serve
        status, log = again.get(f"/containerLogs/{NAMESPACE}/{web.name}/main")
        assert (status, log) == (200, b"hello from the kubelet\n")
        # and its removal is fastpod's to do
        (manifests / "web.yaml").unlink()
        wait_until(lambda: seen(kubelet, web.name) == [], 30)
        assert [each for each in seen(kubelet) if each.uid == web.uid] == []
    finally:
        again.stop()


def test_with_taking_over_off_the_kubelets_pod_runs_on_and_fastpods_is_refused(
    kubelet: Engine, manifests: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    web = kubelets("web", "sleep 3600", data, read_only=True)
    leave(kubelet, web, tmp_path / "root", tmp_path / "logs" / "pods")
    before = by_id(seen(kubelet))
    (manifests / "web.yaml").write_bytes(static_manifest("web", "sleep 60", data=(data, True)))

    fastpod = start(
        kubelet,
        manifests,
        tmp_path,
        "--adopt-foreign-pods=false",
        resync_period="1",
        api_port=free_port(),
    )
    try:
        fastpod.wait_for_event("pod refused", pod=f"{NAMESPACE}/{web.name}")
        fastpod.wait_for_api()
        status = fastpod.served_pods()[web.name]["status"]
        waiting = status["containerStatuses"][0]["state"]["waiting"]
        assert "--adopt-foreign-pods=false" in waiting["message"]
        assert by_id(seen(kubelet)) == before
    finally:
        fastpod.stop()
