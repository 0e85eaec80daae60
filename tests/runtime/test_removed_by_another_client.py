"""A container or sandbox another client removed between fastpod's listing and its call
(several agents, or test runs, cleaning one runtime): fastpod's adapters take it as already
gone, as the CRI's stop and remove calls are idempotent, on real Docker and containerd."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.engines import Engine, start_pod


def test_stopping_and_removing_what_another_client_removed_first_succeeds(
    engine: Engine, tmp_path: Path
) -> None:
    async def main() -> None:
        runtime = engine.adapter(str(tmp_path / "logs"))
        try:
            pod, sandbox_id, container_id = await start_pod(runtime, tmp_path, "gone")

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
