"""Runs the pods a worker owns: one sync loop per pod name, driven by the pure lifecycle.

Each loop observes the pod's sandbox and containers, asks :func:`compute_pod_actions` what
to do, does it, and sleeps until a runtime event, a back-off deadline or the periodic
resync wakes it. One loop per pod *name* means a replaced pod is fully stopped before its
successor with the same name starts (the kubelet's ``allowStaticPodStart``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastpod import logs
from fastpod.backoff import BackOff
from fastpod.lifecycle import (
    PodActions,
    StartContainer,
    compute_pod_actions,
    image_backoff_key,
    image_step,
)
from fastpod.model import Container, Pod
from fastpod.runtime.base import ContainerInfo, Runtime, RuntimeCallError
from fastpod.runtime.podlogs import PodLogs
from fastpod.runtime.spec import PodContext, container_spec, unsupported
from fastpod.runtime.volumes import VolumeError, prepare_volumes, remove_volumes
from fastpod.worker.desired import PodChange

MINIMUM_GRACE_PERIOD = 2.0
"""The kubelet never gives a container less than this to stop (``minimumGracePeriodInSeconds``)."""


@dataclass(frozen=True, slots=True)
class LifecycleSettings:
    """The numbers of the lifecycle: back-off, resync, and where pods keep their files."""

    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    resync_period: float = 10.0
    root_dir: str = "/var/lib/fastpod"
    pod_logs_dir: str = "/var/log/pods"
    host_ip: str = "127.0.0.1"
    prepare_host: bool = True
    """Create volumes and log links on this host; off for the fake runtime, which runs nothing."""


def _key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _grace(pod: Pod) -> float:
    seconds = pod.spec.termination_grace_period_seconds
    return max(float(30 if seconds is None else seconds), MINIMUM_GRACE_PERIOD)


class Wakeup:
    """An alarm for one pod loop: set by events, timers and changes, waited on by the loop.

    An :class:`asyncio.Event` carries a deque of waiters; with one per pod on a node of
    10,000 pods that alone is megabytes, for a loop that only ever has one waiter.
    """

    __slots__ = ("_is_set", "_waiter")

    def __init__(self) -> None:
        self._is_set = False
        self._waiter: asyncio.Future[None] | None = None

    def set(self) -> None:
        """Wake the loop now, or as soon as it next waits."""
        self._is_set = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def clear(self) -> None:
        """Forget earlier alarms: the loop is about to look at everything anyway."""
        self._is_set = False

    async def wait(self) -> None:
        """Return once set."""
        if self._is_set:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


@dataclass(slots=True)
class PodWorker:
    """The sync loop of one pod name: the pod it runs now, and the one it should run."""

    key: str
    desired: Pod | None
    running: Pod | None = None
    wake: Wakeup = field(default_factory=Wakeup)
    task: asyncio.Task[None] | None = None
    exits_logged: set[str] | None = None


class PodRunner:
    """Keeps every pod this worker owns as its spec says, on the runtime."""

    def __init__(
        self,
        runtime: Runtime,
        settings: LifecycleSettings | None = None,
        *,
        hold_until_listed: bool = False,
    ) -> None:
        self.runtime = runtime
        self.settings = settings or LifecycleSettings()
        self.crash_backoff = BackOff(
            self.settings.backoff_initial, self.settings.backoff_max, self.settings.backoff_reset
        )
        self.image_backoff = BackOff(10.0, 300.0, 600.0)
        self.pod_logs = PodLogs(self.settings.pod_logs_dir)
        self.workers: dict[str, PodWorker] = {}
        self._syncing = asyncio.Event()
        if not hold_until_listed:
            self._syncing.set()

    def start_syncing(self) -> None:
        """Let the pod loops act: the first listing of the sources has been taken in.

        Like the kubelet, which sends a source's whole first listing at once, a cold start
        first learns every pod and only then starts them: decoding is the critical path,
        and pods started in the middle of it would only delay the rest.
        """
        self._syncing.set()

    def submit(self, change: PodChange) -> None:
        """Make the pod named in ``change`` what the change says, in its own loop."""
        key = _key(change.pod)
        desired = None if change.kind == "removed" else change.pod
        worker = self.workers.get(key)
        if worker is None:
            if desired is None:
                return
            worker = self.workers[key] = PodWorker(key, desired)
            worker.task = asyncio.get_running_loop().create_task(self._run(worker))
        else:
            worker.desired = desired
        worker.wake.set()

    def wake(self, pod_uid: str | None) -> None:
        """Sync the pod with this UID now (all pods when None): the runtime saw a change."""
        for worker in self.workers.values():
            if pod_uid is None or (
                worker.running is not None and worker.running.metadata.uid == pod_uid
            ):
                worker.wake.set()

    async def follow_events(self) -> None:
        """Wake pods on the runtime's events until cancelled."""
        async for event in self.runtime.events():
            self.wake(event.pod_uid)

    async def idle(self) -> None:
        """Wait until every pod loop has ended (every pod removed)."""
        while self.workers:
            tasks = [w.task for w in self.workers.values() if w.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def remove_orphans(
        self, is_desired: Callable[[str, str], bool], owns: Callable[[str], bool]
    ) -> None:
        """Stop what runs for pods this worker owns that no source wants any more.

        Pods under a loop are that loop's business; the others are checked again just before
        they are stopped, so a pod wanted again meanwhile is left alone.
        """
        for sandbox in await self.runtime.list_pod_sandboxes():
            key, uid = sandbox.pod_key, sandbox.pod_uid
            if not owns(key) or key in self.workers or is_desired(key, uid):
                continue
            logs.emit("orphan pod removed", pod=key, uid=uid)
            await self._remove_pod(key, uid, MINIMUM_GRACE_PERIOD)

    async def close(self) -> None:
        """Stop every loop; the pods keep running, as the kubelet leaves them."""
        tasks = [w.task for w in self.workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, worker: PodWorker) -> None:
        await self._syncing.wait()
        try:
            while True:
                worker.wake.clear()
                desired = worker.desired
                running = worker.running
                if running is not None and (
                    desired is None or desired.metadata.uid != running.metadata.uid
                ):
                    await self._remove_pod(worker.key, running.metadata.uid or "", _grace(running))
                    worker.running = None
                    worker.exits_logged = None
                    continue
                if desired is None:
                    break
                if running is None:
                    worker.running = desired
                    for note in unsupported(desired):
                        logs.emit(
                            "pod feature not supported", level="warning", pod=worker.key, note=note
                        )
                retry_at = await self._sync(worker, desired)
                await self._sleep(worker, retry_at)
        finally:
            if self.workers.get(worker.key) is worker and worker.task is asyncio.current_task():
                del self.workers[worker.key]

    async def _sleep(self, worker: PodWorker, retry_at: float | None) -> None:
        timeout = self.settings.resync_period
        if retry_at is not None:
            timeout = min(timeout, max(0.0, retry_at - time.time()))
        # a timer that sets the event, not wait_for: cheaper for thousands of pods, and
        # wait_for on Python 3.11 loses a cancellation that meets a set event
        timer = asyncio.get_running_loop().call_later(timeout, worker.wake.set)
        try:
            await worker.wake.wait()
        finally:
            timer.cancel()

    async def _sync(self, worker: PodWorker, pod: Pod) -> float | None:
        uid = pod.metadata.uid or ""
        try:
            sandboxes = await self.runtime.list_pod_sandboxes(uid)
            containers = await self.runtime.list_containers(uid)
            self._log_exits(worker, containers)
            now = time.time()
            actions = compute_pod_actions(pod, sandboxes, containers, self.crash_backoff, now)
            return await self._apply(worker.key, pod, actions, containers)
        except RuntimeCallError as error:
            logs.emit("runtime call failed", level="error", pod=worker.key, error=str(error))
        except VolumeError as error:
            logs.emit("pod cannot start", level="error", pod=worker.key, error=str(error))
        return None

    async def _apply(
        self, key: str, pod: Pod, actions: PodActions, containers: list[ContainerInfo]
    ) -> float | None:
        uid = pod.metadata.uid or ""
        grace = _grace(pod)
        if actions.kill_pod:
            await self._kill_all(containers, grace)
            for sandbox in await self.runtime.list_pod_sandboxes(uid):
                if sandbox.ready:
                    await self.runtime.stop_pod_sandbox(sandbox.id)
        await asyncio.gather(*(self.runtime.stop_container(i, grace) for i in actions.kill))
        for container_id in actions.remove:
            await self.runtime.remove_container(container_id)
        for old_sandbox in actions.remove_sandboxes:
            await self._remove_sandbox(old_sandbox, containers)
        for name, reason in actions.waiting.items():
            logs.emit("container waiting", pod=key, container=name, reason=reason)
        sandbox_id: str | None = None
        if actions.create_sandbox:
            if not actions.start:
                return actions.retry_at
            if self.settings.prepare_host:
                prepare_volumes(pod, self._context(pod))
                self.pod_logs.create_pod_dir(pod)
            attempt = len(await self.runtime.list_pod_sandboxes(uid))
            sandbox_id = await self.runtime.run_pod_sandbox(pod, attempt)
        elif actions.start:
            ready = [s for s in await self.runtime.list_pod_sandboxes(uid) if s.ready]
            sandbox_id = ready[0].id if ready else None
        if sandbox_id is None:
            return actions.retry_at
        retry_at = actions.retry_at
        for start in actions.start:
            image_retry = await self._start(key, pod, sandbox_id, start)
            if image_retry is not None:
                retry_at = image_retry if retry_at is None else min(retry_at, image_retry)
                break
        for backoff_key, failed_at in actions.restarts:
            self.crash_backoff.retried(backoff_key, failed_at, time.time())
        return retry_at

    async def _start(
        self, key: str, pod: Pod, sandbox_id: str, start: StartContainer
    ) -> float | None:
        container = start.container
        image = container.image or ""
        if not await self._ensure_image(key, container, pod, image):
            now = time.time()
            retry_at = self.image_backoff.waiting_until(image_backoff_key(pod, image), now, now)
            return retry_at if retry_at is not None else time.time() + self.settings.resync_period
        restart_count = start.restart_count
        if self.settings.prepare_host:
            restart_count = max(
                restart_count, self.pod_logs.next_restart_count(pod, container.name or "")
            )
        spec = container_spec(pod, container, restart_count, start.kind, self._context(pod))
        container_id = await self.runtime.create_container(sandbox_id, pod, spec)
        await self.runtime.start_container(container_id)
        # Docker names the log file only once the container has started
        log_path = await self.runtime.container_log_path(container_id)
        if self.settings.prepare_host:
            self.pod_logs.link(pod, container.name or "", restart_count, container_id, log_path)
        logs.emit(
            "container started",
            pod=key,
            container=container.name,
            restart_count=restart_count,
            id=container_id[:12],
        )
        return None

    async def _ensure_image(self, key: str, container: Container, pod: Pod, image: str) -> bool:
        step = image_step(container.image_pull_policy, await self.runtime.image_present(image))
        if step == "missing":
            logs.emit(
                "container waiting",
                level="error",
                pod=key,
                container=container.name,
                reason="ErrImageNeverPull",
                image=image,
            )
        if step != "pull":
            return step == "use"
        backoff_key = image_backoff_key(pod, image)
        now = time.time()
        if self.image_backoff.waiting_until(backoff_key, now, now) is not None:
            logs.emit(
                "container waiting",
                pod=key,
                container=container.name,
                reason="ImagePullBackOff",
                image=image,
            )
            return False
        try:
            await self.runtime.pull_image(image)
        except RuntimeCallError as error:
            self.image_backoff.retried(backoff_key, now, now)
            logs.emit("image pull failed", level="error", pod=key, image=image, error=str(error))
            return False
        return True

    def _log_exits(self, worker: PodWorker, containers: list[ContainerInfo]) -> None:
        for info in containers:
            if info.state == "exited" and info.id not in (worker.exits_logged or ()):
                if worker.exits_logged is None:
                    worker.exits_logged = set()
                worker.exits_logged.add(info.id)
                logs.emit(
                    "container exited",
                    pod=worker.key,
                    container=info.name,
                    exit_code=info.exit_code,
                    restart_count=info.restart_count,
                )

    async def _kill_all(self, containers: list[ContainerInfo], grace: float) -> None:
        alive = [info for info in containers if info.state != "exited"]
        # main containers first, in parallel; sidecars after them, as the kubelet orders it
        for kinds in (("regular", "init"), ("sidecar",)):
            await asyncio.gather(
                *(
                    self.runtime.stop_container(info.id, grace)
                    for info in alive
                    if info.kind in kinds
                )
            )

    async def _remove_pod(self, key: str, uid: str, grace: float) -> None:
        """Stop and remove what runs for a pod, then its volumes, log links and back-offs."""
        await self._stop_uid(key, uid, grace)
        remove_volumes(self._volumes_dir(uid))
        namespace, _, name = key.partition("/")
        self.pod_logs.remove(namespace, name, uid)
        self.crash_backoff.forget(f"{uid}_")
        self.image_backoff.forget(f"{uid}_")

    async def _stop_uid(self, key: str, uid: str, grace: float) -> None:
        try:
            containers = await self.runtime.list_containers(uid)
            await self._kill_all(containers, grace)
            for info in containers:
                await self.runtime.remove_container(info.id)
            for sandbox in await self.runtime.list_pod_sandboxes(uid):
                await self.runtime.stop_pod_sandbox(sandbox.id)
                await self.runtime.remove_pod_sandbox(sandbox.id)
        except RuntimeCallError as error:
            logs.emit("runtime call failed", level="error", pod=key, error=str(error))
            return
        logs.emit("pod stopped", pod=key, uid=uid)

    async def _remove_sandbox(self, sandbox_id: str, containers: list[ContainerInfo]) -> None:
        for info in containers:
            if info.sandbox_id == sandbox_id and info.state == "exited":
                with contextlib.suppress(RuntimeCallError):
                    await self.runtime.remove_container(info.id)
        await self.runtime.remove_pod_sandbox(sandbox_id)

    def _context(self, pod: Pod) -> PodContext:
        host_ip = self.settings.host_ip
        return PodContext(
            host_ip=host_ip,
            pod_ip=host_ip if pod.spec.host_network else "127.0.0.1",
            volumes_dir=self._volumes_dir(pod.metadata.uid or ""),
        )

    def _volumes_dir(self, uid: str) -> str:
        return os.path.join(self.settings.root_dir, "pods", uid, "volumes")
