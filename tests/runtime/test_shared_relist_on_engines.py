"""A death only a relist tells (a pod's sandbox) reaches whichever worker owns the pod.

On containerd 1.6 a sandbox's death is seen by the node's relist alone, which worker 0 makes
for both workers (``runtime/cri/relist_feed.py``); Docker has no relist (its event stream
tells each worker), so this runs on containerd only. The resync period is long, so that no
resync heals the death instead.
"""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine_lock import engines_held
from tests.support.engines import Engine, manifest, open_engine, start, wait_until
from tests.support.worker import name_in_shard


@pytest.fixture
def containerd() -> Iterator[Engine]:
    """containerd, with no fastpod container or sandbox before the test or after."""
    with engines_held():
        engine = open_engine("cri")
        try:
            engine.remove_all()
            yield engine
            engine.remove_all()
        finally:
            engine.close()


@pytest.mark.containerd
def test_a_dead_sandbox_comes_back_whichever_worker_owns_its_pod(
    containerd: Engine, tmp_path: Path
) -> None:
    engine = containerd
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    names = [name_in_shard(shard, 2, "relisted") for shard in (0, 1)]
    fastpod = start(engine, manifests, tmp_path, resync_period="300")
    try:
        for name in names:
            (manifests / f"{name}.yaml").write_bytes(manifest(name))

        def running(name: str) -> bool:
            return len(engine.containers(name, running_only=True)) == 1

        for name in names:
            wait_until(functools.partial(running, name))
        killed = set()
        for name in names:
            (sandbox,) = engine.sandboxes(name, ready_only=True)
            os.kill(sandbox.pid, signal.SIGKILL)
            killed.add(sandbox.id)

        def restarted(name: str) -> bool:
            return [c.restart_count for c in engine.containers(name, running_only=True)] == ["1"]

        for name in names:
            wait_until(functools.partial(restarted, name), timeout=20)
            (sandbox,) = engine.sandboxes(name, ready_only=True)
            assert sandbox.id not in killed
    finally:
        fastpod.stop()
