"""A worker taking over the pods a kubelet left, on the fake runtime: matching pods adopted
without a restart and still fastpod's after a restart of fastpod, differing pods stopped
before fastpod's own start, pods no source wants removed, the API server's left alone;
with taking over off, names a foreign pod holds refused until it goes."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastpod.config.settings import FakeLatencies
from fastpod.model import Container, Pod
from fastpod.runtime.base import ContainerInfo, ForeignPod, RuntimeUnavailable, SandboxInfo
from fastpod.runtime.created import CreatedContainer, Namespaces
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.labels import CONTAINER_NAME, MANAGED_BY, POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.runtime.sandbox import SandboxSpec
from fastpod.runtime.security import DEFAULT_SANDBOX, SandboxSecurity
from fastpod.runtime.spec import CONTAINER_HASH, RESTART_COUNT, TERMINATION_GRACE, container_hash
from fastpod.worker.adoptions import Adoption, AdoptionRecords
from fastpod.worker.desired import DesiredPods
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import WorkerSettings
from fastpod.worker.takeover import Takeover
from tests.support import FILE
from tests.support.logs import LogCapture
from tests.support.pods import pod_key
from tests.support.worker import NOW, claim, eventually, run, shut_down

IMAGE = "busybox:1.36"
KUBELET_UID = "0123456789abcdef0123456789abcdef"
HOST_NETWORK = Namespaces(network="node", pid="container", ipc="pod")


class Witness(FakeRuntime):
    """The fake runtime, noting which pods' sandboxes exist whenever a sandbox is made."""

    def __init__(self) -> None:
        super().__init__(FakeLatencies(stop_container=0.02), images={IMAGE})
        self.sandboxes_at_start: list[set[str]] = []
        self.grace_periods: list[float] = []

    async def run_pod_sandbox(
        self,
        pod: Pod,
        attempt: int,
        security: SandboxSecurity = DEFAULT_SANDBOX,
        *,
        sandbox: SandboxSpec | None = None,
    ) -> str:
        self.sandboxes_at_start.append({each.pod_uid for each in self.sandboxes.values()})
        return await super().run_pod_sandbox(pod, attempt, security, sandbox=sandbox)

    async def stop_container(self, container_id: str, grace_period: float) -> None:
        self.grace_periods.append(grace_period)
        await super().stop_container(container_id, grace_period)


def plant(
    runtime: Witness,
    name: str,
    *,
    uid: str = KUBELET_UID,
    source: str = "file",
    command: list[str] | None = None,
    grace: str = "7",
) -> ContainerInfo:
    """Leave the kubelet's pod ``name`` (one container ``app``): its container."""
    identity = {POD_NAME: f"{name}-node1", POD_NAMESPACE: "default", POD_UID: uid}
    sandbox = SandboxInfo(
        f"sandbox-{name}",
        {**identity, "kubernetes.io/config.source": source},
        True,
        time.time() - 3600,
    )
    labels = {
        **identity,
        CONTAINER_NAME: "app",
        CONTAINER_HASH: container_hash(Container(name="app", image=IMAGE)),
        RESTART_COUNT: "0",
        TERMINATION_GRACE: grace,
    }
    started = time.time() - 3600
    container = ContainerInfo(
        f"container-{name}", sandbox.id, labels, "running", started_at=started, image=IMAGE
    )
    runtime.plant(sandbox, container)
    runtime.namespaces[sandbox.id] = HOST_NETWORK
    runtime.foreign_configs[container.id] = CreatedContainer(
        image_id=f"sha256:{IMAGE}",
        command=command,
        args=None,
        env={},
        working_dir="",
        mounts=[],
        privileged=False,
        capabilities_add=(),
        capabilities_drop=(),
        user="",
        read_only_root=False,
        no_new_privileges=False,
        pid="container",
    )
    return container


class Worker:
    """The parts of a worker process that take part: its desired pods, runner, takeover."""

    def __init__(self, runtime: Witness, settings: WorkerSettings, **options: Any) -> None:
        self.runtime = runtime
        self.desired = DesiredPods()
        self.runner = PodRunner(runtime, settings, hold_until_listed=True)
        self.takeover = Takeover(
            self.runner,
            AdoptionRecords(settings.root_dir),
            enabled=options.get("enabled", True),
            owns=lambda key: True,
            speaks_for_node=True,
        )

    def want(self, name: str, **options: Any) -> None:
        """A source now claims the manifest ``name``'s pod (host network, like the kubelet's)."""
        extra_spec = {"hostNetwork": True, **options.pop("extra_spec", {})}
        claimed = claim(FILE, name, image=IMAGE, extra_spec=extra_spec, **options)
        changes, _ = self.desired.apply(self.takeover.alias(claimed), NOW)
        for change in changes:
            self.runner.submit(change)

    async def start(self) -> None:
        """The first listing is in, then every source has been seen."""
        await self.takeover.survey(self.desired)
        self.runner.start_syncing()
        await self.takeover.settle(self.desired)

    def uid(self, name: str) -> str:
        return self.desired.pods[pod_key(name)].pod.metadata.uid or ""


@contextlib.asynccontextmanager
async def worker(
    runtime: Witness, settings: WorkerSettings, **options: Any
) -> AsyncIterator[Worker]:
    started = Worker(runtime, settings, **options)
    try:
        yield started
    finally:
        await shut_down(started.runner)


def sandboxes_of(runtime: FakeRuntime, uid: str) -> list[str]:
    return [s.id for s in runtime.sandboxes.values() if s.pod_uid == uid]


def running(runtime: FakeRuntime, uid: str) -> list[str]:
    return [c.id for c in runtime.containers.values() if c.pod_uid == uid and c.state == "running"]


def test_a_matching_pod_is_adopted_as_it_runs_and_kept_across_a_restart(
    settings: WorkerSettings,
) -> None:
    async def scenario() -> None:
        runtime = Witness()
        kubelets = plant(runtime, "web")
        async with worker(runtime, settings) as first:
            first.want("web")
            await first.start()
            await eventually(lambda: first.runner.loops[pod_key("web")].synced, "a sync")
            assert first.uid("web") == KUBELET_UID
            assert running(runtime, KUBELET_UID) == [kubelets.id]
            assert runtime.sandboxes_at_start == []
            status_start = first.runner.loops[pod_key("web")].first_seen
            assert status_start == runtime.sandboxes["sandbox-web"].created
        # fastpod again: the record makes the manifest's pod the adopted one at once
        async with worker(runtime, settings) as again:
            again.want("web")
            assert again.uid("web") == KUBELET_UID
            await again.start()
            await eventually(lambda: again.runner.loops[pod_key("web")].synced, "a sync")
            assert running(runtime, KUBELET_UID) == [kubelets.id]
            assert runtime.sandboxes_at_start == []

    run(scenario)


def test_an_adopted_pods_dead_container_is_restarted_by_fastpod(settings: WorkerSettings) -> None:
    async def scenario() -> None:
        runtime = Witness()
        kubelets = plant(runtime, "web")
        async with worker(runtime, settings) as taken:
            taken.want("web")
            await taken.start()
            await eventually(lambda: taken.runner.loops[pod_key("web")].synced, "a sync")
            runtime.exit(kubelets.id, 1)
            await eventually(
                lambda: (
                    len(running(runtime, KUBELET_UID)) == 1
                    and running(runtime, KUBELET_UID) != [kubelets.id]
                ),
                "a restart",
            )
            (restarted,) = [c for c in runtime.containers.values() if c.state == "running"]
            assert restarted.sandbox_id == "sandbox-web"
            assert restarted.restart_count == 1
            assert restarted.labels[MANAGED_BY] == "true"

    run(scenario)


def test_a_differing_pod_is_stopped_with_its_grace_before_fastpods_starts(
    settings: WorkerSettings,
) -> None:
    async def scenario() -> None:
        runtime = Witness()
        plant(runtime, "web", command=["sleep", "60"])
        async with worker(runtime, settings) as taken:
            taken.want("web")
            await taken.start()
            own = taken.uid("web")
            await eventually(lambda: running(runtime, own), "fastpod's own pod")
            assert own != KUBELET_UID
            assert sandboxes_of(runtime, KUBELET_UID) == []
            assert runtime.sandboxes_at_start == [set()]
            assert runtime.grace_periods[0] == 7

    run(scenario)


def test_a_static_pod_no_source_wants_is_removed_and_an_api_pod_left_alone(
    settings: WorkerSettings,
) -> None:
    async def scenario() -> None:
        runtime = Witness()
        plant(runtime, "old")
        proxy = plant(runtime, "proxy", uid="f" * 32, source="api")
        async with worker(runtime, settings) as taken:
            taken.want("web")
            await taken.start()
            await eventually(lambda: running(runtime, taken.uid("web")), "the wanted pod")
            assert sandboxes_of(runtime, KUBELET_UID) == []
            assert running(runtime, "f" * 32) == [proxy.id]

    run(scenario)


def test_with_taking_over_off_a_held_name_is_refused_until_the_foreign_pod_goes(
    settings: WorkerSettings, tmp_path: Path
) -> None:
    async def scenario() -> None:
        runtime = Witness()
        kubelets = plant(runtime, "web")
        async with worker(runtime, settings, enabled=False) as taken:
            taken.want("web")
            settled = asyncio.create_task(taken.start())
            loop = taken.runner.loops[pod_key("web")]
            await eventually(lambda: loop.observed is not None, "the refusal")
            assert loop.observed is not None
            assert "--adopt-foreign-pods=false" in loop.observed.messages[""]
            assert running(runtime, KUBELET_UID) == [kubelets.id]
            assert runtime.sandboxes_at_start == []
            # the kubelet's pod goes: fastpod's may start
            await runtime.stop_pod_sandbox("sandbox-web")
            await runtime.remove_container(kubelets.id)
            await runtime.remove_pod_sandbox("sandbox-web")
            await eventually(lambda: running(runtime, taken.uid("web")), "fastpod's own pod")
            await settled

    run(scenario)


def test_a_record_follows_the_manifest_a_pod_was_adopted_for(settings: WorkerSettings) -> None:
    async def scenario() -> None:
        runtime = Witness()
        plant(runtime, "web")
        async with worker(runtime, settings) as first:
            first.want("web")
            await first.start()
            (record,) = AdoptionRecords(settings.root_dir).load()
        # the manifest changed while fastpod was down, but not what the container runs
        async with worker(runtime, settings) as again:
            again.want("web", labels={"tier": "changed"})
            await again.start()
            (changed,) = AdoptionRecords(settings.root_dir).load()
            assert changed.uid == record.uid == KUBELET_UID
            assert changed.fastpod_uid != record.fastpod_uid

    run(scenario)


class RefusingRecords(AdoptionRecords):
    """Adoption records the host refuses (a full disk) the first ``refusals`` times."""

    def __init__(self, root_dir: str, refusals: int) -> None:
        super().__init__(root_dir)
        self.refusals = refusals

    def save(self, pod: str, uid: str, fastpod_uid: str) -> Adoption:
        if self.refusals:
            self.refusals -= 1
            raise OSError(errno.ENOSPC, "No space left on device", f"{self.directory}/x.json")
        return super().save(pod, uid, fastpod_uid)


def test_an_adoption_record_refused_at_every_resync_is_said_once_then_its_end(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = Witness()
        plant(runtime, "web")
        async with worker(runtime, settings) as taking:
            taking.takeover.records = RefusingRecords(settings.root_dir, refusals=3)
            taking.want("web")
            await taking.start()
            assert taking.uid("web") == KUBELET_UID

    run(scenario)
    (refused,) = captured_logs.records("foreign pod not taken over")
    assert (refused["pod"], refused["level"]) == (pod_key("web"), "error")
    assert "No space left on device" in refused["error"]
    (taken,) = captured_logs.records("foreign pod taken over")
    assert (taken["pod"], taken["failures"]) == (pod_key("web"), 3)


class DownAtFirst(Witness):
    """A runtime that does not answer its first ``refusals`` listings of foreign pods."""

    def __init__(self, refusals: int) -> None:
        super().__init__()
        self.refusals = refusals

    async def list_foreign_pods(self) -> list[ForeignPod]:
        if self.refusals:
            self.refusals -= 1
            raise RuntimeUnavailable("ListPodSandbox: connection refused")
        return await super().list_foreign_pods()


def test_a_survey_the_runtime_refuses_at_every_resync_is_said_once_then_its_end(
    settings: WorkerSettings, captured_logs: LogCapture
) -> None:
    async def scenario() -> None:
        runtime = DownAtFirst(refusals=3)
        async with worker(runtime, settings) as surveying:
            surveying.want("web")
            await surveying.start()

    run(scenario)
    (failure,) = captured_logs.records("runtime call failed")
    assert "connection refused" in failure["error"]
    (listed,) = captured_logs.records("foreign pods listed")
    assert listed["failures"] == 3
