"""A manifest removed while the worker that decodes it is down, end to end on the fake
runtime: its pod, owned by another worker, must still go (found by the fault suite,
bench/chaos: the owner kept the claim of a file no decoder knew of any more)."""

from __future__ import annotations

import itertools
import os
import signal
import time
from pathlib import Path

import pytest

from fastpod.ipc.messages import shard_of
from tests.support.http_server import Reply, Server
from tests.support.pods import pod_document, pod_key, pod_list, pod_manifest
from tests.support.running import RunningFastpod

pytestmark = pytest.mark.e2e


def test_a_manifest_removed_while_its_decoder_is_down_removes_its_pod(tmp_path: Path) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    # decoded by worker 0, its pod owned by worker 1
    name = next(
        f"pod{index}"
        for index in itertools.count()
        if shard_of(str(manifests / f"pod{index}.yaml"), 2) == 0
        and shard_of(pod_key(f"pod{index}"), 2) == 1
    )
    path = manifests / f"{name}.yaml"
    path.write_bytes(pod_manifest(name))
    fastpod = RunningFastpod(["--pod-manifest-path", str(manifests)])
    try:
        fastpod.wait_for_event("all sources seen", 2)
        assert pod_key(name) in fastpod.desired()
        decoder = fastpod.child_pid("worker-0")

        os.kill(decoder, signal.SIGKILL)
        path.unlink()  # the watcher tells a worker 0 not yet started again

        fastpod.wait_for(lambda: fastpod.child_pid("worker-0") != decoder)
        fastpod.wait_for(lambda: pod_key(name) not in fastpod.desired(), timeout=20)
        (removed,) = fastpod.events("pod removed", pod=pod_key(name))
        assert removed["process"] == "worker-1"
    finally:
        fastpod.stop()


def test_url_pods_stay_when_their_decoder_restarts_after_the_watcher_while_the_url_fails(
    tmp_path: Path, server: Server
) -> None:
    """The watcher started again has no URL body to send again until a poll succeeds:
    the restarted decoder says nothing of the URL's pods, and they stay, as a failing URL
    keeps its pods."""
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    server.serve("/pods", Reply(200, pod_list(pod_document("a"), pod_document("b"))))
    url = server.url("/pods")
    decoder = f"worker-{shard_of(url, 2)}"
    fastpod = RunningFastpod(
        [
            "--pod-manifest-path",
            str(manifests),
            "--manifest-url",
            url,
            "--http-check-frequency",
            "0.2",
        ]
    )
    try:
        fastpod.wait_for(lambda: set(fastpod.desired()) == {pod_key("a"), pod_key("b")})
        server.serve("/pods", Reply(500, b"down"))
        watcher = fastpod.child_pid("watcher")
        os.kill(watcher, signal.SIGKILL)
        fastpod.wait_for(lambda: fastpod.child_pid("watcher") != watcher)
        mark = fastpod.mark()
        victim = fastpod.child_pid(decoder)
        os.kill(victim, signal.SIGKILL)
        fastpod.wait_for(lambda: fastpod.child_pid(decoder) != victim)
        fastpod.wait_for(lambda: bool(fastpod.since(mark, "manifest URL failed")))
        time.sleep(1)  # the restarted decoder has had its file barrier
        assert set(fastpod.desired()) == {pod_key("a"), pod_key("b")}
        assert fastpod.events("pod removed") == []
    finally:
        fastpod.stop()
