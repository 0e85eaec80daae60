"""Stopping a pod and removing what it leaves: its containers, its sandboxes, then its
volumes, log links and back-offs.

The pod loop (:mod:`fastpod.worker.pod_loop`) and the orphan sweep decide what to stop; this
carries it out. After a failed runtime call the pod's files stay where they are and the
caller tries again later: its containers may still be using them.
"""

from __future__ import annotations

import asyncio
import contextlib

from fastpod.model import Pod
from fastpod.runtime.base import ContainerInfo, Runtime, RuntimeCallError
from fastpod.runtime.volumes import VolumeError, remove_pod_dir
from fastpod.worker.hooks import HookRunner
from fastpod.worker.pod_state import PodState
from fastpod.worker.settings import WorkerSettings


class PodTeardown:
    """Stops pods and removes what they leave, for the pod loops of one worker."""

    def __init__(
        self,
        runtime: Runtime,
        settings: WorkerSettings,
        state: PodState,
        hooks: HookRunner,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.state = state
        self.hooks = hooks

    async def kill_all(
        self,
        key: str,
        containers: list[ContainerInfo],
        pod: Pod | None,
        grace: float,
        *,
        runtime_only: bool = False,
    ) -> None:
        """Stop the containers that have not exited, each after its preStop hook: main
        containers first, in parallel, then the sidecars, as the kubelet orders it.
        ``pod`` is the spec they run under (None: restored from their annotations).
        ``runtime_only``: a pod known only from the runtime, killed as the kubelet kills
        ``runningPod.ToAPIPod()``: every container at once, no hook."""
        alive = [info for info in containers if info.state != "exited"]
        groups = (
            [alive]
            if runtime_only
            else [
                [info for info in alive if info.kind in kinds]
                for kinds in (("regular", "init"), ("sidecar",))
            ]
        )
        for group in groups:
            await asyncio.gather(
                *(
                    self.hooks.kill(key, info, pod, grace, pre_stop=not runtime_only)
                    for info in group
                )
            )

    async def remove_pod(
        self, key: str, uid: str, pod: Pod | None, grace: float, *, runtime_only: bool = False
    ) -> bool:
        """Stop and remove what runs for a pod, then its volumes, log links and back-offs;
        whether that is done. After a failed runtime call the pod's files are kept: its
        containers may still use them; a volume that cannot be unmounted keeps them too.
        ``runtime_only`` as for :meth:`kill_all`."""
        if not await self._stop_pod(key, uid, pod, grace, runtime_only):
            return False
        try:
            remove_pod_dir(self.settings.pod_dir(uid))
        except VolumeError as error:
            # a tmpfs still in use: the pod's directory waits for the next try
            self.state.events.emit(
                key,
                "pod volumes not removed",
                "FailedUnmount",
                str(error),
                "Warning",
                level="error",
                uid=uid,
                error=str(error),
            )
            return False
        self.state.forget(key, uid)
        return True

    async def _stop_pod(
        self, key: str, uid: str, pod: Pod | None, grace: float, runtime_only: bool
    ) -> bool:
        try:
            containers = await self.runtime.list_containers(uid)
            await self.kill_all(key, containers, pod, grace, runtime_only=runtime_only)
            for info in containers:
                await self.runtime.remove_container(info.id)
            for sandbox in await self.runtime.list_pod_sandboxes(uid):
                await self.runtime.stop_pod_sandbox(sandbox.id)
                await self.runtime.remove_pod_sandbox(sandbox.id)
        except RuntimeCallError as error:
            self.state.events.runtime_failed(key, error)
            return False
        self.state.events.emit(key, "pod stopped", "Killing", f"Stopped pod {key} ({uid})", uid=uid)
        return True

    async def remove_sandbox(self, sandbox_id: str, containers: list[ContainerInfo]) -> None:
        """Remove a sandbox that is no longer ready, and its exited containers."""
        for info in containers:
            if info.sandbox_id == sandbox_id and info.state == "exited":
                with contextlib.suppress(RuntimeCallError):
                    await self.runtime.remove_container(info.id)
        await self.runtime.remove_pod_sandbox(sandbox_id)
