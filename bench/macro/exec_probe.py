"""An exec probe's command run in a container: fastpod's ``exec_sync`` beside the bare
runtime calls, per engine, in the same run.

    python -m bench.macro.exec_probe                 # docker, cri
    python -m bench.macro.exec_probe cri --samples 200

- ``docker``: ``DockerRuntime.exec_sync`` beside the same three Engine calls (create the
  exec, start it attached and read its output, inspect it) on a plain aiohttp client.
- ``cri``: ``CriRuntime.exec_sync`` beside a raw ``ExecSync`` on the generated stubs.

One busybox pod (``sleep 3600``) is started with fastpod's adapter and removed at the end
(nothing else is touched: tests may run beside it); the command is ``true``. The two take
turns, call by call, after a few unmeasured rounds; p50 and p99 of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable

import aiohttp
import grpc.aio
from cri_api.v1 import api_pb2 as cri_pb

from bench.macro.cri_client import SOCKET as CRI_SOCKET
from bench.macro.cri_client import Cri, pod_manifest
from bench.macro.docker import PAUSE
from bench.macro.docker import SOCKET as DOCKER_SOCKET
from bench.macro.pipeline import NODE, Result
from fastpod.manifest.decode import decode_pod
from fastpod.model import PodSource
from fastpod.runtime.base import Runtime
from fastpod.runtime.cri.runtime import CriRuntime
from fastpod.runtime.docker.runtime import DockerRuntime
from fastpod.runtime.spec import PodContext, container_spec

COMMAND = ["true"]
TIMEOUT = 10.0
WARMUP = 5
TARGET = "<= 1.1x"

Call = Callable[[], Awaitable[object]]


async def started_pod(runtime: Runtime) -> tuple[str, str]:
    """A busybox pod started through the adapter: its sandbox's and container's ids."""
    pod = decode_pod(
        pod_manifest("exec-probe").encode(), PodSource("file", "/bench/exec-probe.yaml"), NODE
    ).pod
    container = (pod.spec.containers or [])[0]
    context = PodContext("127.0.0.1", "127.0.0.1", "/nonexistent")
    sandbox_id = await runtime.run_pod_sandbox(pod, 0)
    container_id = await runtime.create_container(
        sandbox_id, pod, container_spec(pod, container, 0, "regular", context)
    )
    await runtime.start_container(container_id)
    return sandbox_id, container_id


async def removed(runtime: Runtime, sandbox_id: str, container_id: str) -> None:
    await runtime.stop_container(container_id, 0)
    await runtime.remove_container(container_id)
    await runtime.stop_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)


async def timed_turns(fastpod: Call, bare: Call, samples: int) -> tuple[list[float], list[float]]:
    """Milliseconds of each call of ``fastpod`` and of ``bare``, taking turns."""
    for _ in range(WARMUP):
        await fastpod()
        await bare()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(samples):
        for call, taken in ((fastpod, times[0]), (bare, times[1])):
            start = time.perf_counter()
            await call()
            taken.append((time.perf_counter() - start) * 1000)
    return times


def results(engine: str, bare: str, fastpod: list[float], floor: list[float]) -> list[Result]:
    def p99(values: list[float]) -> float:
        return statistics.quantiles(values, n=100, method="inclusive")[98]

    return [
        Result(
            f"{engine}: exec_sync {label}",
            pick(fastpod),
            "ms",
            f"{bare} {label}",
            pick(floor),
            TARGET,
        )
        for label, pick in (("p50", statistics.median), ("p99", p99))
    ]


async def bare_docker_exec(session: aiohttp.ClientSession, container_id: str) -> int:
    """The Engine's exec, as any client makes it: create, start attached, inspect."""
    body = {"AttachStdout": True, "AttachStderr": True, "Cmd": COMMAND}
    async with session.post(f"/containers/{container_id}/exec", json=body) as reply:
        exec_id = (await reply.json())["Id"]
    start = {"Detach": False, "Tty": False}
    async with session.post(f"/exec/{exec_id}/start", json=start) as reply:
        await reply.read()
    async with session.get(f"/exec/{exec_id}/json") as reply:
        return int((await reply.json())["ExitCode"])


async def scenario_docker(samples: int) -> list[Result]:
    runtime = DockerRuntime(PAUSE, DOCKER_SOCKET)
    connector = aiohttp.UnixConnector(path=DOCKER_SOCKET)
    session = aiohttp.ClientSession("http://docker", connector=connector)
    try:
        sandbox_id, container_id = await started_pod(runtime)
        try:
            fastpod, bare = await timed_turns(
                lambda: runtime.exec_sync(container_id, COMMAND, TIMEOUT),
                lambda: bare_docker_exec(session, container_id),
                samples,
            )
        finally:
            await removed(runtime, sandbox_id, container_id)
    finally:
        await session.close()
        await runtime.close()
    return results("docker", "bare Engine exec", fastpod, bare)


async def scenario_cri(samples: int) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="fastpod-exec-bench-") as logs:
        runtime = CriRuntime(f"unix://{CRI_SOCKET}", logs, relist_period=1.0)
        cri = Cri(CRI_SOCKET)
        try:
            sandbox_id, container_id = await started_pod(runtime)
            request = cri_pb.ExecSyncRequest(
                container_id=container_id, cmd=COMMAND, timeout=int(TIMEOUT)
            )
            try:
                fastpod, bare = await timed_turns(
                    lambda: runtime.exec_sync(container_id, COMMAND, TIMEOUT),
                    lambda: cri.runtime.ExecSync(request, timeout=TIMEOUT + 5),
                    samples,
                )
            finally:
                await removed(runtime, sandbox_id, container_id)
        finally:
            await cri.close()
            await runtime.close()
    return results("cri", "bare ExecSync", fastpod, bare)


SCENARIOS: dict[str, Callable[[int], Awaitable[list[Result]]]] = {
    "docker": scenario_docker,
    "cri": scenario_cri,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", metavar="|".join(SCENARIOS))
    parser.add_argument("--samples", type=int, default=50, help="calls of each (default 50)")
    arguments = parser.parse_args()
    unknown = [name for name in arguments.scenarios if name not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    if arguments.samples < 2:
        parser.error("--samples must be at least 2")

    async def run() -> None:
        for name in arguments.scenarios or list(SCENARIOS):
            for result in await SCENARIOS[name](arguments.samples):
                print(result.line(), flush=True)

    try:
        asyncio.run(run())
    except grpc.aio.AioRpcError as error:
        raise SystemExit(
            f"bench.macro.exec_probe: {error.code().name}: {error.details()}"
        ) from None


if __name__ == "__main__":
    main()
