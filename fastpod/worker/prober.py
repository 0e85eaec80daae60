"""Runs the liveness, readiness and startup probes of a worker's running containers.

The kubelet's prober manager: one task per container instance that has probes (none for a
container without, so probes cost nothing there), sleeping until its next probe is due.
What a result means is decided by the pure :mod:`fastpod.probes.decisions`; this module
only runs handlers, keeps each instance's state, and acts on a verdict: a liveness or
startup failure stops the container, whose death the pod loop then handles as any other
(restart policy, crash-loop back-off, restart count). Readiness only changes what the
status reports.
"""

from __future__ import annotations

import asyncio
import functools
import random
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastpod import logs
from fastpod.metrics import recorder
from fastpod.model import Container, Pod, Probe
from fastpod.probes import decisions
from fastpod.probes.decisions import PROBE_KINDS, ContainerProbes, HandlerResult, ProbeKind
from fastpod.probes.http import HttpProbe, http_probe_request
from fastpod.probes.netns import NamespaceError, NetworkNamespace
from fastpod.probes.ports import PortError, resolve_port
from fastpod.probes.result import ProbeResult
from fastpod.probes.tcp import probe_tcp
from fastpod.runtime.base import ContainerInfo, ExecTimeout, Runtime, RuntimeCallError
from fastpod.worker.events import PodEvents
from fastpod.worker.hooks import HookRunner


@dataclass(slots=True)
class _Instance:
    """The probes of one running container instance, and the task that runs them."""

    probes: ContainerProbes
    target: ContainerInfo
    """The container instance probed, as the runtime listed it."""
    task: asyncio.Task[None] | None = None
    namespace: NetworkNamespace | None = None
    """The pod's network namespace, opened at the first network probe of a pod-network pod."""


class Prober:
    """The probes of every pod of one worker, by pod key and container name."""

    def __init__(
        self,
        runtime: Runtime,
        events: PodEvents,
        pod_address: Callable[[Pod], str],
        hooks: HookRunner,
    ) -> None:
        self.runtime = runtime
        self.events = events
        self.hooks = hooks
        self.pod_address = pod_address
        """A pod's address, its network probes' default host (a hostNetwork pod's is the
        node's; the others' is what their sandbox reported, else their own loopback)."""
        self._pods: dict[str, dict[str, _Instance]] = {}

    def probes(self, key: str) -> dict[str, ContainerProbes]:
        """Container name → the probes of its running instance, for the pod's status."""
        return {name: each.probes for name, each in self._pods.get(key, {}).items()}

    def track(
        self, key: str, pod: Pod, containers: list[ContainerInfo], wake: Callable[[], None]
    ) -> None:
        """Probe what runs of ``pod`` now: new instances start over, gone ones stop.

        ``wake`` is the pod loop's alarm, rung after a probe stopped a container.
        """
        probed = _probed_containers(pod)
        if not probed and key not in self._pods:
            return  # every sync of every pod comes here: a pod without probes costs nothing
        running = {info.name: info for info in containers if info.state == "running"}
        instances = self._pods.get(key, {})
        kept: dict[str, _Instance] = {}
        for container in probed:
            name = container.name or ""
            info = running.get(name)
            if info is None:
                continue
            current = instances.get(name)
            probes = decisions.for_container(
                current.probes if current else None,
                container,
                info.id,
                info.started_at or time.time(),
                random.random(),
            )
            if current is not None and probes is current.probes:
                kept[name] = current
                continue
            instance = kept[name] = _Instance(probes, info)
            instance.task = asyncio.get_running_loop().create_task(
                self._probe(key, pod, container, instance, wake)
            )
            instance.task.add_done_callback(functools.partial(_ended, key, name, instance))
        for name, instance in instances.items():
            if kept.get(name) is not instance and instance.task is not None:
                instance.task.cancel()
        if kept:
            self._pods[key] = kept
        else:
            self._pods.pop(key, None)

    def forget(self, key: str) -> None:
        """Stop probing the pod: it is being stopped or removed."""
        for instance in self._pods.pop(key, {}).values():
            if instance.task is not None:
                instance.task.cancel()

    async def _probe(
        self,
        key: str,
        pod: Pod,
        container: Container,
        instance: _Instance,
        wake: Callable[[], None],
    ) -> None:
        # the container's probes and what each run of them needs, worked out once
        address = self.pod_address(pod)
        plans = [
            (
                kind,
                probe,
                decisions.probe_timing(probe),
                _labels(key, container, kind),
                _http_probe(probe, container, address),
            )
            for kind in PROBE_KINDS
            if (probe := decisions.probe_of(container, kind)) is not None
        ]
        while (due_at := decisions.next_due(instance.probes)) is not None:
            await asyncio.sleep(max(0.0, due_at - time.time()))
            # the loop's timers run on a millisecond clock of their own and may wake us a
            # little before due_at by this one: the probe is due all the same
            now = max(time.time(), due_at)
            for kind, probe, timing, labels, http in plans:
                if not decisions.due(instance.probes, kind, now):
                    continue
                result, output = await self._run(
                    probe, pod, container, instance, timing, labels, http
                )
                instance.probes, verdict = decisions.record(
                    instance.probes, kind, timing, result, time.time()
                )
                self._report(key, container, kind, result, output, labels)
                if kind == "startup" and verdict.changed:
                    wake()  # a sidecar that started lets the init sequence go on
                if verdict.kill:
                    await self._kill(key, pod, container, kind, probe, instance, wake)
                    return

    async def _run(
        self,
        probe: Probe,
        pod: Pod,
        container: Container,
        instance: _Instance,
        timing: decisions.ProbeTiming,
        labels: dict[str, str],
        http: HttpProbe | PortError | None,
    ) -> tuple[HandlerResult, str]:
        began = time.monotonic()
        try:
            if probe.exec is not None:
                command = probe.exec.command or []
                return await self._exec(command, instance.probes.container_id, timing.timeout)
            if pod.spec.host_network:
                namespace = None
            else:
                try:
                    namespace = await self._namespace(instance)
                except (RuntimeCallError, NamespaceError) as error:
                    return "error", str(error)
            address = self.pod_address(pod)
            return await self._network(probe, container, address, namespace, timing, http)
        finally:
            recorder.observe("prober_probe_duration_seconds", time.monotonic() - began, **labels)

    async def _exec(
        self, command: list[str], container_id: str, timeout: float
    ) -> tuple[HandlerResult, str]:
        try:
            reply = await self.runtime.exec_sync(container_id, command, timeout)
        except ExecTimeout:
            return "failure", f"command {shlex.join(command)!r} timed out"
        except RuntimeCallError as error:
            return "error", str(error)
        output = reply.output.decode(errors="replace")
        return ("success" if reply.exit_code == 0 else "failure"), output

    async def _namespace(self, instance: _Instance) -> NetworkNamespace | None:
        """The pod's network namespace, opened once per container instance; None where the
        runtime has none to enter (the fake's pods share the host's network)."""
        if instance.namespace is None:
            path = await self.runtime.network_namespace(instance.target.sandbox_id)
            if path:
                instance.namespace = NetworkNamespace(path)
        return instance.namespace

    async def _network(
        self,
        probe: Probe,
        container: Container,
        address: str,
        namespace: NetworkNamespace | None,
        timing: decisions.ProbeTiming,
        http: HttpProbe | PortError | None,
    ) -> tuple[HandlerResult, str]:
        """An ``httpGet`` (``http``, made ready by :func:`_http_probe`), ``tcpSocket`` or
        ``grpc`` probe at the pod's ``address``, its sockets made in the pod's network
        ``namespace`` (None: the node's)."""
        timeout = timing.timeout
        if isinstance(http, PortError):
            return "error", http.message
        if http is not None:
            return _handler_result(await http.run(timeout, namespace))
        if probe.tcp_socket is not None:
            port = resolve_port(probe.tcp_socket.port, container)
            if isinstance(port, PortError):
                return "error", port.message
            host = probe.tcp_socket.host or address
            return _handler_result(await probe_tcp(host, port, timeout, namespace))
        if probe.grpc is not None:
            # deferred: grpc and protobuf would add tens of ms to every start of fastpod,
            # and few pods have a grpc probe
            from fastpod.probes.grpc_health import probe_grpc

            service = probe.grpc.service or ""
            port = probe.grpc.port or 0
            reply = await probe_grpc(address, port, service, timeout, namespace)
            return _handler_result(reply)
        return "error", "the probe names no handler"

    def _report(
        self,
        key: str,
        container: Container,
        kind: ProbeKind,
        result: HandlerResult,
        output: str,
        labels: dict[str, str],
    ) -> None:
        counted = decisions.counted(result)
        recorder.count("prober_probe_total", 1.0, result=_METRIC_RESULT[counted], **labels)
        event = _EVENTS.get(result)
        if event is not None:
            logged, reason, wording = event
            message = wording(kind, output)
            self.events.emit(
                key,
                logged,
                reason,
                message,
                "Warning",
                container=container.name,
                probe=kind,
                detail=message,
            )
        elif result == "error":
            logs.emit(
                "probe errored",
                level="warning",
                pod=key,
                container=container.name,
                probe=kind,
                message=decisions.errored_message(kind, output),
            )

    async def _kill(
        self,
        key: str,
        pod: Pod,
        container: Container,
        kind: ProbeKind,
        probe: Probe,
        instance: _Instance,
        wake: Callable[[], None],
    ) -> None:
        message = decisions.killing_message(
            container.name or "",
            "startup" if kind == "startup" else "liveness",
            pod.spec.restart_policy or "Always",
            container.restart_policy == "Always",
        )
        self.events.emit(
            key,
            "container killed by probe",
            "Killing",
            message,
            container=container.name,
            probe=kind,
            detail=message,
        )
        grace = decisions.kill_grace(pod.spec.termination_grace_period_seconds, probe)
        try:
            await self.hooks.kill(key, instance.target, pod, float(grace))
        except RuntimeCallError as error:
            self.events.runtime_failed(key, error)
        wake()


_EVENTS: dict[HandlerResult, tuple[str, str, Callable[[ProbeKind, str], str]]] = {
    "failure": ("probe failed", "Unhealthy", decisions.unhealthy_message),
    "warning": ("probe warning", "ProbeWarning", decisions.warning_message),
}
"""What a probe's result is logged as, its event reason, and the kubelet's wording."""

_METRIC_RESULT = {"success": "successful", "failure": "failed", None: "unknown"}
"""The kubelet's ``result`` label of ``prober_probe_total``."""


def _labels(key: str, container: Container, kind: ProbeKind) -> dict[str, str]:
    """The kubelet's labels of the prober metrics."""
    namespace, _, name = key.partition("/")
    return {
        "probe_type": kind.capitalize(),
        "container": container.name or "",
        "pod": name,
        "namespace": namespace,
    }


def _http_probe(probe: Probe, container: Container, address: str) -> HttpProbe | PortError | None:
    """The probe's ``httpGet`` at ``address``, ready to run every period; why its port does
    not resolve; None for another handler."""
    if probe.http_get is None:
        return None
    port = resolve_port(probe.http_get.port, container)
    if isinstance(port, PortError):
        return port
    return HttpProbe(http_probe_request(probe.http_get, port, address))


def _probed_containers(pod: Pod) -> list[Container]:
    """The sidecars and regular containers of ``pod`` with a probe fastpod runs."""
    sidecars = [c for c in pod.spec.init_containers or () if c.restart_policy == "Always"]
    return [c for c in [*sidecars, *(pod.spec.containers or ())] if decisions.probed(c)]


def _handler_result(result: ProbeResult) -> tuple[HandlerResult, str]:
    """A network handler's result as the decisions count it: a warning is a success that
    says something, unknown is an error (the kubelet drops it)."""
    if result.outcome == "success":
        return ("warning" if result.warning else "success"), result.output
    return ("failure" if result.outcome == "failure" else "error"), result.output


def _ended(key: str, name: str, instance: _Instance, task: asyncio.Task[None]) -> None:
    """A container instance's probes ended (it stopped running, a probe killed it, or a
    bug): its namespace is closed, and a failure is said, not lost in the task."""
    if instance.namespace is not None:
        instance.namespace.close()
    error = None if task.cancelled() else task.exception()
    if error is not None:
        logs.emit("probes stopped", level="error", pod=key, container=name, error=repr(error))
