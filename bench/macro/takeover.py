"""What taking over a kubelet's pods costs fastpod at start, beside what any agent must ask
the runtime to learn what runs.

    python -m bench.macro.takeover [docker|cri] [--pods 50] [--rounds 7]

``--pods`` single-container pods (busybox, host network) are left on the engine as the
kubelet and cri-dockerd or containerd make them (``tests/support/kubelet_pods.py``), with
manifests that match them all. Then, taking turns round after round:

- **takeover**: one worker's whole takeover of them (``worker/takeover.py``): ``survey``
  (the foreign pods listed, their names held) and ``settle`` (each container's creation
  config, its sandbox's namespaces and the image's defaults read, compared with what
  fastpod would run, each pod adopted and recorded under the root directory), through
  fastpod's own adapter, made afresh each round (a new client, an empty record directory);
- **floor**: the runtime's own listing and one look at every sandbox and container, at the
  same concurrency, through a bare client: Docker's ``GET /containers/json`` and ``GET
  /containers/<id>/json`` each; the CRI's ``ListPodSandbox``, ``ListContainers``, then
  ``PodSandboxStatus`` and a verbose ``ContainerStatus`` each.

Prints the medians of the wall time and of this process's CPU time, and their ratio. The
engine lock of the tests is held throughout, so no test runs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import quote

import aiohttp
import grpc.aio
from cri_api.v1 import api_pb2 as cri_pb
from cri_api.v1 import api_pb2_grpc as cri_grpc

from fastpod.config.settings import Config
from fastpod.ipc.messages import PodClaim
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource
from fastpod.worker.adoptions import AdoptionRecords
from fastpod.worker.desired import DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import worker_settings
from fastpod.worker.takeover import Takeover
from tests.support import containerd_engine
from tests.support.engine_lock import engines_held
from tests.support.engines import Engine, open_engine
from tests.support.kubelet_pods import (
    NAMESPACE,
    KubeletContainer,
    KubeletPod,
    leave,
    remove_left,
    static_manifest,
)

NODE = "node1"
COMMAND = "exec sleep 100000"


class Worker:
    """One worker about to take the pods ``names`` over: its desired pods decoded and its
    runtime client made (not timed), fresh for each round."""

    def __init__(self, engine: Engine, names: list[str], work: Path) -> None:
        root = tempfile.mkdtemp(dir=work)
        config = Config(
            node_name=NODE,
            root_dir=root,
            pod_logs_dir=str(work / "logs"),
            runtime="docker" if engine.runtime == "docker" else "cri",
        )
        self.runtime = engine.adapter(str(work / "logs"))
        settings = worker_settings(config, "127.0.0.1")
        self.runner = PodRunner(self.runtime, settings, hold_until_listed=True)
        self.desired = DesiredPods()
        self.records = AdoptionRecords(root)
        self.takeover = Takeover(
            self.runner, self.records, enabled=True, owns=lambda key: True, speaks_for_node=True
        )
        self.claims = []
        for name in names:
            source = PodSource("file", f"/etc/kubernetes/manifests/{name}.yaml")
            pod = decode_pod(static_manifest(name, COMMAND), source, NODE).pod
            self.claims.append(PodClaim(f"{NAMESPACE}/{name}-{NODE}", source, pod))

    async def take_over(self) -> int:
        """The timed part: the claims taken in, the survey, the settle; how many adopted."""
        now = datetime.datetime.now(datetime.UTC)
        for claim in self.claims:
            for change in self.desired.apply(self.takeover.alias(claim), now)[0]:
                self.runner.submit(change)
        await self.takeover.survey(self.desired)
        await self.takeover.settle(self.desired)
        return len(self.takeover.aliases)

    async def close(self) -> None:
        tasks = [loop.task for loop in self.runner.loops.values() if loop.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.runtime.close()


async def takeover(engine: Engine, names: list[str], work: Path) -> tuple[float, float, int]:
    """One worker's takeover, timed as :func:`timed` times it."""
    worker = Worker(engine, names, work)
    try:
        return await timed(worker.take_over)
    finally:
        await worker.close()


async def docker_floor() -> int:
    """The Engine's listing of the kubelet's objects and one inspection of each."""
    connector = aiohttp.UnixConnector(path="/var/run/docker.sock", limit=64)
    async with aiohttp.ClientSession("http://docker", connector=connector) as session:
        filters = quote(json.dumps({"label": ["io.kubernetes.pod.uid"]}))
        async with session.get(f"/containers/json?all=1&filters={filters}") as reply:
            listed = await reply.json()

        async def inspect(container_id: str) -> object:
            async with session.get(f"/containers/{container_id}/json") as reply:
                return await reply.json()

        inspected = await asyncio.gather(*(inspect(item["Id"]) for item in listed))
    return len(inspected)


async def cri_floor() -> int:
    """The CRI's listings of the node and one status of each sandbox and container."""
    async with grpc.aio.insecure_channel(containerd_engine.TARGET) as channel:
        # the generated gRPC stubs carry no types
        runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
        sandboxes = await runtime.ListPodSandbox(cri_pb.ListPodSandboxRequest())
        containers = await runtime.ListContainers(cri_pb.ListContainersRequest())
        statuses = await asyncio.gather(
            *(
                runtime.PodSandboxStatus(cri_pb.PodSandboxStatusRequest(pod_sandbox_id=s.id))
                for s in sandboxes.items
            ),
            *(
                runtime.ContainerStatus(
                    cri_pb.ContainerStatusRequest(container_id=c.id, verbose=True)
                )
                for c in containers.containers
            ),
        )
    return len(statuses)


async def timed(call: Callable[[], Awaitable[int]]) -> tuple[float, float, int]:
    """Wall time (s), this process's CPU time (s), and what ``call`` answered."""
    wall, cpu = time.perf_counter(), time.process_time()
    answer = await call()
    return time.perf_counter() - wall, time.process_time() - cpu, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("engine", nargs="?", default="docker", choices=["docker", "cri"])
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=7)
    options = parser.parse_args()
    with engines_held(), tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        engine = open_engine(options.engine)
        names = [f"bench{index}" for index in range(options.pods)]
        try:
            remove_left(engine)
            for name in names:
                container = KubeletContainer("main", ["sh", "-c", COMMAND])
                pod = KubeletPod(f"{name}-{NODE}", [container], labels={"app": name})
                leave(engine, pod, work / "kubelet-root", work / "logs")
            floor = docker_floor if engine.runtime == "docker" else cri_floor
            results: dict[str, list[tuple[float, float]]] = {"takeover": [], "floor": []}
            for round_ in range(options.rounds + 1):
                taken = asyncio.run(takeover(engine, names, work))
                looked = asyncio.run(timed(floor))
                assert taken[2] == options.pods, f"adopted {taken[2]} of {options.pods}"
                if round_ > 0:  # the first round warms both up
                    results["takeover"].append(taken[:2])
                    results["floor"].append(looked[:2])
            report(engine.runtime, options.pods, results)
        finally:
            with contextlib.suppress(Exception):
                remove_left(engine)
            engine.close()


def report(runtime: str, pods: int, results: dict[str, list[tuple[float, float]]]) -> None:
    """Medians and minima (the machine's noise only ever adds) of both, and their ratios."""
    print(f"takeover of {pods} kubelet pods on {runtime}, {len(results['floor'])} rounds:")
    for index, label in ((0, "wall"), (1, "cpu (this process)")):
        for name, pick in (("median", statistics.median), ("min", min)):
            mine = pick(figures[index] for figures in results["takeover"])
            floor = pick(figures[index] for figures in results["floor"])
            print(
                f"  {label:<19} {name:<6} takeover {mine * 1000:8.1f} ms | "
                f"floor {floor * 1000:8.1f} ms | ratio {mine / floor:5.2f}"
            )


if __name__ == "__main__":
    main()
