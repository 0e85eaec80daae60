"""Runs the pods a worker owns on the runtime, one operation at a time per pod name.

Operations on one pod name are chained, so a replaced pod is fully stopped before its
successor with the same name starts (the kubelet's ``allowStaticPodStart``); different pods
proceed in parallel. Restart policy and back-off come with the lifecycle, not here.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastpod import logs
from fastpod.model import Pod
from fastpod.runtime.base import Runtime, RuntimeCallError
from fastpod.runtime.labels import POD_NAME, POD_NAMESPACE, POD_UID
from fastpod.worker.desired import PodChange

DEFAULT_GRACE_PERIOD = 30.0


@dataclass(slots=True)
class RunningPod:
    """What the runtime holds for one pod UID."""

    sandbox_id: str | None = None
    container_ids: list[str] = field(default_factory=list)


def _key(pod: Pod) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


class PodRunner:
    """Applies :class:`PodChange` decisions to the runtime and knows what runs, by pod UID."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.running: dict[str, RunningPod] = {}
        self._chains: dict[str, asyncio.Task[None]] = {}

    def submit(self, change: PodChange) -> None:
        """Queue ``change`` behind whatever is still under way for the same pod name."""
        self._enqueue(_key(change.pod), functools.partial(self._apply, change))

    async def idle(self) -> None:
        """Wait until every queued operation has finished."""
        while self._chains:
            await asyncio.gather(*self._chains.values(), return_exceptions=True)

    async def adopt(self) -> None:
        """Learn what already runs (a restarted worker), so it is not started twice."""
        for sandbox in await self.runtime.list_pod_sandboxes():
            uid = sandbox.labels.get(POD_UID)
            if uid:
                self.running.setdefault(uid, RunningPod()).sandbox_id = sandbox.id
        for container in await self.runtime.list_containers():
            uid = container.labels.get(POD_UID)
            if uid:
                self.running.setdefault(uid, RunningPod()).container_ids.append(container.id)

    async def remove_orphans(
        self, is_desired: Callable[[str, str], bool], owns: Callable[[str], bool]
    ) -> None:
        """Stop the pods this worker owns that no source wants any more.

        Each is stopped in its pod name's queue and only if still unwanted by then, so a
        pod wanted again while the sweep goes on is left running.
        """
        for sandbox in await self.runtime.list_pod_sandboxes():
            uid = sandbox.labels.get(POD_UID, "")
            key = f"{sandbox.labels.get(POD_NAMESPACE)}/{sandbox.labels.get(POD_NAME)}"
            if owns(key):
                self._enqueue(key, functools.partial(self._stop_orphan, key, uid, is_desired))

    def _enqueue(self, key: str, operation: Callable[[], Awaitable[None]]) -> None:
        previous = self._chains.get(key)
        task = asyncio.get_running_loop().create_task(self._after(previous, key, operation))
        self._chains[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    async def _after(
        self,
        previous: asyncio.Task[None] | None,
        key: str,
        operation: Callable[[], Awaitable[None]],
    ) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        try:
            await operation()
        except RuntimeCallError as error:
            logs.emit("runtime call failed", level="error", pod=key, error=str(error))

    async def _stop_orphan(
        self, key: str, uid: str, is_desired: Callable[[str, str], bool]
    ) -> None:
        if is_desired(key, uid):
            return
        logs.emit("orphan pod removed", pod=key, uid=uid)
        await self._stop(key, uid, DEFAULT_GRACE_PERIOD)

    async def _apply(self, change: PodChange) -> None:
        pod = change.pod
        if change.kind == "removed":
            await self._stop(_key(pod), pod.metadata.uid or "", _grace(pod))
        elif change.kind == "updated" and change.previous is not None:
            await self._stop(_key(pod), pod.metadata.uid or "", _grace(change.previous))
            await self._start(pod)
        else:
            await self._start(pod)

    async def _start(self, pod: Pod) -> None:
        uid = pod.metadata.uid or ""
        running = self.running.setdefault(uid, RunningPod())
        if running.sandbox_id is not None and running.container_ids:
            return  # adopted: it already runs
        if running.sandbox_id is None:
            running.sandbox_id = await self.runtime.run_pod_sandbox(pod)
        for container in pod.spec.containers or ():
            container_id = await self.runtime.create_container(running.sandbox_id, pod, container)
            running.container_ids.append(container_id)
            await self.runtime.start_container(container_id)
        logs.emit("pod started", pod=_key(pod), uid=uid)

    async def _stop(self, key: str, uid: str, grace_period: float) -> None:
        running = self.running.pop(uid, None)
        if running is None:
            return
        await asyncio.gather(
            *(
                self._stop_container(container_id, grace_period)
                for container_id in running.container_ids
            )
        )
        if running.sandbox_id is not None:
            await self.runtime.stop_pod_sandbox(running.sandbox_id)
            await self.runtime.remove_pod_sandbox(running.sandbox_id)
        logs.emit("pod stopped", pod=key, uid=uid)

    async def _stop_container(self, container_id: str, grace_period: float) -> None:
        await self.runtime.stop_container(container_id, grace_period)
        await self.runtime.remove_container(container_id)

    def _forget(self, key: str, done: asyncio.Task[None]) -> None:
        if self._chains.get(key) is done:
            del self._chains[key]


def _grace(pod: Pod) -> float:
    seconds = pod.spec.termination_grace_period_seconds
    return float(DEFAULT_GRACE_PERIOD if seconds is None else seconds)
