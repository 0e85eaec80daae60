"""Taking over the static pods another agent (the kubelet) left, for one worker's names.

Two steps, around the decisions of :mod:`fastpod.takeover.plan`:

1. **Survey**, once the first listing of the sources is in and before any pod starts: the
   pods adopted by an earlier run (on record, :mod:`fastpod.worker.adoptions`) are the
   runtime's to list as fastpod's again, and the names of the other foreign static pods are
   held (:mod:`fastpod.worker.holds`): nothing starts under them yet.
2. **Settle**, once every source has been seen (the kubelet's ``SeenAllSources``): each
   foreign pod is left alone, adopted, replaced or removed, and its name released once its
   old pod is adopted or gone. A pod is compared with what fastpod would run under the
   kubelet's UID (its containers, its sandbox's namespaces, the image's defaults, read
   from the runtime). With taking over off, the names of the foreign pods a source wants
   stay refused, and are looked at again every resync period until those pods are gone.

Every decision is logged, a replacement container by container with what differs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from fastpod import logs
from fastpod.ipc.messages import PodClaim
from fastpod.metrics import recorder
from fastpod.model import Container, Pod
from fastpod.runtime.base import ForeignPod, RuntimeCallError
from fastpod.runtime.created import ImageDefaults
from fastpod.runtime.spec import ContainerSpec, container_spec
from fastpod.takeover.plan import (
    Decision,
    current_containers,
    decide,
    foreign_grace,
    held_names,
    is_static,
    ready_sandbox,
    sort_out,
    with_uid,
)
from fastpod.worker.adoptions import AdoptionRecords
from fastpod.worker.desired import DesiredPods, PodChange
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.streaks import Streaks, host_refusal, runtime_cause

LISTING = ""
"""The subject of the foreign pods' listing among the names' streaks (no pod key is empty)."""
RETRY_NOTE = "tried every resync period; further failures for the same reason are not logged"


class Takeover:
    """The foreign pods of one worker's names, from the first listing until they are
    sorted out, and the aliases of the pods it adopted."""

    def __init__(
        self,
        runner: PodRunner,
        records: AdoptionRecords,
        *,
        enabled: bool,
        owns: Callable[[str], bool],
        speaks_for_node: bool,
    ) -> None:
        self.runner = runner
        self.runtime = runner.runtime
        self.records = records
        self.enabled = enabled
        self.owns = owns
        self.speaks_for_node = speaks_for_node
        """This worker logs what concerns the whole node (the API server's pods), once."""
        self.aliases: dict[str, str] = {
            record.fastpod_uid: record.uid for record in records.load() if owns(record.pod)
        }
        """fastpod's UID of a manifest's pod → the adopted pod's UID it runs under."""
        self.foreign: list[ForeignPod] = []
        self._api_pods = 0
        self._surveyed = asyncio.Event()
        self._watching: asyncio.Task[None] | None = None
        """Looks again every resync period at the names refused (taking over off)."""
        self._failures = Streaks()
        """By name, the streak of failed tries to take its foreign pod over; under
        :data:`LISTING`, of failed listings of the foreign pods."""
        self._images: dict[str, asyncio.Task[ImageDefaults | None]] = {}
        """Each image's defaults, asked once per settle however many pods name it."""

    def alias(self, claim: PodClaim) -> PodClaim:
        """The claim with the adopted UID, if its pod is one fastpod adopted."""
        pod = claim.pod
        adopted = self.aliases.get(pod.metadata.uid or "") if pod is not None else None
        if pod is None or adopted is None:
            return claim
        return PodClaim(claim.pod_key, claim.source, with_uid(pod, adopted), claim.warnings)

    def removed(self, change: PodChange) -> None:
        """A desired pod is gone (its source dropped it, or it changed into another): an
        adopted one's record goes with it."""
        uid = change.pod.metadata.uid
        for fastpod_uid, adopted in list(self.aliases.items()):
            if adopted == uid:
                del self.aliases[fastpod_uid]
                self.records.forget(fastpod_uid)

    async def survey(self, desired: DesiredPods) -> None:
        """List the foreign pods, make the adopted ones fastpod's, hold the others' names
        (``desired``: the pods of the first listing); retried every resync period while the
        runtime does not answer."""
        while True:
            try:
                every = await self.runtime.list_foreign_pods()
                break
            except RuntimeCallError as error:
                # no pod starts meanwhile; the health check says why (the runtime's ping)
                recorder.count("fastpod_runtime_call_errors_total")
                if self._failures.failed(LISTING, runtime_cause(error)):
                    logs.emit(
                        "runtime call failed",
                        level="error",
                        error=str(error),
                        doing="listing the pods other agents left; no pod starts until it works",
                        note=RETRY_NOTE,
                    )
                await asyncio.sleep(self.runner.settings.resync_period)
        if failures := self._failures.succeeded(LISTING):
            logs.emit("foreign pods listed", failures=failures)
        adopted = set(self.aliases.values())
        for pod in every:
            if pod.uid in adopted:
                # adopted by an earlier run: its loop lists its objects as fastpod's
                self.runtime.adopt(pod)
        self._api_pods = sum(not is_static(pod) for pod in every)
        self.foreign = [pod for pod in every if self.owns(pod.key)]
        wanted = {key: held.pod.metadata.uid or "" for key, held in desired.pods.items()}
        held = held_names(self.foreign, wanted, set(self.aliases.values()))
        self.runner.holds.hold(held)
        if held:
            logs.emit(
                "foreign pods found",
                pods=sorted(held),
                note="nothing starts under these names until every source has been seen",
            )
        self._surveyed.set()

    async def settle(self, desired: DesiredPods) -> None:
        """Sort the foreign pods out now that every source has been seen."""
        await self._surveyed.wait()
        self._images.clear()
        wanted = {key: held.pod.metadata.uid or "" for key, held in desired.pods.items()}
        adopted = set(self.aliases.values())
        plan = sort_out(wanted, self.foreign, adopted, enabled=self.enabled)
        if self.speaks_for_node and self._api_pods:
            logs.emit(
                "foreign pods left alone",
                pods=self._api_pods,
                reason="the kubelet ran them from the API server (config.source api)",
            )
        self._prune(wanted)
        if plan.untouched:
            logs.emit(
                "foreign pods left alone",
                pods=[pod.key for pod in plan.untouched],
                reason="--adopt-foreign-pods=false",
            )
        for key, pod in plan.refused.items():
            self._refuse(key, pod)
        await asyncio.gather(
            *(self._take(key, pod, desired) for key, pod in plan.to_compare.items()),
            *(self._remove(decision) for decision in plan.removals),
        )
        for key in self.runner.holds:
            if self.runner.holds.refusal(key) is None:
                self.runner.holds.release(key)
        if plan.refused:
            # in the background: the housekeeping that follows must not wait for it
            self._watching = asyncio.get_running_loop().create_task(self._watch_refused())

    def close(self) -> None:
        """Stop looking at refused names (the worker stops)."""
        if self._watching is not None:
            self._watching.cancel()

    def _prune(self, wanted: dict[str, str]) -> None:
        """Forget the records of adopted pods no source wants any more."""
        for record in self.records.load():
            if self.owns(record.pod) and wanted.get(record.pod) != record.uid:
                self.aliases.pop(record.fastpod_uid, None)
                self.records.forget(record.fastpod_uid)

    def _refuse(self, key: str, pod: ForeignPod) -> None:
        reason = (
            f"not started: another agent's pod {pod.key} (UID {pod.uid}) runs under this name, "
            "and taking it over is off (--adopt-foreign-pods=false)"
        )
        self.runner.holds.refuse(key, reason)
        self.runner.state.events.emit(
            key, "pod refused", "FailedCreate", reason, "Warning", foreign_uid=pod.uid
        )

    async def _watch_refused(self) -> None:
        """Release a refused name once no foreign pod holds it any more."""
        try:
            while self.runner.holds.refused():
                await asyncio.sleep(self.runner.settings.resync_period)
                try:
                    holding = {pod.key for pod in await self.runtime.list_foreign_pods()}
                except RuntimeCallError as error:
                    if self._failures.failed(LISTING, runtime_cause(error)):
                        logs.emit(
                            "foreign pods not listed",
                            level="error",
                            error=str(error),
                            note=RETRY_NOTE,
                        )
                    continue
                if failures := self._failures.succeeded(LISTING):
                    logs.emit("foreign pods listed", failures=failures)
                for key in self.runner.holds.refused():
                    if key not in holding:
                        logs.emit("pod name free", pod=key, reason="the foreign pod is gone")
                        self.runner.holds.release(key)
        finally:
            # no name refused any more mid-streak: the next watch's first failure is said
            self._failures.succeeded(LISTING)

    async def _take(self, key: str, foreign: ForeignPod, desired: DesiredPods) -> None:
        """Adopt ``foreign`` as the pod the sources want under ``key``, or replace it."""
        while True:
            held = desired.pods.get(key)
            if held is None:
                # no longer wanted since it was sorted out
                reasons = [("", "no source wants this pod")]
                decision = Decision("remove", foreign, reasons, foreign_grace(foreign))
                await self._remove(decision)
                break
            try:
                decision = await self._decide(held.pod, foreign)
                if decision.action == "adopt":
                    await self._adopt(key, held.pod, foreign, desired)
                    break
                if await self._replace(key, decision):
                    break
            except (RuntimeCallError, OSError) as error:
                # tried again every resync period: said once while the cause stays
                cause = host_refusal(error) if isinstance(error, OSError) else runtime_cause(error)
                if self._failures.failed(key, cause):
                    logs.emit(
                        "foreign pod not taken over",
                        level="error",
                        pod=key,
                        error=str(error),
                        note=RETRY_NOTE,
                    )
            await asyncio.sleep(self.runner.settings.resync_period)
        if failures := self._failures.succeeded(key):
            logs.emit("foreign pod taken over", pod=key, failures=failures)

    async def _decide(self, pod: Pod, foreign: ForeignPod) -> Decision:
        """Compare what runs with what fastpod would run, as far as the runtime says: the
        sandbox's namespaces (and addresses), each container's configuration and each
        image's defaults asked all at once."""
        adopted = with_uid(pod, foreign.uid)
        sandbox = ready_sandbox(foreign)
        current = list(current_containers(foreign, sandbox).values()) if sandbox else []
        images = sorted({c.image or "" for c in _containers(pod)})
        namespaces, addresses, configs, defaults = await asyncio.gather(
            self.runtime.sandbox_namespaces(sandbox.id) if sandbox is not None else _none(),
            self._addresses(adopted, sandbox.id) if sandbox is not None else _none(),
            asyncio.gather(*(self.runtime.container_config(info.id) for info in current)),
            asyncio.gather(*(self._image(image) for image in images)),
        )
        if sandbox is not None and addresses is not None:
            self.runner.state.take_addresses(adopted, sandbox.id, addresses)
        created = {info.id: config for info, config in zip(current, configs, strict=True)}
        specs = self._specs(adopted)
        kept = dict(zip(images, defaults, strict=True))
        return decide(pod, foreign, specs, created, namespaces, kept)

    async def _addresses(self, pod: Pod, sandbox_id: str) -> tuple[str, ...] | None:
        """The addresses of a pod-network sandbox (the downward API's ``status.podIP``);
        None under the host's network, whose are the node's."""
        if pod.spec.host_network:
            return None
        return await self.runtime.sandbox_ips(sandbox_id)

    def _image(self, image: str) -> asyncio.Task[ImageDefaults | None]:
        asked = self._images.get(image)
        if asked is None or (asked.done() and (asked.cancelled() or asked.exception())):
            asked = asyncio.ensure_future(self.runtime.image_defaults(image))
            self._images[image] = asked
        return asked

    def _specs(self, pod: Pod) -> dict[str, ContainerSpec]:
        """What fastpod would run for each container of ``pod`` (under the adopted UID)."""
        context = self.runner.settings.pod_context(pod, self.runner.state.pod_ips(pod))
        specs = {}
        for container in pod.spec.init_containers or ():
            kind = "sidecar" if container.restart_policy == "Always" else "init"
            specs[container.name or ""] = container_spec(pod, container, 0, kind, context)
        for container in pod.spec.containers or ():
            specs[container.name or ""] = container_spec(pod, container, 0, "regular", context)
        return specs

    async def _adopt(self, key: str, pod: Pod, foreign: ForeignPod, desired: DesiredPods) -> None:
        self.runtime.adopt(foreign)
        fastpod_uid = pod.metadata.uid or ""
        self.records.save(key, foreign.uid, fastpod_uid)
        self.aliases[fastpod_uid] = foreign.uid
        sandbox = ready_sandbox(foreign)
        if sandbox is not None and sandbox.created:
            self.runner.started_before[key] = sandbox.created
        change = desired.take_uid(key, foreign.uid)
        if change is not None:
            self.runner.submit(change)
        self.runner.state.events.emit(
            key,
            "foreign pod adopted",
            "Adopted",
            f"Adopted pod {key} ({foreign.uid}) as it runs: its containers match the manifest",
            uid=foreign.uid,
            fastpod_uid=fastpod_uid,
            containers=sorted(info.id[:12] for info in foreign.containers),
        )
        self.runner.holds.release(key)

    async def _replace(self, key: str, decision: Decision) -> bool:
        """Stop the old pod, with its own grace period, before fastpod starts its own."""
        foreign = decision.pod
        for container, reason in decision.reasons:
            logs.emit(
                "foreign pod differs",
                pod=key,
                uid=foreign.uid,
                container=container or None,
                difference=reason,
            )
        self.runner.state.events.emit(
            key,
            "foreign pod replaced",
            "Replacing",
            f"Stopping pod {key} ({foreign.uid}) left by another agent, then starting the "
            f"manifest's: {_summary(decision)}",
            uid=foreign.uid,
            grace=decision.grace,
        )
        if not await self._stop(key, decision):
            return False
        self.runner.holds.release(key)
        return True

    async def _remove(self, decision: Decision) -> None:
        """Stop and remove a foreign pod no source wants, as the kubelet would have."""
        foreign = decision.pod
        logs.emit(
            "foreign pod removed",
            pod=foreign.key,
            uid=foreign.uid,
            reason=_summary(decision),
            grace=decision.grace,
        )
        while not await self._stop(foreign.key, decision):
            await asyncio.sleep(self.runner.settings.resync_period)

    async def _stop(self, key: str, decision: Decision) -> bool:
        """Stop and remove the old pod (its preStop hooks and grace period read back from its
        containers' annotations); whether it is gone."""
        self.runtime.adopt(decision.pod)
        return await self.runner.teardown.remove_pod(
            key, decision.pod.uid, None, float(decision.grace)
        )


async def _none() -> None:
    return None


def _containers(pod: Pod) -> list[Container]:
    return [*(pod.spec.init_containers or ()), *(pod.spec.containers or ())]


def _summary(decision: Decision) -> str:
    return "; ".join(
        f"{container}: {reason}" if container else reason for container, reason in decision.reasons
    )
