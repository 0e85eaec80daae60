"""A manifest removed while the worker that decodes it is down, end to end on the fake
runtime: its pod, owned by another worker, must still go (found by the fault suite,
bench/chaos: the owner kept the claim of a file no decoder knew of any more)."""

from __future__ import annotations

import itertools
import os
import signal
from pathlib import Path

import pytest

from fastpod.ipc.messages import shard_of
from tests.support.pods import pod_key, pod_manifest
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
