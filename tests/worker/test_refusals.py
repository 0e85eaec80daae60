"""What the node or the runtime refuses, in a pod's sync loop on the fake runtime: a pod
the node does not admit (never started, Failed), a container the runtime does not create."""

from __future__ import annotations

import time

from fastpod.model import Pod
from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.spec import ContainerSpec
from fastpod.status.compute import pod_status
from fastpod.worker.settings import WorkerSettings
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import added, eventually, pod, removed, run, runner_on, updated

UNSAFE = {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "9000"}]}}


def test_a_refused_pod_never_gets_a_sandbox_and_its_status_says_why(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    refused = pod("web", extra_spec=UNSAFE)

    async def scenario() -> None:
        runtime = FakeRuntime()
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(refused))
            loop = runner.loops[pod_key("web")]
            await eventually(lambda: loop.synced, "the refused pod's loop has looked at it")
            await eventually(lambda: not runtime.sandboxes, "nothing runs")
            status = pod_status(
                refused,
                loop.observed,
                host_ip="",
                pod_ips=(),
                start_time=time.time(),
                runtime_name="fake",
            )
            assert (status.phase, status.reason) == ("Failed", "SysctlForbidden")
            # a fixed manifest is a new pod, admitted and started
            fixed = pod("web")
            runner.submit(updated(fixed, refused))
            await eventually(lambda: len(runtime.containers) == 1, "the fixed pod runs")
            runner.submit(removed(fixed))

    run(scenario)
    (record,) = captured_logs.records("pod not admitted")
    assert record["reason"] == "SysctlForbidden"
    assert record["detail"] == 'forbidden sysctl: "kernel.msgmax" not allowlisted'


class Refusing(FakeRuntime):
    """Refuses the first ``refusals`` creates, as containerd refuses a seccomp profile it
    cannot load; then creates as the fake does."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def create_container(self, sandbox_id: str, pod: Pod, spec: ContainerSpec) -> str:
        if self.refusals:
            self.refusals -= 1
            raise RuntimeCallError("CreateContainer: UNKNOWN: cannot load seccomp profile")
        return await super().create_container(sandbox_id, pod, spec)


def test_a_container_the_runtime_refuses_to_create_waits_as_create_container_error(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    """The kubelet's ``CreateContainerError`` with the runtime's message, and the create
    tried again at a later sync."""
    web = pod("web")

    async def scenario() -> None:
        runtime = Refusing(refusals=1)
        async with runner_on(runtime, settings) as runner:
            runner.submit(added(web))
            loop = runner.loops[pod_key("web")]
            await eventually(lambda: captured_logs.records("container not created"), "refused")
            assert loop.observed is not None
            await eventually(lambda: len(runtime.containers) == 1, "created at a later sync")
            runner.submit(removed(web))

    run(scenario)
    (record,) = captured_logs.records("container not created")
    assert record["reason"] == "CreateContainerError"
    assert record["error"] == "CreateContainer: UNKNOWN: cannot load seccomp profile"
