"""The floors: the same pods made by calling the runtime directly, all at once.

What the runtime itself needs for the work fastpod asks of it, which fastpod cannot beat:
per pod a sandbox (the pause container, or ``RunPodSandbox``) and its containers created
and started in it, with no manifest read, no status kept, no log line. Each pod's sample
runs from its first call to its last container started. The pods carry the run's namespace
and fastpod's label, so the bench's sweep removes them as it removes fastpod's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import aiohttp

from fastpod.bench.manifests import PAUSE_IMAGE
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run, Sample
from fastpod.bench.session import Bench
from fastpod.bench.usage import Sampler
from fastpod.runtime.labels import MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID

SANDBOX_TYPE = "io.kubernetes.docker.type"
CONNECTIONS = 128
"""Calls in flight at once to Docker (aiohttp's connection pool)."""


def docker_floor(bench: Bench) -> Run:
    """The Engine API's create + start of each pod's pause container and containers."""
    return _measure(bench, "Engine API", _docker_pods)


def cri_floor(bench: Bench) -> Run:
    """``RunPodSandbox``, ``CreateContainer``, ``StartContainer``: the requests fastpod
    itself would send for the same pods."""
    return _measure(bench, "CRI calls", _cri_pods)


PodMaker = Callable[[Bench, list[str], Callable[[str, float], None]], Coroutine[Any, Any, str]]
"""Makes the named pods, reporting each (key, time running) as it runs; the version."""


def _measure(bench: Bench, name: str, make: PodMaker) -> Run:
    sampler = Sampler({"runtime": bench.target.processes}, bench.origin)
    names = bench.pod_names(bench.options.pods, f"{bench.options.scenario}-floor")
    progress = Progress(bench.stream, f"{name}: pods running", len(names))
    began: dict[str, float] = {}
    running: dict[str, float] = {}

    def ran(key: str, at: float) -> None:
        running[key] = at
        progress.update(len(running))

    sampler.start()
    try:
        for key in names:
            began[key] = time.time()
        version = asyncio.run(make(bench, names, ran))
        progress.finish(len(running))
    finally:
        usage = sampler.stop()
        bench.target.remove_namespace(bench.namespace)
    samples = [
        Sample(
            pod=key,
            kind="start",
            begin=began[key] - bench.origin,
            end=at - bench.origin,
            written=began[key] - bench.origin,
        )
        for key, at in sorted(running.items(), key=lambda item: item[1])
    ]
    return Run(
        name=name, role="floor", status="measured", version=version, samples=samples, usage=usage
    )


def _labels(bench: Bench, name: str, uid: str, kind: str) -> dict[str, str]:
    return {
        MANAGED_BY: "true",
        POD_NAMESPACE: bench.namespace,
        POD_NAME: name,
        POD_UID: uid,
        SANDBOX_TYPE: kind,
    }


async def _docker_pods(bench: Bench, names: list[str], ran: Callable[[str, float], None]) -> str:
    options = bench.options
    connector = aiohttp.UnixConnector(path=options.target.docker_socket, limit=CONNECTIONS)
    async with aiohttp.ClientSession("http://docker", connector=connector) as session:

        async def call(path: str, body: dict[str, Any] | None = None) -> Any:
            async with session.post(path, json=body) as reply:
                text = await reply.text()
                if reply.status >= 400:
                    raise RuntimeError(f"Docker: POST {path}: {reply.status} {text.strip()}")
                return await reply.json() if text else None

        async def run(body: dict[str, Any]) -> str:
            created = await call("/containers/create", body)
            await call(f"/containers/{created['Id']}/start")
            return str(created["Id"])

        async def pod(name: str) -> None:
            if bench.interrupted():
                return
            uid = str(uuid.uuid4())
            sandbox = await run(
                {
                    "Image": PAUSE_IMAGE,
                    "Labels": _labels(bench, name, uid, "podsandbox"),
                    "HostConfig": {"NetworkMode": "none", "IpcMode": "shareable"},
                }
            )
            share = f"container:{sandbox}"
            for _ in bench.containers:
                await run(
                    {
                        "Image": options.image,
                        "Cmd": list(options.command) or None,
                        "Labels": _labels(bench, name, uid, "container"),
                        "HostConfig": {"NetworkMode": share, "IpcMode": share},
                    }
                )
            ran(name, time.time())

        async with session.get("/version") as reply:
            version = str((await reply.json()).get("Version", ""))
        await asyncio.gather(*(pod(name) for name in names))
    return f"docker {version}"


async def _cri_pods(bench: Bench, names: list[str], ran: Callable[[str, float], None]) -> str:
    import grpc.aio
    from cri_api.v1 import api_pb2 as cri
    from cri_api.v1 import api_pb2_grpc as cri_grpc

    from fastpod.manifest.decode import decode_pod
    from fastpod.model import PodSource
    from fastpod.runtime.cri.configs import container_config, pod_log_directory, sandbox_config
    from fastpod.runtime.labels import sandbox_labels
    from fastpod.runtime.spec import PodContext, container_spec

    logs = tempfile.mkdtemp(prefix="fastpod-bench-logs-")
    channel = grpc.aio.insecure_channel(bench.options.target.container_runtime_endpoint)
    runtime = cri_grpc.RuntimeServiceStub(channel)  # type: ignore[no-untyped-call]
    context = PodContext("127.0.0.1", "127.0.0.1", "/nonexistent")
    try:
        version = await runtime.Version(cri.VersionRequest(), timeout=10)

        async def pod(name: str) -> None:
            if bench.interrupted():
                return
            data = bench.manifest(name).encode()
            decoded = decode_pod(data, PodSource("file", f"/bench/{name}.yaml"), bench.node).pod
            os.makedirs(pod_log_directory(logs, decoded), exist_ok=True)
            config = sandbox_config(decoded, 0, logs, sandbox_labels(decoded))
            sandbox = await runtime.RunPodSandbox(
                cri.RunPodSandboxRequest(config=config), timeout=60
            )
            for container in decoded.spec.containers or []:
                spec = container_spec(decoded, container, 0, "regular", context)
                created = await runtime.CreateContainer(
                    cri.CreateContainerRequest(
                        pod_sandbox_id=sandbox.pod_sandbox_id,
                        config=container_config(decoded, spec),
                        sandbox_config=config,
                    ),
                    timeout=60,
                )
                await runtime.StartContainer(
                    cri.StartContainerRequest(container_id=created.container_id), timeout=60
                )
            ran(name, time.time())

        await asyncio.gather(*(pod(name) for name in names))
    finally:
        await channel.close()
        shutil.rmtree(logs, ignore_errors=True)
    return f"{version.runtime_name} {version.runtime_version}"
