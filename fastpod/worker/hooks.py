"""Runs containers' lifecycle hooks, and stops containers as the kubelet's ``killContainer``
stops them: the preStop hook first, within the grace period, then the runtime's stop with
what is left of it.

A ``postStart`` hook runs right after the container started, and the pod's sync waits for
it (the kubelet's ``startContainer``), so the container is not reported running before it
ends; a failure kills the container, whose death the pod loop then handles as any other.
A ``preStop`` hook runs for every container fastpod stops: removed, replaced, killed by a
probe or by its own failed ``postStart``. A container whose pod's spec is gone (an orphan)
is stopped with the hook and grace period it was created with, read back from its
annotations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable

from fastpod import logs
from fastpod.model import Container, LifecycleHandler, Pod
from fastpod.probes.decisions import MINIMUM_GRACE_SECONDS, remaining_grace
from fastpod.probes.http import HOOK_USER_AGENT, http_probe_request, probe_http
from fastpod.probes.netns import NamespaceError, NetworkNamespace
from fastpod.probes.ports import PortError, resolve_port
from fastpod.runtime.addresses import LOOPBACK
from fastpod.runtime.base import ContainerInfo, Runtime, RuntimeCallError
from fastpod.runtime.labels import POD_NAME, POD_NAMESPACE
from fastpod.runtime.spec import restored_container
from fastpod.worker.events import PodEvents

DEFAULT_GRACE_SECONDS = 30
"""A pod's ``terminationGracePeriodSeconds`` when it does not say."""


class HookRunner:
    """Runs the hooks of one worker's containers and stops them."""

    def __init__(
        self, runtime: Runtime, events: PodEvents, pod_address: Callable[[Pod], str]
    ) -> None:
        self.runtime = runtime
        self.events = events
        self.pod_address = pod_address
        """A pod's address, an ``httpGet`` hook's default host (see the prober's)."""

    async def post_start(
        self, key: str, pod: Pod, container: Container, target: ContainerInfo
    ) -> bool:
        """Run the container's ``postStart`` hook, if it has one; whether the container may
        go on. A failed hook is a ``FailedPostStartHook`` event, and the container is killed
        (its preStop hook first, as any kill)."""
        lifecycle = container.lifecycle
        if lifecycle is None or lifecycle.post_start is None:
            return True
        error = await self._run(pod, container, target, lifecycle.post_start)
        if error is None:
            return True
        self.events.emit(
            key,
            "post-start hook failed",
            "FailedPostStartHook",
            error,
            "Warning",
            level="error",
            container=target.name,
            detail=error,
        )
        grace = pod.spec.termination_grace_period_seconds
        await self.kill(
            key,
            target,
            pod,
            DEFAULT_GRACE_SECONDS if grace is None else grace,
            message="FailedPostStartHook",
        )
        return False

    async def kill(
        self,
        key: str,
        target: ContainerInfo,
        pod: Pod | None,
        grace: float,
        *,
        message: str | None = None,
        pre_stop: bool = True,
    ) -> None:
        """Stop ``target``: its ``preStop`` hook for at most ``grace`` seconds, then the
        runtime's stop with the rest, never less than the kubelet's minimum.

        ``pod`` is the spec the container runs under; None when it is gone, and then its
        hook comes from its annotations (``restoreSpecsFromContainerLabels``). ``pre_stop``
        False skips the hook (a pod known only from the runtime). ``message``, when given, is
        said as a ``Killing`` event first (a whole pod's stop is one event, said by its
        caller). Raises :class:`RuntimeCallError` when the stop fails; a failed hook never
        keeps the container from being stopped.
        """
        if message is not None:
            self.events.emit(
                key,
                "container killed",
                "Killing",
                message,
                container=target.name,
                id=target.id[:12],
            )
        container = _spec_of(pod, target)
        lifecycle = container.lifecycle if pre_stop else None
        left = max(int(grace), MINIMUM_GRACE_SECONDS)
        if lifecycle is not None and lifecycle.pre_stop is not None and grace > 0:
            began = time.monotonic()
            error: str | None = None
            try:
                async with asyncio.timeout(grace):
                    error = await self._run(pod, container, target, lifecycle.pre_stop)
            except TimeoutError:
                logs.emit(
                    "pre-stop hook not done within the grace period",
                    level="warning",
                    pod=key,
                    container=target.name,
                    grace=grace,
                )
            if error is not None:
                # the message stays out of the event, as the kubelet keeps it out: a hook's
                # output may hold secrets
                self.events.emit(
                    key,
                    "pre-stop hook failed",
                    "FailedPreStopHook",
                    "PreStopHook failed",
                    "Warning",
                    container=target.name,
                    error=error,
                )
            left = remaining_grace(int(grace), time.monotonic() - began)
        await self.runtime.stop_container(target.id, float(left))

    async def _run(
        self,
        pod: Pod | None,
        container: Container,
        target: ContainerInfo,
        handler: LifecycleHandler,
    ) -> str | None:
        """Run one hook handler to its end; None if it succeeded, else the kubelet's words."""
        name = container.name or ""
        if handler.exec is not None:
            command = handler.exec.command or []
            try:
                reply = await self.runtime.exec_sync(target.id, command, 0)
            except RuntimeCallError as error:
                return _exec_failure(command, name, pod, target, str(error), "")
            if reply.exit_code == 0:
                return None
            output = reply.output.decode(errors="replace")
            error_text = f"command '{' '.join(command)}' exited with {reply.exit_code}: {output}"
            return _exec_failure(command, name, pod, target, error_text, output)
        if handler.http_get is not None:
            action = handler.http_get
            failure = await self._http_get(pod, container, target, handler)
            if failure is None:
                return None
            return (
                f"HTTP lifecycle hook ({action.path or ''}) for Container {_quoted(name)} in Pod"
                f" {_quoted(_pod_name(pod, target))} failed - error: {failure}"
            )
        if handler.sleep is not None:
            await asyncio.sleep(max(0, handler.sleep.seconds or 0))
            return None
        return "Cannot run handler: invalid handler: only exec, httpGet and sleep hooks run"

    async def _http_get(
        self,
        pod: Pod | None,
        container: Container,
        target: ContainerInfo,
        handler: LifecycleHandler,
    ) -> str | None:
        """GET the hook's URL in the pod's network; None on any response, else why not.

        An orphan's address is its sandbox's loopback: without its spec, whether it shares
        the node's network is not known, and the loopback is right either way."""
        action = handler.http_get
        assert action is not None
        port = resolve_port(action.port, container)
        if isinstance(port, PortError):
            return port.message
        address = self.pod_address(pod) if pod is not None else LOOPBACK
        request = http_probe_request(action, port, address, HOOK_USER_AGENT)
        namespace = None
        try:
            if pod is None or not pod.spec.host_network:
                path = await self.runtime.network_namespace(target.sandbox_id)
                namespace = NetworkNamespace(path) if path else None
            result = await probe_http(request, None, namespace, any_status=True)
        except (RuntimeCallError, NamespaceError) as error:
            return str(error)
        finally:
            if namespace is not None:
                with contextlib.suppress(OSError):
                    namespace.close()
        return None if result.outcome == "success" else result.output


def _spec_of(pod: Pod | None, target: ContainerInfo) -> Container:
    """The spec ``target`` runs under: its pod's, else what its annotations keep of it."""
    if pod is not None:
        for container in (pod.spec.init_containers or []) + (pod.spec.containers or []):
            if container.name == target.name:
                return container
    return restored_container(target.name, target.labels)


def _pod_name(pod: Pod | None, target: ContainerInfo) -> str:
    """The pod as the kubelet's messages name it (``format.Pod``): ``name_namespace(uid)``."""
    if pod is None:
        name, namespace = target.labels.get(POD_NAME, ""), target.labels.get(POD_NAMESPACE, "")
        return f"{name}_{namespace}({target.pod_uid})"
    metadata = pod.metadata
    return f"{metadata.name}_{metadata.namespace}({metadata.uid})"


def _quoted(text: str) -> str:
    """``text`` as Go's ``%q`` writes it, near enough."""
    return json.dumps(text, ensure_ascii=False)


def _exec_failure(
    command: list[str], name: str, pod: Pod | None, target: ContainerInfo, error: str, output: str
) -> str:
    """The kubelet's words for a failed ``exec`` hook."""
    return (
        f"Exec lifecycle hook ([{' '.join(command)}]) for Container {_quoted(name)} in Pod"
        f" {_quoted(_pod_name(pod, target))} failed - error: {error}, message: {_quoted(output)}"
    )
