"""Runs the pods a worker owns: one sync loop per pod name, driven by the pure lifecycle.

Each loop observes the pod's sandbox and containers, asks :func:`compute_pod_actions` what
to do, does it, and sleeps until a runtime event, a back-off deadline or the periodic
resync wakes it. One loop per pod *name* means a replaced pod is fully stopped before its
successor with the same name starts (the kubelet's ``allowStaticPodStart``).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastpod import logs
from fastpod.lifecycle import PodActions, active_deadline, compute_pod_actions
from fastpod.metrics import recorder
from fastpod.model import Pod
from fastpod.probes.decisions import starting_sidecars
from fastpod.runtime.admission import admit
from fastpod.runtime.base import ContainerInfo, Runtime, RuntimeCallError
from fastpod.runtime.sandbox import SandboxError
from fastpod.runtime.security import sandbox_security
from fastpod.runtime.volumes import (
    VolumeError,
    has_projected_volumes,
    prepare_volumes,
    update_projected_volumes,
)
from fastpod.status.compute import DEADLINE_EXCEEDED, Observed
from fastpod.worker.containers import ContainerStarter
from fastpod.worker.desired import PodChange
from fastpod.worker.health import LoopFailures
from fastpod.worker.holds import NameHolds
from fastpod.worker.hooks import DEFAULT_GRACE_SECONDS, HookRunner
from fastpod.worker.pacing import Pacer
from fastpod.worker.pod_network import PodNetwork
from fastpod.worker.pod_state import PodState
from fastpod.worker.prober import Prober
from fastpod.worker.settings import WorkerSettings
from fastpod.worker.streaks import QUIET_NOTE, host_refusal
from fastpod.worker.teardown import PodTeardown
from fastpod.worker.wakeup import AlarmClock, Wakeup

_NOTHING: dict[str, str] = {}
"""The waiting reasons and messages of an observation without any: one dict for all pods,
never written (a sync writes only into the fresh dicts of its own observation)."""


def _kept(observed: Observed) -> Observed:
    """``observed`` as a pod keeps it until its next sync: with 10,000 pods, two empty
    dicts a pod are over a megabyte."""
    if observed.waiting or observed.messages:
        return observed
    return Observed(
        observed.sandboxes, observed.containers, _NOTHING, _NOTHING, observed.deadline_exceeded
    )


def _key(pod: Pod) -> str:
    # interned: the desired pods are keyed by the same string, held once
    return sys.intern(f"{pod.metadata.namespace}/{pod.metadata.name}")


def _grace(pod: Pod) -> float:
    seconds = pod.spec.termination_grace_period_seconds
    return float(DEFAULT_GRACE_SECONDS if seconds is None else seconds)


@dataclass(slots=True)
class PodLoop:
    """The sync loop of one pod name: the pod it runs now, and the one it should run."""

    key: str
    desired: Pod | None
    running: Pod | None = None
    wake: Wakeup = field(default_factory=Wakeup)
    task: asyncio.Task[None] | None = None
    exits_logged: set[str] | None = None
    first_seen: float = 0.0
    """When this loop first took the running pod: its ``status.startTime``."""
    observed: Observed | None = None
    """What the last sync of the running pod saw and decided: its status comes from it."""
    synced: bool = False
    """The running pod has been synced once (readiness waits for every pod's first sync)."""
    start_recorded: bool = False
    volumes_written_for: Pod | None = None
    """The spec the pod's downwardAPI and projected files were last written from: a spec
    that is not this one (labels or annotations edited under a fixed UID) writes them
    again."""


class PodRunner:
    """Keeps every pod this worker owns as its spec says, on the runtime."""

    def __init__(
        self,
        runtime: Runtime,
        settings: WorkerSettings,
        *,
        hold_until_listed: bool = False,
    ) -> None:
        self.runtime = runtime
        self.settings = settings
        self.loops: dict[str, PodLoop] = {}
        self._running_uids: dict[str, dict[str, PodLoop]] = {}
        """UID → the loops running a pod of that UID (one, unless two manifests set the same
        ``metadata.uid``): a runtime event wakes its pod without a walk over every loop."""
        self.state = PodState(settings)
        self.hooks = HookRunner(runtime, self.state.events, self.state.pod_address)
        self.network = PodNetwork(settings, self.state.events)
        self.starter = ContainerStarter(runtime, settings, self.state, self.hooks, self.network)
        self.teardown = PodTeardown(runtime, settings, self.state, self.hooks)
        self.prober = Prober(runtime, self.state.events, self.state.pod_address, self.hooks)
        self.loop_failures = LoopFailures()
        self.unknown_changes = 0
        """Counts what the runtime reported of pods no loop runs (and removals no loop
        carried out): housekeeping lists the runtime only when it has moved."""
        self.alarms = AlarmClock()
        """Wakes each sleeping loop at its resync or back-off time."""
        self.pacer = Pacer(held=hold_until_listed)
        """When the loops begin their syncs: a few per turn of the event loop, so the
        worker's manifest events never wait behind thousands of them
        (:mod:`fastpod.worker.pacing`); none before :meth:`start_syncing` when held."""
        self.holds = NameHolds(self._wake_name)
        """The names another agent's pods hold (:mod:`fastpod.worker.takeover`)."""
        self.started_before: dict[str, float] = {}
        """By name, when an adopted pod started (its sandbox was made): its start time."""
        self.on_sync: Callable[[str], None] | None = None
        """Told the key of each pod whose status may have changed (a sync, a refusal):
        the cluster reports (:mod:`fastpod.worker.cluster_reports`), with a kubeconfig."""

    def start_syncing(self) -> None:
        """Let the pod loops act: the first listing of the sources has been taken in.

        Like the kubelet, which sends a source's whole first listing at once, a cold start
        first learns every pod and only then starts them: decoding is the critical path,
        and pods started in the middle of it would only delay the rest.
        """
        self.pacer.open()

    def submit(self, change: PodChange) -> None:
        """Make the pod named in ``change`` what the change says, in its own loop."""
        key = _key(change.pod)
        desired = None if change.kind == "removed" else change.pod
        # for inspect; the log has them already, in the pod added or updated line
        for warning in change.not_honoured:
            self.state.events.record(key, "FeatureNotSupported", warning, "Warning")
        loop = self.loops.get(key)
        if loop is None:
            if desired is None:
                # no loop carries this removal out: whatever runs is housekeeping's now
                self.unknown_changes += 1
                return
            loop = self.loops[key] = PodLoop(key, desired)
            # named after its pod: the name is the key its failure is reported under (and
            # no "Task-N" string of its own is made for it)
            loop.task = asyncio.get_running_loop().create_task(self._run(loop), name=key)
            self.loop_failures.watch(loop.task)
        else:
            loop.desired = desired
        loop.wake.set()

    def _wake_name(self, key: str) -> None:
        loop = self.loops.get(key)
        if loop is not None:
            loop.wake.set()

    def wake(self, pod_uid: str | None) -> bool:
        """Sync the pod with this UID now (all pods when None): the runtime saw a change.
        Whether a loop runs that pod."""
        if pod_uid is None:
            for loop in self.loops.values():
                loop.wake.set()
            return False
        running = self._running_uids.get(pod_uid)
        if not running:
            return False
        for loop in running.values():
            loop.wake.set()
        return True

    async def follow_events(self) -> None:
        """Wake pods on the runtime's events until cancelled."""
        async for event in self.runtime.events():
            recorder.count("fastpod_runtime_events_total")
            if not self.wake(event.pod_uid):
                # a pod no loop runs changed, or anything may have: housekeeping looks
                self.unknown_changes += 1

    async def idle(self) -> None:
        """Wait until every pod loop has ended (every pod removed)."""
        while self.loops:
            tasks = [loop.task for loop in self.loops.values() if loop.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    def loop_uids(self) -> set[str]:
        """The UIDs the pod loops run or are about to run: no orphans, whatever the runtime
        holds for them."""
        uids = set()
        for loop in self.loops.values():
            for pod in (loop.running, loop.desired):
                if pod is not None:
                    uids.add(pod.metadata.uid or "")
        return uids

    async def close(self) -> None:
        """Stop every loop; the pods keep running, as the kubelet leaves them."""
        tasks = [loop.task for loop in self.loops.values() if loop.task is not None]
        for task in tasks:
            task.cancel()
        for key in list(self.loops):
            self.prober.forget(key)
        await asyncio.gather(*tasks, return_exceptions=True)
        self.alarms.stop()

    async def _turn(self) -> None:
        turn = self.pacer.turn()
        if turn is not None:
            await turn

    async def _run(self, loop: PodLoop) -> None:
        await self._turn()
        if loop.key in self.holds:
            await self._while_held(loop)
        try:
            while True:
                loop.wake.clear()
                desired = loop.desired
                running = loop.running
                if running is not None and (
                    desired is None or desired.metadata.uid != running.metadata.uid
                ):
                    uid = running.metadata.uid or ""
                    self.prober.forget(loop.key)
                    if not await self.teardown.remove_pod(loop.key, uid, running, _grace(running)):
                        # still the running pod: the stop is retried, as a failed sync is
                        await self._sleep(loop, None)
                        await self._turn()
                        continue
                    if desired is not None:
                        recorder.count("kubelet_restarted_pods_total", static="true")
                    self._set_running(loop, None)
                    loop.exits_logged = None
                    loop.observed = None
                    loop.volumes_written_for = None
                    loop.synced = loop.start_recorded = False
                    continue
                if desired is None:
                    break
                if running is None:
                    self._set_running(loop, desired)
                    loop.first_seen = self.started_before.pop(loop.key, 0.0) or time.time()
                    self._admit(loop, desired)
                if loop.observed is not None and loop.observed.rejection is not None:
                    if not loop.synced:
                        # it never starts: whatever an earlier run left of it is stopped
                        uid = desired.metadata.uid or ""
                        grace = _grace(desired)
                        loop.synced = await self.teardown.remove_pod(loop.key, uid, desired, grace)
                    await self._sleep(loop, None)
                    await self._turn()
                    continue
                retry_at = await self._sync(loop, desired)
                loop.synced = True
                await self._sleep(loop, retry_at)
                await self._turn()
        finally:
            self._unindex(loop)
            if self.loops.get(loop.key) is loop and loop.task is asyncio.current_task():
                del self.loops[loop.key]
                self.state.events.failures.succeeded(loop.key)
                self.starter.forget(loop.key)

    def _set_running(self, loop: PodLoop, pod: Pod | None) -> None:
        """Make ``pod`` the one ``loop`` runs, keeping the index by UID with it."""
        self._unindex(loop)
        loop.running = pod
        if pod is not None:
            self._running_uids.setdefault(pod.metadata.uid or "", {})[loop.key] = loop

    def _unindex(self, loop: PodLoop) -> None:
        if loop.running is None:
            return
        uid = loop.running.metadata.uid or ""
        running = self._running_uids.get(uid)
        if running is not None and running.get(loop.key) is loop:
            del running[loop.key]
            if not running:
                del self._running_uids[uid]

    async def _while_held(self, loop: PodLoop) -> None:
        """Wait while another agent's pod holds the loop's name. A refused pod shows why
        in its status (waiting, with the reason as its message) until it is released."""
        refused = False
        while loop.key in self.holds:
            loop.wake.clear()
            reason = self.holds.refusal(loop.key)
            if reason is not None and loop.desired is not None:
                refused = True
                self._set_running(loop, loop.desired)
                loop.first_seen = loop.first_seen or time.time()
                loop.observed = Observed([], [], _NOTHING, {"": reason}, False)
                loop.synced = True
                if self.on_sync is not None:
                    self.on_sync(loop.key)
            await loop.wake.waiter()
        if refused:
            self._set_running(loop, None)
            loop.observed = None
            loop.synced = False
            loop.first_seen = 0.0

    def _admit(self, loop: PodLoop, pod: Pod) -> None:
        """Ask the node's admit handlers about a pod taken for the first time; a refused
        one is ``Failed`` for good, with the handler's reason (the kubelet's
        ``rejectPod``), and never started."""
        rejection = admit(pod, self.settings.node_security)
        if rejection is None:
            return
        loop.observed = Observed([], [], _NOTHING, _NOTHING, rejection=rejection)
        self.state.events.emit(
            loop.key,
            "pod not admitted",
            rejection.reason,
            rejection.message,
            "Warning",
            reason=rejection.reason,
            detail=rejection.message,
        )

    def _sleep(self, loop: PodLoop, retry_at: float | None) -> asyncio.Future[None]:
        """What the loop awaits until its next sync: a wake-up, or the resync or back-off
        timer. A future, not a coroutine: no frame is kept for each sleeping pod."""
        if self.on_sync is not None:
            self.on_sync(loop.key)
        timeout = self.settings.resync_period
        if retry_at is not None:
            timeout = min(timeout, max(0.0, retry_at - time.time()))
        waiter = loop.wake.waiter()
        if not waiter.done():
            # the worker's clock sets the alarm, not wait_for: cheaper for thousands of
            # pods, and wait_for on Python 3.11 loses a cancellation that meets a set event
            self.alarms.ring_after(loop.wake, timeout)
        return waiter

    async def _sync(self, loop: PodLoop, pod: Pod) -> float | None:
        uid = pod.metadata.uid or ""
        began = time.monotonic()
        operation = "create" if loop.observed is None else "sync"
        try:
            sandboxes, containers = await asyncio.gather(
                self.runtime.list_pod_sandboxes(uid), self.runtime.list_containers(uid)
            )
            self._log_exits(loop, containers)
            now = time.time()
            starting = starting_sidecars(pod, containers, self.prober.probes(loop.key))
            deadline = active_deadline(pod, loop.first_seen)
            actions = compute_pod_actions(
                pod, sandboxes, containers, self.state.crash_backoff, now, starting, deadline
            )
            # what the status shows: this listing, and why containers wait (filled in below)
            observed = loop.observed = Observed(
                sandboxes, containers, actions.waiting, actions.messages, actions.deadline_exceeded
            )
            self._note_running(loop, containers, now)
            if actions.sandbox_id:
                await self._read_addresses(pod, actions.sandbox_id)
            self.prober.track(loop.key, pod, containers, loop.wake.set)
            if sandboxes and not actions.create_sandbox:
                self._update_volumes(loop, pod)
            self.starter.log_links.repair(loop.key, containers)
            retry_at = await self._apply(loop, pod, actions, observed)
            loop.observed = _kept(observed)
            if failures := self.state.events.failures.succeeded(loop.key):
                logs.emit("pod sync recovered", pod=loop.key, failures=failures)
            return retry_at
        except RuntimeCallError as error:
            self.state.events.runtime_failed(loop.key, error)
        except VolumeError as error:
            self._blocked(loop, "FailedMount", str(error))
        except SandboxError as error:
            # the kubelet's createPodSandbox when the sandbox's config cannot be made
            self._blocked(loop, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {error}")
        except OSError as error:
            # the host refused a file the pod needs (its log directory): tried again at the
            # next sync, as the kubelet retries a sandbox whose log directory it cannot make
            self.state.events.emit(
                loop.key,
                "pod sync failed",
                "FailedSync",
                f"Error syncing pod: {error}",
                "Warning",
                level="error",
                logged=self.state.events.failures.failed(loop.key, host_refusal(error)),
                error=str(error),
                path=error.filename,
                errno=logs.errno_name(error),
                note=QUIET_NOTE,
            )
        finally:
            recorder.observe(
                "kubelet_pod_worker_duration_seconds",
                time.monotonic() - began,
                operation_type=operation,
            )
        return None

    def _blocked(self, loop: PodLoop, reason: str, message: str) -> None:
        """The pod cannot start for ``message``: each container that has no instance shows
        it, and it is an event; the next sync tries again."""
        if loop.observed is not None:
            loop.observed.messages[""] = message
        self.state.events.emit(
            loop.key, "pod cannot start", reason, message, "Warning", level="error", error=message
        )

    def _note_running(self, loop: PodLoop, containers: list[ContainerInfo], now: float) -> None:
        """Count the pod as started the first time all its regular containers run."""
        pod = loop.running
        if loop.start_recorded or pod is None:
            return
        running = {info.name for info in containers if info.state == "running"}
        if all(container.name in running for container in pod.spec.containers or ()):
            loop.start_recorded = True
            recorder.count("kubelet_started_pods_total")
            recorder.observe("kubelet_pod_start_duration_seconds", now - loop.first_seen)

    def _update_volumes(self, loop: PodLoop, pod: Pod) -> None:
        """Write the pod's downwardAPI and projected files again if its spec changed since
        they were written (or this process has not written them yet): a label edit reaches
        the files of the running containers, which keep running, as the kubelet's volume
        manager remounts such volumes at every sync of the pod."""
        if loop.volumes_written_for is pod or not self.settings.prepare_host:
            return
        context = self.settings.pod_context(pod)
        if has_projected_volumes(pod) and update_projected_volumes(pod, context):
            logs.emit("pod volumes updated", pod=loop.key, uid=pod.metadata.uid)
        loop.volumes_written_for = pod

    async def _apply(
        self, loop: PodLoop, pod: Pod, actions: PodActions, observed: Observed
    ) -> float | None:
        key = loop.key
        containers = observed.containers
        grace = _grace(pod)
        if actions.kill_pod and actions.deadline_exceeded:
            reason, message = DEADLINE_EXCEEDED
            self.state.events.emit(key, "pod deadline exceeded", reason, message, "Warning")
        if actions.kill_pod:
            await self.teardown.kill_all(key, containers, pod, grace)
            for sandbox in observed.sandboxes:
                if sandbox.ready:
                    await self.runtime.stop_pod_sandbox(sandbox.id)
        killed = [info for info in containers if info.id in actions.kill]
        await asyncio.gather(
            *(
                self.hooks.kill(key, info, pod, grace, message=f"Stopping container {info.name}")
                for info in killed
            )
        )
        for container_id in actions.remove:
            await self.runtime.remove_container(container_id)
        for old_sandbox in actions.remove_sandboxes:
            await self.teardown.remove_sandbox(old_sandbox, containers)
        for name, reason in actions.waiting.items():
            status_message = observed.messages.get(name, f"Container {name} failed ({reason})")
            event_message = status_message
            if reason == "CrashLoopBackOff":
                # the kubelet's event leaves the delay to the status (doBackOff), so that
                # the back-offs of a crash loop are one event counted, not one per delay
                meta = pod.metadata
                event_message = (
                    f"Back-off restarting failed container {name} in pod "
                    f"{meta.name}_{meta.namespace}({meta.uid})"
                )
            self.state.events.emit(
                key,
                "container waiting",
                "BackOff" if reason == "CrashLoopBackOff" else reason,
                event_message,
                "Warning",
                container=name,
                reason=reason,
                status_message=status_message if event_message != status_message else None,
            )
        sandbox_id = ""
        if actions.create_sandbox:
            if not actions.start:
                return actions.retry_at
            if self.settings.prepare_host:
                prepare_volumes(pod, self.settings.pod_context(pod))
                loop.volumes_written_for = pod
                self.state.pod_logs.create_pod_dir(pod)
            names = self.network.sandbox(key, pod)
            began = time.monotonic()
            security = sandbox_security(pod, self.settings.node_security)
            sandbox_id = await self.runtime.run_pod_sandbox(
                pod, actions.sandbox_attempt, security, sandbox=names
            )
            recorder.observe("kubelet_run_podsandbox_duration_seconds", time.monotonic() - began)
            await self._read_addresses(pod, sandbox_id)
        elif actions.start:
            sandbox_id = actions.sandbox_id
        if not sandbox_id:
            return actions.retry_at
        retry_at = actions.retry_at
        failures = dict(actions.restarts)
        try:
            for start in actions.start:
                image_retry = await self.starter.start(
                    key, pod, sandbox_id, start, observed, failures
                )
                if image_retry is not None:
                    retry_at = image_retry if retry_at is None else min(retry_at, image_retry)
                    break
        finally:
            # a restart whose start failed counts too, as the kubelet's doBackOff counts it
            # before the start: else a container that cannot start is retried at once
            for restart_key, failed_at in actions.restarts:
                self.state.crash_backoff.retried(restart_key, failed_at, time.time())
        return retry_at

    async def _read_addresses(self, pod: Pod, sandbox_id: str) -> None:
        """Ask the runtime the pod's addresses, once per sandbox: before its containers are
        made (the downward API's ``status.podIP``) and its probes start."""
        if not self.state.addresses_read(pod, sandbox_id):
            reported = await self.runtime.sandbox_ips(sandbox_id)
            self.state.take_addresses(pod, sandbox_id, reported)

    def _log_exits(self, loop: PodLoop, containers: list[ContainerInfo]) -> None:
        for info in containers:
            if info.state == "exited" and info.id not in (loop.exits_logged or ()):
                if loop.exits_logged is None:
                    loop.exits_logged = set()
                loop.exits_logged.add(info.id)
                reason = info.reason or ("Completed" if info.exit_code == 0 else "Error")
                self.state.events.emit(
                    loop.key,
                    "container exited",
                    reason,
                    f"Container {info.name} exited with code {info.exit_code} ({reason})"
                    if info.exit_code is not None
                    else f"Container {info.name} ended ({reason})",
                    container=info.name,
                    exit_code=info.exit_code,
                    reason=reason,
                    restart_count=info.restart_count,
                )
