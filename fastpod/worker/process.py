"""One worker process: decodes the manifests of its shard and runs the pods of its shard.

Messages arrive on the worker's socket and are handled in order, synchronously: decoding is
CPU work and this is the process that owns a core for it. Claims for pods another worker
owns are forwarded to it; the worker applies its own claims at once.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Coroutine
from typing import Any

from fastpod import logs
from fastpod.config.node import host_ip
from fastpod.config.settings import Config
from fastpod.ipc.channels import Inbox, Outbox, handle_each
from fastpod.ipc.messages import (
    Barrier,
    BarrierPassed,
    ManifestChanged,
    ManifestRemoved,
    Message,
    NodeRelisted,
    PodClaim,
    PodsPart,
    RelistDone,
    ReportAll,
    SourcesHeld,
    StatusAnswer,
    StatusQuery,
    shard_of,
)
from fastpod.ipc.rundir import cluster_socket, supervisor_socket, worker_socket
from fastpod.metrics import gauge, recorder
from fastpod.model import PodSource
from fastpod.runtime.base import ListedObject, SharedRelist
from fastpod.runtime.factory import create_runtime
from fastpod.runtime.host import host_facts
from fastpod.supervisor.child import run_child
from fastpod.worker import reports
from fastpod.worker.adoptions import AdoptionRecords
from fastpod.worker.cluster_events import ClusterEvents
from fastpod.worker.cluster_reports import ClusterReports
from fastpod.worker.decoder import ManifestDecoder
from fastpod.worker.desired import DesiredPods, PodChange
from fastpod.worker.health import RuntimeCheck
from fastpod.worker.housekeeping import Housekeeping
from fastpod.worker.log_rotation import LogRotator, running_logs
from fastpod.worker.parse_cache import ParseCache, worker_cache_path
from fastpod.worker.pod_loop import PodRunner
from fastpod.worker.settings import worker_settings
from fastpod.worker.sync_gate import SyncGate
from fastpod.worker.takeover import Takeover

CACHE_SAVE_DELAY = 1.0
"""Seconds after a re-list before the parse cache is written (``worker/parse_cache.py``)."""

DUPLICATE_SETTLE = 1.0
"""Seconds a pod name must stay claimed by two sources before it is said: a rename's old
and new names, decoded in two workers, may reach the owner in either order."""


class Worker:
    """Decoder of one shard of manifests and owner of one shard of pod names."""

    def __init__(
        self, config: Config, index: int, run_dir: str, *, restarted: bool = False
    ) -> None:
        self.config = config
        self.index = index
        self.workers = config.worker_count
        self.decoder = ManifestDecoder(
            config.node_name,
            lambda key: shard_of(key, self.workers) == index,
            ParseCache(worker_cache_path(config.root_dir, index), config.node_name),
        )
        self._cache_save: asyncio.TimerHandle | None = None
        self._cache_writing: asyncio.Future[OSError | None] | None = None
        self.desired = DesiredPods()
        self.runner = PodRunner(
            create_runtime(config),
            worker_settings(config, config.node_ip or host_ip(), host_facts()),
            hold_until_listed=True,
        )
        self.gate = SyncGate(index, self.workers, config.sources, restarted=restarted)
        self._duplicates: set[str] = set()
        """Pod names two sources claimed, to be said if that lasts."""
        self._unanswered: list[Barrier] = []
        """Barriers held back until this process's first own one."""
        self.runtime_check = RuntimeCheck(self.runner.runtime)
        self._health_answers: set[asyncio.Task[None]] = set()
        self.takeover = Takeover(
            self.runner,
            AdoptionRecords(config.root_dir),
            enabled=config.adopt_foreign_pods,
            owns=self._owns,
            speaks_for_node=index == 0,
        )
        self._surveying: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._housekeeping: asyncio.Task[None] | None = None
        self._inbox = Inbox(worker_socket(run_dir, index), self.receive)
        self._peers = [Outbox(worker_socket(run_dir, peer)) for peer in range(self.workers)]
        self._supervisor = Outbox(supervisor_socket(run_dir))
        runtime = self.runner.runtime
        if isinstance(runtime, SharedRelist) and self.workers > 1:
            # the node is relisted once, by worker 0, for every worker
            if index == 0:
                runtime.lead_relist(self._publish_relist)
            else:
                runtime.follow_relist(self._owns_listed)
        self.cluster_reports: ClusterReports | None = None
        if config.kubeconfig is not None:
            cluster = Outbox(cluster_socket(run_dir))
            self.cluster_reports = ClusterReports(index, self.runner, self.desired, cluster)
            self.runner.on_sync = self.cluster_reports.mark
            events = ClusterEvents(self.runner, self.desired, cluster)
            self.runner.state.events.forward = events.forward

    def _owns_listed(self, item: ListedObject) -> bool:
        return shard_of(item.pod_key, self.workers) == self.index

    def _publish_relist(self, objects: list[ListedObject]) -> list[ListedObject]:
        """Send each other worker its part of the node's relist; return this worker's."""
        parts: list[list[ListedObject]] = [[] for _ in range(self.workers)]
        for item in objects:
            parts[shard_of(item.pod_key, self.workers)].append(item)
        for peer, part in enumerate(parts):
            # a peer that has not taken the last frames (restarting) gets no more: they
            # would pile up while it is down, and it lists the node itself meanwhile
            if peer != self.index and not self._peers[peer].pending:
                self._peers[peer].send([NodeRelisted(tuple(part))])
        return parts[self.index]

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set."""
        await self._inbox.start()
        events = asyncio.create_task(self.runner.follow_events())
        rotation = asyncio.create_task(self._rotate_logs())
        try:
            await stop.wait()
        finally:
            if self._cache_writing is not None:
                await self._cache_writing
            self.decoder.save_cache()
            events.cancel()
            rotation.cancel()
            if self._housekeeping is not None:
                self._housekeeping.cancel()
            self.takeover.close()
            await self.runner.close()
            await self._inbox.close()
            for peer in self._peers:
                await peer.close()
            await self._supervisor.close()
            if self.cluster_reports is not None:
                await self.cluster_reports.outbox.close()
            await self.runner.runtime.close()

    async def _rotate_logs(self) -> None:
        """Keep the logs of this worker's running containers rotated, where fastpod does it
        (a CRI runtime; Docker rotates its own)."""
        settings = self.runner.settings
        if settings.log_rotation is None:
            return
        rotator = LogRotator(
            self.runner.runtime,
            settings.log_rotation,
            settings.log_monitor_interval,
            lambda: running_logs(self.runner),
        )
        await rotator.run()

    def receive(self, messages: list[Message]) -> None:
        """Handle one batch from a peer, in order; a message that fails costs only itself."""
        claims: list[PodClaim] = []
        handle_each(messages, lambda message: self._handle(message, claims))
        self._route(claims)
        if self.gate.listed and self._surveying is None:
            self._surveying = self._spawn(self._survey())

    def _handle(self, message: Message, claims: list[PodClaim]) -> None:
        """Handle one message of a batch; the claims it decodes join ``claims``, routed
        together at the end of the batch (or at a barrier)."""
        if isinstance(message, ManifestChanged):
            claims.extend(self.decoder.changed(message))
        elif isinstance(message, ManifestRemoved):
            claims.extend(self.decoder.removed(message.source))
        elif isinstance(message, RelistDone):
            claims.extend(self.decoder.relist_done(complete=message.complete))
            self._save_cache_soon()
        elif isinstance(message, PodClaim):
            self._own(message)
        elif isinstance(message, SourcesHeld):
            self._drop_unheld(message)
        elif isinstance(message, Barrier):
            self._route(claims[:])
            claims.clear()
            self._on_barrier(message)
        elif isinstance(message, BarrierPassed) and self.gate.passed(message):
            self._synced()
        elif isinstance(message, StatusQuery) and message.health:
            task = asyncio.get_running_loop().create_task(self._answer_health(message))
            self._health_answers.add(task)
            task.add_done_callback(self._health_answers.discard)
        elif isinstance(message, StatusQuery) and message.pods and message.pod_key is None:
            # walked over several turns of the event loop, manifest events between them
            self._spawn(self._answer_pods(message))
        elif isinstance(message, StatusQuery):
            self._supervisor.send([self._answer_status(message)])
        elif isinstance(message, ReportAll) and self.cluster_reports is not None:
            self.cluster_reports.resend()
        elif isinstance(message, NodeRelisted) and isinstance(self.runner.runtime, SharedRelist):
            self.runner.runtime.relisted(list(message.objects))

    def _save_cache_soon(self) -> None:
        # Later, not now: a cold start's last pods are being added when its re-list ends.
        if self._cache_save is None:
            self._cache_save = asyncio.get_running_loop().call_later(
                CACHE_SAVE_DELAY, self._save_cache
            )

    def _save_cache(self) -> None:
        """Write the parse cache in a thread: its I/O (tens to hundreds of milliseconds for
        thousands of entries) would hold every manifest event behind it. One write at a
        time, since the next reads back what the last wrote."""
        self._cache_save = None
        if self._cache_writing is not None:
            self._save_cache_soon()
            return
        content = self.decoder.prepare_cache()
        cache = self.decoder.cache
        if content is None or cache is None:
            return
        loop = asyncio.get_running_loop()
        self._cache_writing = loop.run_in_executor(None, cache.write, content)
        self._cache_writing.add_done_callback(self._cache_written)

    def _cache_written(self, writing: asyncio.Future[OSError | None]) -> None:
        self._cache_writing = None
        error = writing.result()
        if error is not None and self.decoder.cache is not None:
            self.decoder.cache.unwritten(error)

    async def _survey(self) -> None:
        """Before any pod starts: what other agents left, so none runs twice."""
        await self.takeover.survey(self.desired)
        self.runner.start_syncing()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _owns(self, key: str) -> bool:
        return shard_of(key, self.workers) == self.index

    def _route(self, claims: list[PodClaim]) -> None:
        batches: list[list[Message]] = [[] for _ in range(self.workers)]
        for claim in claims:
            owner = shard_of(claim.pod_key, self.workers)
            if owner == self.index:
                self._own(claim)
            else:
                batches[owner].append(claim)
        for owner, batch in enumerate(batches):
            self._peers[owner].send(batch)

    def _on_barrier(self, barrier: Barrier) -> None:
        """Answer a barrier, unless it came before this process's first own barrier: a
        worker started again answers another shard's resync only once its own manifests
        are in (:mod:`fastpod.worker.sync_gate`)."""
        if not self.gate.anchored and not self.gate.concerns(barrier):
            self._unanswered.append(barrier)
            return
        anchoring = not self.gate.anchored
        earlier, self._unanswered = self._unanswered, []
        for each in (*earlier, barrier):
            self._answer(each)
        if anchoring and self.gate.restarted:
            self._say_what_is_held(barrier.sources_seen)

    def _say_what_is_held(self, kinds: tuple[str, ...]) -> None:
        """Tell each owner what this restarted worker claims for it from the sources the
        watcher has sent it again (``kinds``), after those claims: what its predecessor
        claimed and nothing claims any more is dropped."""
        for owner in range(self.workers):
            if owner != self.index:
                held = self.decoder.held_for(owner, self.workers)
                self._peers[owner].send([SourcesHeld(self.index, held, kinds)])

    def _drop_unheld(self, message: SourcesHeld) -> None:
        def decoded_by_them(source: PodSource) -> bool:
            return (
                source.kind in message.kinds
                and shard_of(source.location, self.workers) == message.worker
            )

        now = datetime.datetime.now(datetime.UTC)
        self._changed(self.desired.drop_unheld(decoded_by_them, set(message.held), now))

    def _answer(self, barrier: Barrier) -> None:
        for shard in barrier.resync_shards:
            self._route(self.decoder.claims_for(shard, self.workers))
        if self.gate.barrier(barrier):
            self._synced()
        passed = BarrierPassed(barrier.token, self.index)
        # to every worker, not only the restarted ones: a later barrier stands in for one
        # whose answers died with a peer
        for target in range(self.workers):
            if target == self.index:
                if self.gate.passed(passed):
                    self._synced()
            else:
                self._peers[target].send([passed])

    async def _answer_health(self, query: StatusQuery) -> None:
        """Answer ``/healthz``'s question once the runtime has answered its ping (or not)."""
        runtime_problem = await self.runtime_check.problem()
        self._supervisor.send([self._answer_status(query, runtime_problem)])

    async def _answer_pods(self, query: StatusQuery) -> None:
        """Answer ``/pods``'s question: every pod's status in parts as it is encoded, then
        the answer, which ends them."""
        async for part in reports.pods_in_parts(self.runner, self.desired):
            self._supervisor.send([PodsPart(query.token, f"worker-{self.index}", part)])
        self._supervisor.send([self._answer_status(query)])

    def _answer_status(
        self, query: StatusQuery, runtime_problem: str | None = None
    ) -> StatusAnswer:
        pods = b""
        if query.pod_key is not None:
            pods = reports.inspection_document(self.runner, self.desired, query.pod_key)
        metrics = None
        if query.metrics:
            queued = sum(peer.pending for peer in self._peers)
            gauges = reports.worker_gauges(self.runner, self.desired)
            gauges.append(gauge("fastpod_queue_depth", queued, process=f"worker-{self.index}"))
            metrics = recorder.snapshot(gauges)
        return StatusAnswer(
            query.token,
            f"worker-{self.index}",
            reports.problems(self.runner, self.desired, runtime_problem),
            self.gate.open and reports.synced(self.runner),
            metrics,
            pods,
        )

    def _own(self, claim: PodClaim) -> None:
        now = datetime.datetime.now(datetime.UTC)
        changes, duplicate = self.desired.apply(self.takeover.alias(claim), now)
        if duplicate is not None and duplicate.pod_key not in self._duplicates:
            # a renamed manifest's two names reach the owner from two decoding workers, in
            # either order: a duplicate is said only if it lasts
            self._duplicates.add(duplicate.pod_key)
            loop = asyncio.get_running_loop()
            loop.call_later(DUPLICATE_SETTLE, self._report_duplicate, duplicate.pod_key)
        self._changed(changes)

    def _report_duplicate(self, key: str) -> None:
        self._duplicates.discard(key)
        duplicate = self.desired.duplicate(key)
        if duplicate is not None:
            logs.emit(
                "duplicate pod name",
                level="warning",
                pod=duplicate.pod_key,
                source=duplicate.chosen.location,
                ignored=[source.location for source in duplicate.others],
            )

    def _changed(self, changes: list[PodChange]) -> None:
        for change in changes:
            _log_change(change)
            if self.cluster_reports is not None:
                self.cluster_reports.mark(_pod_key(change))
            if change.kind == "removed":
                self.takeover.removed(change)
            self.runner.submit(change)

    def _synced(self) -> None:
        logs.emit("all sources seen", pods=len(self.desired.pods))
        if self.cluster_reports is not None:
            self.cluster_reports.all_seen()
        self._spawn(self._clean_up())

    async def _clean_up(self) -> None:
        """Every source has been seen: take over what other agents left, then keep removing
        fastpod's own pods that no source wants (housekeeping, every 2 s)."""
        if self._surveying is not None:
            await self._surveying
        await self.takeover.settle(self.desired)
        housekeeping = Housekeeping(self.runner, self._is_desired, self._owns)
        self._housekeeping = asyncio.get_running_loop().create_task(housekeeping.run())

    def _is_desired(self, key: str, uid: str) -> bool:
        desired = self.desired.pods.get(key)
        return desired is not None and desired.pod.metadata.uid == uid


def _pod_key(change: PodChange) -> str:
    return f"{change.pod.metadata.namespace}/{change.pod.metadata.name}"


def _log_change(change: PodChange) -> None:
    metadata = change.pod.metadata
    logs.emit(
        f"pod {change.kind}",
        level="warning" if change.not_honoured else "info",
        pod=f"{metadata.namespace}/{metadata.name}",
        uid=metadata.uid,
        source=change.source.location,
        not_honoured=list(change.not_honoured) or None,
    )


def main(config: Config, index: int, run_dir: str, restarted: bool = False) -> None:
    """Entry point of worker process ``index`` (``restarted``: started again after a
    death, its peers running on)."""
    run_child(
        config,
        f"worker-{index}",
        lambda stop: Worker(config, index, run_dir, restarted=restarted).run(stop),
    )
