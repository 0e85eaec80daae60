"""The floors: the same pods made by calling the runtime directly, all at once.

What the runtime itself needs for the work fastpod asks of it, which fastpod cannot beat:
per pod a sandbox (the pause container, or ``RunPodSandbox``) and its containers created
and started in it, with no manifest read, no status kept, no log line. For ``startup`` a
pod's sample runs from its first call to its last container started; for ``restart``, the
pods made first, from the creation of a replacement container in each sandbox to its start
(the runtime's part of a restart). The pods carry the run's namespace and fastpod's label,
so the bench's sweep removes them as it removes fastpod's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import msgspec

from fastpod.bench import event_loop
from fastpod.bench.manifests import PAUSE_IMAGE
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run, Sample
from fastpod.bench.session import Bench
from fastpod.bench.usage import Sampler
from fastpod.runtime.docker.engine import Engine
from fastpod.runtime.labels import MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID

SANDBOX_TYPE = "io.kubernetes.docker.type"
CALL_TIMEOUT = 120.0
GRACE = 1
"""Seconds a container gets to stop: the bench's pods' ``terminationGracePeriodSeconds``."""


def startup_floor(bench: Bench) -> Run:
    """Each pod's sandbox and containers made and started, all pods at once."""
    return _measure(bench, "start", _start_pod)


def restart_floor(bench: Bench) -> Run:
    """A replacement of each pod's containers created and started in its sandbox."""
    return _measure(bench, "restart", _replace_containers)


def floor_name(runtime: str) -> str:
    """The floor's name on ``runtime``: the calls it makes."""
    return {"docker": "Engine API", "cri": "CRI calls"}.get(runtime, "runtime calls")


class RuntimeFloor(Protocol):
    """One runtime's raw calls for a pod."""

    async def version(self) -> str: ...

    async def sandbox(self, name: str) -> Any:
        """A pod's sandbox made and started; what the other calls take to name it."""

    async def container(self, name: str, sandbox: Any) -> str:
        """A container of pod ``name`` made and started in ``sandbox``; its id."""

    async def remove(self, sandbox: Any) -> None:
        """The pod's containers stopped (within the pods' grace period) and removed, then
        its sandbox."""

    async def exec(self, container_id: str, command: list[str]) -> None:
        """``command`` run in the container, waited for; its outcome is not looked at."""

    async def close(self) -> None: ...


def runtime_floor(bench: Bench) -> RuntimeFloor:
    """The target runtime's raw calls."""
    if bench.options.target.runtime == "docker":
        return _DockerFloor(bench)
    return _CriFloor(bench)


Done = Callable[[str, float, float], None]
"""Reports one pod: its name, when its timed calls began, when they ended."""
PodWork = Callable[[RuntimeFloor, Bench, str, Done], Coroutine[Any, Any, None]]


async def _start_pod(floor: RuntimeFloor, bench: Bench, name: str, done: Done) -> None:
    began = time.time()
    sandbox = await floor.sandbox(name)
    for _ in bench.containers:
        await floor.container(name, sandbox)
    done(name, began, time.time())


async def _replace_containers(floor: RuntimeFloor, bench: Bench, name: str, done: Done) -> None:
    sandbox = await floor.sandbox(name)
    for _ in bench.containers:
        await floor.container(name, sandbox)
    began = time.time()
    for _ in bench.containers:
        await floor.container(name, sandbox)
    done(name, began, time.time())


def _measure(bench: Bench, kind: str, work: PodWork) -> Run:
    name = floor_name(bench.options.target.runtime)
    sampler = Sampler({"runtime": bench.target.processes}, bench.origin)
    names = bench.pod_names(bench.options.pods, f"{bench.options.scenario}-floor")
    progress = Progress(bench.stream, f"{name}: pods done", len(names))
    samples: list[Sample] = []

    def done(pod: str, began: float, ended: float) -> None:
        begin, end = began - bench.origin, ended - bench.origin
        written = begin if kind == "start" else None
        samples.append(Sample(pod=pod, kind=kind, begin=begin, end=end, written=written))
        progress.update(len(samples))

    async def run_all() -> str:
        floor = runtime_floor(bench)
        try:
            version = await floor.version()

            async def one(pod: str) -> None:
                if not bench.interrupted():
                    await work(floor, bench, pod, done)

            await asyncio.gather(*(one(pod) for pod in names))
        finally:
            await floor.close()
        return version

    sampler.start()
    try:
        version = event_loop.run(run_all())
        progress.finish(len(samples))
    finally:
        usage = sampler.stop()
        bench.target.remove_namespace(bench.namespace)
    samples.sort(key=lambda sample: sample.end)
    return Run(
        name=name, role="floor", status="measured", version=version, samples=samples, usage=usage
    )


def _labels(bench: Bench, name: str, kind: str) -> dict[str, str]:
    return {
        MANAGED_BY: "true",
        POD_NAMESPACE: bench.namespace,
        POD_NAME: name,
        POD_UID: f"{bench.namespace}-{name}",
        SANDBOX_TYPE: kind,
    }


class _DockerFloor:
    """The Engine API: a pause container per pod, the containers in its namespaces."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.engine = Engine(bench.options.target.docker_socket)
        self.members: dict[str, list[str]] = {}
        """By sandbox: its containers."""

    async def version(self) -> str:
        _, payload = await self.engine.call("GET", "/version")
        return f"docker {msgspec.json.decode(payload).get('Version', '')}"

    async def _run(self, body: dict[str, Any]) -> str:
        _, payload = await self.engine.call("POST", "/containers/create", body)
        container_id = str(msgspec.json.decode(payload)["Id"])
        await self.engine.call("POST", f"/containers/{container_id}/start")
        return container_id

    async def sandbox(self, name: str) -> Any:
        return await self._run(
            {
                "Image": PAUSE_IMAGE,
                "Labels": _labels(self.bench, name, "podsandbox"),
                "HostConfig": {"NetworkMode": "none", "IpcMode": "shareable"},
            }
        )

    async def container(self, name: str, sandbox: Any) -> str:
        share = f"container:{sandbox}"
        options = self.bench.options
        container_id = await self._run(
            {
                "Image": options.image,
                "Cmd": list(options.command) or None,
                "Labels": _labels(self.bench, name, "container"),
                "HostConfig": {"NetworkMode": share, "IpcMode": share},
            }
        )
        self.members.setdefault(sandbox, []).append(container_id)
        return container_id

    async def remove(self, sandbox: Any) -> None:
        async def remove(container_id: str) -> None:
            await self.engine.call(
                "POST", f"/containers/{container_id}/stop?t={GRACE}", ok=(204, 304)
            )
            await self.engine.call("DELETE", f"/containers/{container_id}")

        await asyncio.gather(*(remove(i) for i in self.members.pop(sandbox, [])))
        await remove(sandbox)

    async def exec(self, container_id: str, command: list[str]) -> None:
        body = {"Cmd": command, "AttachStdout": True, "AttachStderr": True}
        _, payload = await self.engine.call("POST", f"/containers/{container_id}/exec", body)
        exec_id = msgspec.json.decode(payload)["Id"]
        # not detached: the call returns once the command has ended
        await self.engine.call("POST", f"/exec/{exec_id}/start", {"Detach": False, "Tty": False})

    async def close(self) -> None:
        await self.engine.close()


class _CriFloor:
    """The CRI calls fastpod itself sends for the pod, built by fastpod's own configs."""

    def __init__(self, bench: Bench) -> None:
        import grpc.aio
        from cri_api.v1 import api_pb2_grpc as cri_grpc

        self.bench = bench
        self.logs = tempfile.mkdtemp(prefix="fastpod-bench-logs-")
        self.channel = grpc.aio.insecure_channel(bench.options.target.container_runtime_endpoint)
        self.runtime = cri_grpc.RuntimeServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.restarts: dict[str, int] = {}
        self.members: dict[str, list[str]] = {}
        """By sandbox id: its containers."""

    async def version(self) -> str:
        from cri_api.v1 import api_pb2 as cri

        reply = await self.runtime.Version(cri.VersionRequest(), timeout=CALL_TIMEOUT)
        return f"{reply.runtime_name} {reply.runtime_version}"

    async def sandbox(self, name: str) -> Any:
        from cri_api.v1 import api_pb2 as cri

        from fastpod.manifest.decode import decode_pod
        from fastpod.model import PodSource
        from fastpod.runtime.cri.configs import pod_log_directory, sandbox_config
        from fastpod.runtime.labels import sandbox_labels

        data = self.bench.manifest(name).encode()
        pod = decode_pod(data, PodSource("file", f"/bench/{name}.yaml"), self.bench.node).pod
        os.makedirs(pod_log_directory(self.logs, pod), exist_ok=True)
        config = sandbox_config(pod, 0, self.logs, sandbox_labels(pod))
        reply = await self.runtime.RunPodSandbox(
            cri.RunPodSandboxRequest(config=config), timeout=CALL_TIMEOUT
        )
        return (pod, config, reply.pod_sandbox_id, name)

    async def container(self, name: str, sandbox: Any) -> str:
        from cri_api.v1 import api_pb2 as cri

        from fastpod.runtime.cri.configs import container_config
        from fastpod.runtime.spec import PodContext, container_spec

        pod, config, sandbox_id, _ = sandbox
        containers = pod.spec.containers or []
        # each container in turn, then each again as its restart: a new attempt number
        made = self.restarts.get(name, 0)
        self.restarts[name] = made + 1
        container = containers[made % len(containers)]
        context = PodContext("127.0.0.1", "127.0.0.1", "/nonexistent")
        spec = container_spec(pod, container, made // len(containers), "regular", context)
        created = await self.runtime.CreateContainer(
            cri.CreateContainerRequest(
                pod_sandbox_id=sandbox_id,
                config=container_config(pod, spec),
                sandbox_config=config,
            ),
            timeout=CALL_TIMEOUT,
        )
        await self.runtime.StartContainer(
            cri.StartContainerRequest(container_id=created.container_id), timeout=CALL_TIMEOUT
        )
        self.members.setdefault(sandbox_id, []).append(created.container_id)
        return str(created.container_id)

    async def remove(self, sandbox: Any) -> None:
        from cri_api.v1 import api_pb2 as cri

        _, _, sandbox_id, name = sandbox
        await asyncio.gather(
            *(
                self.runtime.StopContainer(
                    cri.StopContainerRequest(container_id=i, timeout=GRACE), timeout=CALL_TIMEOUT
                )
                for i in self.members.pop(sandbox_id, [])
            )
        )
        await self.runtime.StopPodSandbox(
            cri.StopPodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT
        )
        await self.runtime.RemovePodSandbox(
            cri.RemovePodSandboxRequest(pod_sandbox_id=sandbox_id), timeout=CALL_TIMEOUT
        )
        self.restarts.pop(name, None)

    async def exec(self, container_id: str, command: list[str]) -> None:
        from cri_api.v1 import api_pb2 as cri

        await self.runtime.ExecSync(
            cri.ExecSyncRequest(container_id=container_id, cmd=command, timeout=int(CALL_TIMEOUT)),
            timeout=CALL_TIMEOUT,
        )

    async def close(self) -> None:
        await self.channel.close()
        shutil.rmtree(self.logs, ignore_errors=True)
