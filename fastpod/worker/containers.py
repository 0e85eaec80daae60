"""Starting one container of a pod: its image first (by the pull policy, with its
back-off), then create and start, its log links, its postStart hook, and what it tells the
log and metrics.

The pod loop (:mod:`fastpod.worker.pod_loop`) decides what to start; this carries it out.
"""

from __future__ import annotations

import time
from typing import Literal

from fastpod import logs
from fastpod.lifecycle import (
    StartContainer,
    backoff_key,
    image_backoff_key,
    image_checked_before_create,
    image_step,
)
from fastpod.metrics import recorder
from fastpod.model import Container, Pod
from fastpod.runtime.base import (
    ContainerInfo,
    ImageMissing,
    Runtime,
    RuntimeCallError,
    RuntimeUnavailable,
)
from fastpod.runtime.security import needs_image_user, run_as_non_root_problem
from fastpod.runtime.spec import container_spec
from fastpod.runtime.termination import create_message_file
from fastpod.status.compute import Observed
from fastpod.worker.hooks import HookRunner
from fastpod.worker.log_links import LogLinks
from fastpod.worker.pod_network import HostsFileError, PodNetwork
from fastpod.worker.pod_state import PodState
from fastpod.worker.settings import WorkerSettings
from fastpod.worker.streaks import Streaks

ImageGot = Literal["present", "pulled"]
"""How a container's image came to be there: the kubelet's ``Pulled`` event says which."""

CONFIG_ERROR = "CreateContainerConfigError"
"""The kubelet's waiting reason for a container it cannot configure."""


class ContainerStarter:
    """Starts containers for the pod loops of one worker, with their shared back-offs."""

    def __init__(
        self,
        runtime: Runtime,
        settings: WorkerSettings,
        state: PodState,
        hooks: HookRunner,
        network: PodNetwork,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.state = state
        self.hooks = hooks
        self.network = network
        self.log_links = LogLinks(state)
        self._waits: dict[str, Streaks] = {}
        """By pod key, each container's streak of syncs it waited through, and why."""

    async def start(
        self,
        key: str,
        pod: Pod,
        sandbox_id: str,
        start: StartContainer,
        observed: Observed,
        failures: dict[str, float],
    ) -> float | None:
        """Start one container and run its postStart hook; when its image is not to be had,
        when to try again."""
        container = start.container
        image = container.image or ""
        image_got: ImageGot | None = "present"
        checked = image_checked_before_create(container.image_pull_policy, start.restart_count)
        if checked:
            image_got = await self._ensure_image(key, container, pod, image, observed)
            if image_got is None:
                return self._image_retry(pod, image)
        restart_count = start.restart_count
        if self.settings.prepare_host:
            restart_count = max(
                restart_count, self.state.pod_logs.next_restart_count(pod, container.name or "")
            )
        name = container.name or ""
        if needs_image_user(pod, container):
            try:
                user = await self.runtime.image_user(image)
            except ImageMissing:
                image_got = await self._ensure_image(key, container, pod, image, observed)
                if image_got is None:
                    return self._image_retry(pod, image)
                user = await self.runtime.image_user(image)
            problem = run_as_non_root_problem(pod, container, user)
            if problem is not None:
                self._config_error(key, name, observed, problem)
                return None
        context = self.settings.pod_context(pod, self.state.pod_ips(pod))
        message_file = hosts_file = None
        if self.settings.prepare_host:
            try:
                hosts_file = self.network.write_hosts_file(pod, context.pod_ips)
            except HostsFileError as error:
                self._config_error(key, name, observed, str(error))
                return None
            if container.termination_message_path:
                message_file = self._termination_message_file(key, pod, name)
        spec = container_spec(
            pod, container, restart_count, start.kind, context, message_file, hosts_file
        )
        kind = "init_container" if start.kind != "regular" else "container"
        try:
            try:
                container_id = await self.runtime.create_container(sandbox_id, pod, spec)
            except ImageMissing:
                if checked:
                    raise
                image_got = await self._ensure_image(key, container, pod, image, observed)
                if image_got is None:
                    return self._image_retry(pod, image)
                container_id = await self.runtime.create_container(sandbox_id, pod, spec)
            except RuntimeUnavailable:
                raise
            except RuntimeCallError as error:
                # the runtime refuses what it is given (a seccomp profile it cannot load):
                # the kubelet's CreateContainerError, tried again at the next sync
                recorder.count("kubelet_started_containers_errors_total", container_type=kind)
                self._waiting(key, name, observed, "CreateContainerError", str(error))
                return None
            if image_got == "present":
                # the kubelet's EnsureImageExists says so at every start (no log line: the
                # image is there, nothing happened to it)
                self.state.events.record(
                    key,
                    "Pulled",
                    f'Container image "{image}" already present on machine',
                    container=name,
                )
            if key in self._waits:
                self._waits[key].succeeded(name)
            self.state.events.emit(
                key,
                "container created",
                "Created",
                f"Created container {name}",
                container=name,
                id=container_id[:12],
            )
            await self.runtime.start_container(container_id)
        except RuntimeCallError:
            recorder.count("kubelet_started_containers_errors_total", container_type=kind)
            raise
        recorder.count("kubelet_started_containers_total", container_type=kind)
        # Docker names the log file only once the container has started
        log_path = await self.runtime.container_log_path(container_id)
        if self.settings.prepare_host:
            self.log_links.make(key, pod, name, restart_count, container_id, log_path)
        restart_key = backoff_key(pod, container)
        failed_at = failures.get(restart_key)
        backoff = None
        if failed_at is not None:
            waited = self.state.crash_backoff.delay(restart_key) or 0.0
            backoff = f"{waited:g}s"  # in the log line: the event says what the kubelet's does
            recorder.count("fastpod_container_restarts_total")
            recorder.observe("fastpod_container_restart_latency_seconds", time.time() - failed_at)
        self.state.events.emit(
            key,
            "container started",
            "Started",
            f"Started container {name}",
            container=name,
            restart_count=restart_count,
            backoff=backoff,
            id=container_id[:12],
        )
        started = ContainerInfo(container_id, sandbox_id, spec.labels_and_annotations, "running")
        await self.hooks.post_start(key, pod, container, started)
        return None

    def _config_error(self, key: str, name: str, observed: Observed, message: str) -> None:
        """The container cannot be configured: it waits as ``CreateContainerConfigError``
        and is tried again at the next sync, as the kubelet's ``startContainer`` leaves it."""
        self._waiting(key, name, observed, CONFIG_ERROR, message)

    def forget(self, key: str) -> None:
        """The pod is gone: nothing of it to say or repair again."""
        self._waits.pop(key, None)
        self.log_links.forget(key)

    def _waiting(self, key: str, name: str, observed: Observed, reason: str, message: str) -> None:
        """The container is not created: it waits with ``reason`` until the next sync. The
        event is kept at every sync, the line logged once while the message stays the same
        (a full disk would log one per sync)."""
        observed.waiting[name] = reason
        observed.messages[name] = message
        logged = self._waits.setdefault(key, Streaks()).failed(name, message)
        event = "container not configured" if reason == CONFIG_ERROR else "container not created"
        self.state.events.emit(
            key,
            event,
            "Failed",
            f"Error: {message}",
            "Warning",
            level="error",
            logged=logged,
            container=name,
            reason=reason,
            error=message,
        )

    def _termination_message_file(self, key: str, pod: Pod, name: str) -> str | None:
        """A new file for the container's termination message; None when it cannot be
        made: the container then runs without one, as the kubelet runs it."""
        directory = self.settings.container_dir(pod.metadata.uid or "", name)
        try:
            return create_message_file(directory)
        except OSError as error:
            message = (
                f"Error on creating termination-log file in {directory}: "
                f"{error.strerror or error}; container {name} runs without one"
            )
            self.state.events.emit(
                key,
                "termination message file not created",
                "Failed",
                message,
                "Warning",
                container=name,
                path=error.filename,
                errno=logs.errno_name(error),
                error=str(error),
            )
            return None

    def _image_retry(self, pod: Pod, image: str) -> float:
        """When to try again to start a container whose image is not to be had."""
        now = time.time()
        retry_at = self.state.image_backoff.waiting_until(image_backoff_key(pod, image), now, now)
        return retry_at if retry_at is not None else now + self.settings.resync_period

    async def _ensure_image(
        self, key: str, container: Container, pod: Pod, image: str, observed: Observed
    ) -> ImageGot | None:
        """How the image is there to start ``container`` (pulled if the policy says), None
        when it is not."""
        name = container.name or ""
        step = image_step(container.image_pull_policy, await self.runtime.image_present(image))
        if step == "missing":
            observed.waiting[name] = "ErrImageNeverPull"
            message = f'Container image "{image}" is not present with pull policy of Never'
            observed.messages[name] = message
            self.state.events.emit(
                key,
                "container waiting",
                "ErrImageNeverPull",
                message,
                "Warning",
                level="error",
                container=name,
                reason="ErrImageNeverPull",
                image=image,
            )
        if step != "pull":
            return "present" if step == "use" else None
        pull_key = image_backoff_key(pod, image)
        now = time.time()
        if self.state.image_backoff.waiting_until(pull_key, now, now) is not None:
            observed.waiting[name] = "ImagePullBackOff"
            observed.messages[name] = f'Back-off pulling image "{image}"'
            self.state.events.emit(
                key,
                "container waiting",
                "BackOff",
                observed.messages[name],
                "Warning",
                container=name,
                reason="ImagePullBackOff",
                image=image,
            )
            return None
        self.state.events.record(key, "Pulling", f'Pulling image "{image}"', container=name)
        began = time.monotonic()
        try:
            await self.runtime.pull_image(image)
        except RuntimeCallError as error:
            self.state.image_backoff.retried(pull_key, now, now)
            observed.waiting[name] = "ErrImagePull"
            observed.messages[name] = str(error)
            self.state.events.emit(
                key,
                "image pull failed",
                "Failed",
                str(error),
                "Warning",
                level="error",
                image=image,
                error=str(error),
            )
            return None
        took = _go_millis(time.monotonic() - began)
        self.state.events.record(
            key,
            "Pulled",
            f'Successfully pulled image "{image}" in {took} ({took} including waiting)',
            container=name,
        )
        return "pulled"


def _go_millis(seconds: float) -> str:
    """A duration truncated to milliseconds as Go prints it (``523ms``, ``1.234s``)."""
    millis = int(seconds * 1000)
    return f"{millis}ms" if millis < 1000 else f"{millis / 1000:g}s"
