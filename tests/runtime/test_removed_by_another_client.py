"""A container or sandbox another client removed between fastpod's listing and its call
(several agents, or test runs, cleaning one runtime): fastpod's adapters take it as already
gone, as the CRI's stop and remove calls are idempotent, on real Docker and containerd."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastpod.manifest.decode import decode_pod
from fastpod.runtime.spec import PodContext, container_spec
from tests.support import FILE
from tests.support.engines import Engine, manifest
from tests.support.pods import NODE


def test_stopping_and_removing_what_another_client_removed_first_succeeds(
    engine: Engine, tmp_path: Path
) -> None:
    async def main() -> None:
        runtime = engine.adapter(str(tmp_path / "logs"))
        try:
            pod = decode_pod(manifest("gone"), FILE, NODE).pod
            assert pod.spec.containers is not None
            context = PodContext("127.0.0.1", "127.0.0.1", str(tmp_path / "volumes"))
            spec = container_spec(pod, pod.spec.containers[0], 0, "regular", context)
            sandbox_id = await runtime.run_pod_sandbox(pod, 0)
            container_id = await runtime.create_container(sandbox_id, pod, spec)
            await runtime.start_container(container_id)

            engine.remove_all()  # the other client
            assert engine.everything() == set()

            await runtime.stop_container(container_id, 0)
            await runtime.remove_container(container_id)
            await runtime.stop_pod_sandbox(sandbox_id)
            await runtime.remove_pod_sandbox(sandbox_id)
            assert await runtime.list_pod_sandboxes(pod.metadata.uid) == []
        finally:
            await runtime.close()

    asyncio.run(main())
