"""A pod the node refuses, in its sync loop on the fake runtime: never started, Failed."""

from __future__ import annotations

import time

from fastpod.runtime.fake import FakeRuntime
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
