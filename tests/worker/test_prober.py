"""The prober of a worker's pods, on the fake runtime: what a probe's results do to the
container and to its status. The same on Docker and containerd is in the runtime suite."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import msgspec

from fastpod.model import Pod
from fastpod.runtime.fake import FakeRuntime, ScriptedExec
from fastpod.worker import reports
from fastpod.worker.desired import DesiredPod, DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import decoded, pod_document, pod_key
from tests.support.worker import added, eventually, run, runner_on

CHECK = ["check"]
FAILING = ScriptedExec(exit_code=1, output=b"sick")
PASSING = ScriptedExec(exit_code=0)


def probe(**timing: int) -> dict[str, Any]:
    return {"exec": {"command": CHECK}, "periodSeconds": 1, **timing}


def probed_pod(name: str, **probes: dict[str, Any]) -> Pod:
    document = pod_document(name)
    document["spec"]["containers"][0].update(probes)
    return decoded(json.dumps(document).encode(), FILE)


def served_status(runner: PodRunner, pod: Pod) -> dict[str, Any]:
    """The pod's status as ``/pods`` serves it."""
    desired = DesiredPods()
    desired.pods[pod_key((pod.metadata.name or "").removesuffix("-node1"))] = DesiredPod(pod, FILE)
    (item,) = msgspec.json.decode(reports.pods_document(runner, desired))
    status: dict[str, Any] = item["status"]
    return status


def container_status(runner: PodRunner, pod: Pod) -> dict[str, Any]:
    first: dict[str, Any] = served_status(runner, pod)["containerStatuses"][0]
    return first


def pod_ready(runner: PodRunner, pod: Pod) -> str:
    conditions = served_status(runner, pod)["conditions"]
    (ready,) = [c["status"] for c in conditions if c["type"] == "Ready"]
    return str(ready)


def test_a_failing_liveness_probe_restarts_the_container_and_says_why(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    web = probed_pod("web", livenessProbe=probe(failureThreshold=2))

    async def scenario() -> None:
        runtime = FakeRuntime()
        runtime.script_exec(CHECK, FAILING)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(
                lambda: container_status(runner, web)["restartCount"] == 1,
                "a restart after two failed probes",
                timeout=10,
            )
            status = container_status(runner, web)
            assert status["lastState"]["terminated"]["exitCode"] != 0

    run(scenario)
    unhealthy = captured_logs.records("probe failed")
    assert unhealthy[0]["detail"] == "Liveness probe failed: sick"
    (killing, *_) = captured_logs.records("container killed by probe")
    assert killing["detail"] == "Container app failed liveness probe, will be restarted"


def test_a_readiness_probe_sets_ready_both_ways_and_never_restarts(
    settings: WorkerSettings,
) -> None:
    web = probed_pod("web", readinessProbe=probe())

    async def scenario() -> None:
        runtime = FakeRuntime()
        runtime.script_exec(CHECK, FAILING)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: "running" in container_status(runner, web)["state"])
            assert container_status(runner, web)["ready"] is False
            assert pod_ready(runner, web) == "False"
            runtime.script_exec(CHECK, PASSING)
            await eventually(lambda: container_status(runner, web)["ready"], "ready", timeout=5)
            assert pod_ready(runner, web) == "True"
            runtime.script_exec(CHECK, ScriptedExec(exit_code=1))
            await eventually(
                lambda: not container_status(runner, web)["ready"], "unready again", timeout=10
            )
            assert pod_ready(runner, web) == "False"
            assert container_status(runner, web)["restartCount"] == 0

    run(scenario)


def test_a_startup_probe_holds_liveness_and_readiness_back(settings: WorkerSettings) -> None:
    starting = ["starting"]
    web = probed_pod(
        "web",
        startupProbe={"exec": {"command": starting}, "periodSeconds": 1, "failureThreshold": 30},
        livenessProbe=probe(),
        readinessProbe=probe(),
    )

    async def scenario() -> None:
        runtime = FakeRuntime(record_specs=True)
        runtime.script_exec(starting, FAILING)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(
                lambda: sum(command == tuple(starting) for _, command in runtime.execs) >= 2,
                "two startup probes",
                timeout=5,
            )
            assert all(command == tuple(starting) for _, command in runtime.execs)
            status = container_status(runner, web)
            assert (status["started"], status["ready"]) == (False, False)
            runtime.script_exec(starting, PASSING)
            await eventually(lambda: container_status(runner, web)["ready"], "ready", timeout=5)
            assert container_status(runner, web)["started"] is True
            assert any(command == tuple(CHECK) for _, command in runtime.execs)

    run(scenario)


def test_a_container_without_probes_is_never_probed(settings: WorkerSettings) -> None:
    web = probed_pod("web")

    async def scenario() -> None:
        runtime = FakeRuntime(record_specs=True)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: container_status(runner, web)["ready"], "ready")
            assert runner.prober.probes(runner.loops[pod_key("web")].key) == {}
            assert runtime.execs == []

    run(scenario)


def test_an_http_readiness_probe_of_a_host_network_pod_asks_the_node(
    settings: WorkerSettings,
) -> None:
    """A hostNetwork pod's address is the node's: its httpGet probe goes there."""
    answers = {"status": b"503 Service Unavailable"}
    seen: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request)
        writer.write(b"HTTP/1.1 " + answers["status"] + b"\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(serve, settings.host_ip, 0)
        port = server.sockets[0].getsockname()[1]
        readiness = {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 1}
        web = probed_pod("web", readinessProbe=readiness)
        web = msgspec.structs.replace(
            web, spec=msgspec.structs.replace(web.spec, host_network=True)
        )
        async with server, runner_on(FakeRuntime(), settings) as runner:
            runner.submit(added(web))
            await eventually(lambda: seen, "a probe", timeout=5)
            assert container_status(runner, web)["ready"] is False
            answers["status"] = b"200 OK"
            await eventually(lambda: container_status(runner, web)["ready"], "ready", timeout=5)
        assert seen[0].startswith(b"GET /healthz HTTP/1.1\r\n")
        assert b"User-Agent: kube-probe/1.32\r\n" in seen[0]

    run(scenario)


def test_the_next_init_container_waits_until_the_sidecars_startup_probe_succeeds(
    settings: WorkerSettings,
) -> None:
    document = pod_document("web")
    document["spec"]["initContainers"] = [
        {
            "name": "side",
            "image": "busybox:1.36",
            "restartPolicy": "Always",
            "startupProbe": probe(failureThreshold=30),
        },
        {"name": "init1", "image": "busybox:1.36"},
    ]
    web = decoded(json.dumps(document).encode(), FILE)

    def created(runtime: FakeRuntime) -> list[str]:
        return [spec.name for spec in runtime.specs.values()]

    async def scenario() -> None:
        runtime = FakeRuntime(record_specs=True)
        runtime.script_exec(CHECK, FAILING)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            await eventually(
                lambda: sum(command == tuple(CHECK) for _, command in runtime.execs) >= 2,
                "two startup probes",
                timeout=5,
            )
            assert created(runtime) == ["side"]
            runtime.script_exec(CHECK, PASSING)
            await eventually(lambda: "init1" in created(runtime), "init1 created", timeout=5)

    run(scenario)
