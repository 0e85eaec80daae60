"""Rotates the logs of a worker's running containers on a CRI runtime, as the kubelet's
container log manager does: a look every ``containerLogMonitorInterval``, one ``stat`` per
running container, and for a log grown past ``containerLogMaxSize`` the file operations
:func:`~fastpod.runtime.logrotation.plan_rotation` decides, then ``ReopenContainerLog``.

Compressing runs in a thread (a 10 MiB log takes a while to gzip); everything else is a
few system calls on the event loop. A failure concerns one container only: it is logged and
the next look tries again, as the kubelet goes on with the next container.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator

from fastpod import logs
from fastpod.runtime.base import Runtime, RuntimeCallError
from fastpod.runtime.logrotation import (
    COMPRESSED,
    TEMPORARY,
    Rotation,
    RotationPolicy,
    plan_rotation,
    rotation_due,
)
from fastpod.worker.pod_loop import PodRunner

LogTargets = Callable[[], Iterable[tuple[str, str]]]
"""The running containers whose logs are watched: ``(container id, log path)`` each."""


def running_logs(runner: PodRunner) -> Iterator[tuple[str, str]]:
    """``(container id, log path)`` of each container running in the runner's pods, as
    their last syncs saw them: ``<pod logs dir>/<ns>_<pod>_<uid>/<name>/<restartCount>.log``,
    where the kubelet has a CRI runtime write it."""
    for loop in runner.loops.values():
        pod, observed = loop.running, loop.observed
        if pod is None or observed is None:
            continue
        directory = runner.state.pod_logs.pod_dir(pod)
        for info in observed.containers:
            if info.state == "running":
                # an f-string, not os.path.join: this runs for every container at every look
                yield info.id, f"{directory}/{info.name}/{info.restart_count}.log"


class LogRotator:
    """Keeps the logs of the containers ``targets`` names within ``policy``."""

    def __init__(
        self, runtime: Runtime, policy: RotationPolicy, interval: float, targets: LogTargets
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.interval = interval
        self.targets = targets

    async def run(self) -> None:
        """Look at the logs every interval until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    async def check(self) -> int:
        """Look at every log once, rotating those due; how many were rotated."""
        rotated = 0
        for container_id, path in list(self.targets()):
            try:
                rotated += await self._check(container_id, path)
            except (OSError, RuntimeCallError) as error:
                logs.emit(
                    "log rotation failed",
                    level="error",
                    container_id=container_id[:12],
                    path=path,
                    error=str(error),
                )
        return rotated

    async def _check(self, container_id: str, path: str) -> bool:
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            # a rotation interrupted before the runtime reopened the log: ask it again
            await self.runtime.reopen_container_log(container_id)
            size = os.stat(path).st_size
        if not rotation_due(size, self.policy):
            return False
        directory, name = os.path.split(path)
        rotation = plan_rotation(name, os.listdir(directory), self.policy, time.time())
        if rotation is None:
            return False
        await asyncio.to_thread(_tidy, directory, rotation)
        rotated = os.path.join(directory, rotation.rotated)
        os.rename(path, rotated)
        try:
            await self.runtime.reopen_container_log(container_id)
        except RuntimeCallError:
            # back where it was, to be rotated at a later look (the kubelet's way too)
            with contextlib.suppress(OSError):
                os.rename(rotated, path)
            raise
        return True


def _tidy(directory: str, rotation: Rotation) -> None:
    """Remove and compress the rotated files as ``rotation`` says, oldest first."""
    for name in rotation.remove:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, name))
    for name in rotation.compress:
        _compress(os.path.join(directory, name))


def _compress(path: str) -> None:
    """``path`` gzipped to ``path.gz`` through a temporary file, then removed: a rotation
    interrupted half way leaves a ``.tmp`` or both files, which the next one tidies."""
    temporary = f"{path}{TEMPORARY}"
    try:
        with open(path, "rb") as source, gzip.open(temporary, "wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
        os.chmod(temporary, 0o644)
        os.rename(temporary, f"{path}{COMPRESSED}")
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    os.unlink(path)
