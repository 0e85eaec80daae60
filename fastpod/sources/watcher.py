"""The watcher process: the manifest path and URL, turned into change events for the workers.

inotify only says which names to look at; the periodic re-list is the truth and heals
whatever inotify missed (queue overflow, a lost watch, a changed symlink target). Events
go to the worker that decodes their source (a stable hash of the location), in batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from fastpod import logs
from fastpod.config.settings import Config
from fastpod.ipc.channels import Inbox, Outbox, handle_each
from fastpod.ipc.messages import (
    Barrier,
    ManifestChanged,
    ManifestRemoved,
    Message,
    RelistDone,
    Resync,
    StatusAnswer,
    StatusQuery,
    shard_of,
)
from fastpod.ipc.rundir import supervisor_socket, watcher_socket, worker_socket
from fastpod.metrics import gauge, recorder
from fastpod.model import PodSource
from fastpod.sources.files import DirectorySource, FileChange
from fastpod.sources.inotify import DirectoryWatch
from fastpod.supervisor.child import run_child

if TYPE_CHECKING:
    from fastpod.sources.url import UrlSource


class WatchRetry:
    """When to try the inotify watch again: 1 s doubling to 20 s, reset after a calm spell."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.initial = initial
        self.maximum = maximum
        self.delay = 0.0
        self.last_failure = -float("inf")

    def failed(self, now: float) -> float:
        """Record a failure at ``now``; the time of the next attempt."""
        if now - self.last_failure > 2 * self.maximum:
            self.delay = self.initial
        else:
            self.delay = min(max(self.delay * 2, self.initial), self.maximum)
        self.last_failure = now
        return now + self.delay


class Watcher:
    """Sources → routed change events, batched per worker shard."""

    def __init__(self, config: Config, run_dir: str, *, resync_all: bool = False) -> None:
        self.config = config
        self.run_dir = run_dir
        self.shards = config.worker_count
        self.outboxes = [Outbox(worker_socket(run_dir, index)) for index in range(self.shards)]
        self._supervisor = Outbox(supervisor_socket(run_dir))
        self.directory = (
            DirectorySource(config.pod_manifest_path) if config.pod_manifest_path else None
        )
        self.url: UrlSource | None = None
        if config.manifest_url:
            # aiohttp costs 0.2 s to import: only a configured URL pays for it
            from fastpod.sources.url import UrlSource

            self.url = UrlSource(
                config.manifest_url, config.manifest_url_headers, config.http_timeout
            )
        self.url_body: bytes | None = None
        self.seen: list[str] = []
        self._resync_all = resync_all
        self._tokens = itertools.count(time.time_ns())
        self._wake = asyncio.Event()
        self._hints: set[str] = set()
        self._relist_now = True
        self._watch: DirectoryWatch | None = None
        self._watch_retry = WatchRetry(config.watch_retry_initial, config.watch_retry_max)
        self._watch_at = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until ``stop`` is set."""
        inbox = Inbox(watcher_socket(self.run_dir), self._on_control)
        await inbox.start()
        tasks = []
        if self.directory is not None:
            tasks.append(asyncio.create_task(self._follow_directory(self.directory)))
        if self.url is not None:
            tasks.append(asyncio.create_task(self._poll_url(self.url)))
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await inbox.close()
            self._close_watch()
            if self.url is not None:
                await self.url.close()
            for outbox in self.outboxes:
                await outbox.close()
            await self._supervisor.close()

    async def _follow_directory(self, directory: DirectorySource) -> None:
        loop = asyncio.get_running_loop()
        next_relist = loop.time()
        complete = True
        while True:
            now = loop.time()
            if self._watch is None and directory.exists and now >= self._watch_at:
                # a new watch is only trusted after a listing made once it exists
                self._relist_now = True
            if self._relist_now or now >= next_relist:
                self._relist_now = False
                self._hints.clear()
                # watch first, then list: a change between the two is caught by either
                self._ensure_watch(directory, now)
                began = time.perf_counter()
                await self._send_changes(directory.relist(), relisted=True)
                recorder.observe("fastpod_relist_duration_seconds", time.perf_counter() - began)
                period = self.config.file_check_frequency
                if directory.unreadable is None:
                    self._broadcast(RelistDone(complete=complete))
                    complete = False
                    self._source_seen("file")
                if not directory.exists or directory.unreadable is not None:
                    period = self.config.missing_path_retry
                next_relist = loop.time() + period
            elif self._hints:
                # let a burst (an editor's rename-write-delete) settle into one look
                await asyncio.sleep(self.config.event_settle)
                names, self._hints = self._hints, set()
                await self._send_changes(directory.look(names), relisted=False)
            self._wake.clear()
            timeout = next_relist - loop.time()
            if self._watch is None and directory.exists:
                timeout = min(timeout, self._watch_at - loop.time())
            if not self._hints and not self._relist_now and timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)

    def _ensure_watch(self, directory: DirectorySource, now: float) -> None:
        if self._watch is not None or now < self._watch_at:
            return
        try:
            watch = DirectoryWatch(directory.watch_directory())
        except FileNotFoundError:
            return  # a missing path is listed again every second, with no back-off
        except OSError as error:
            self._watch_at = self._watch_retry.failed(now)
            logs.emit(
                "inotify watch failed",
                level="error",
                path=directory.path,
                error=error.strerror or str(error),
                retry_in=f"{self._watch_retry.delay:g}s",
            )
            return
        self._watch = watch
        asyncio.get_running_loop().add_reader(watch.fileno(), self._on_inotify, directory)

    def _on_inotify(self, directory: DirectorySource) -> None:
        assert self._watch is not None
        batch = self._watch.read()
        self._hints |= batch.names
        if batch.dot_names and directory.has_symlinks:
            # a ConfigMap-style `..data` swap: the targets of the symlinks changed
            self._relist_now = True
        if batch.overflow or batch.lost:
            reason = "inotify queue overflowed" if batch.overflow else "inotify watch lost"
            self._close_watch()
            self._watch_at = self._watch_retry.failed(asyncio.get_running_loop().time())
            logs.emit(
                reason,
                level="warning",
                path=directory.directory,
                retry_in=f"{self._watch_retry.delay:g}s",
            )
            self._relist_now = True
        self._wake.set()

    def _close_watch(self) -> None:
        if self._watch is not None:
            asyncio.get_running_loop().remove_reader(self._watch.fileno())
            self._watch.close()
            self._watch = None

    async def _poll_url(self, url: UrlSource) -> None:
        assert self.config.manifest_url is not None
        source = PodSource("http", self.config.manifest_url)
        while True:
            began = time.perf_counter()
            body = await url.fetch()
            recorder.observe("fastpod_url_poll_duration_seconds", time.perf_counter() - began)
            if body is not None:
                self.url_body = body
                recorder.count("fastpod_manifest_events_total", source="http", kind="changed")
                self._send_to(source.location, [ManifestChanged(source, body, relisted=True)])
                self._source_seen("http")
            await asyncio.sleep(self.config.http_check_frequency)

    def _source_seen(self, source: str) -> None:
        if source in self.seen:
            return
        self.seen.append(source)
        resync: tuple[int, ...] = ()
        if self._resync_all:
            # a watcher started again: every worker has just been sent all it decodes, and
            # one restarted meanwhile waits for a barrier naming its shard
            resync = tuple(range(self.shards))
        self._broadcast(Barrier(next(self._tokens), tuple(self.seen), resync))

    def _on_control(self, messages: list[Message]) -> None:
        handle_each(messages, self._control)

    def _control(self, message: Message) -> None:
        if isinstance(message, Resync):
            asyncio.get_running_loop().create_task(self._resync(message.shard))
        elif isinstance(message, StatusQuery):
            metrics = None
            if message.metrics:
                queued = sum(outbox.pending for outbox in self.outboxes)
                gauges = [gauge("fastpod_queue_depth", queued, process="watcher")]
                metrics = recorder.snapshot(gauges)
            self._supervisor.send([StatusAnswer(message.token, "watcher", (), True, metrics)])

    async def _resync(self, shard: int) -> None:
        """Send a restarted worker its whole shard again, then ask its peers for its claims."""
        if self.directory is not None:
            paths = [
                path
                for path in self.directory.known_paths()
                if shard_of(path, self.shards) == shard
            ]
            await self._send_changes(self.directory.reread(paths), relisted=True)
            if "file" in self.seen:
                self.outboxes[shard].send([RelistDone(complete=False)])
        if self.url_body is not None and self.config.manifest_url is not None:
            location = self.config.manifest_url
            if shard_of(location, self.shards) == shard:
                source = PodSource("http", location)
                self._send_to(location, [ManifestChanged(source, self.url_body, relisted=True)])
        self._broadcast(Barrier(next(self._tokens), tuple(self.seen), (shard,)))

    async def _send_changes(self, changes: Iterable[FileChange], *, relisted: bool) -> None:
        batches: list[list[Message]] = [[] for _ in range(self.shards)]
        size = self.config.batch_size
        for path, body in changes:
            source = PodSource("file", path)
            shard = shard_of(path, self.shards)
            batch = batches[shard]
            if body is None:
                batch.append(ManifestRemoved(source))
            else:
                batch.append(ManifestChanged(source, body, relisted))
            if len(batch) >= size:
                self._send_batch(shard, batch)
                batch.clear()
                await asyncio.sleep(0)  # let the outboxes write while the scan goes on
        for shard, batch in enumerate(batches):
            self._send_batch(shard, batch)

    def _send_batch(self, shard: int, batch: list[Message]) -> None:
        """Send a batch of file events, counted as they leave (once a batch, not once a
        file: a first listing's 10,000 counts cost 7% of the watcher's scan)."""
        removed = sum(isinstance(message, ManifestRemoved) for message in batch)
        if removed:
            recorder.count("fastpod_manifest_events_total", removed, source="file", kind="removed")
        if len(batch) > removed:
            changed = len(batch) - removed
            recorder.count("fastpod_manifest_events_total", changed, source="file", kind="changed")
        self.outboxes[shard].send(batch)

    def _send_to(self, location: str, messages: list[Message]) -> None:
        self.outboxes[shard_of(location, self.shards)].send(messages)

    def _broadcast(self, message: Message) -> None:
        for outbox in self.outboxes:
            outbox.send([message])


def main(config: Config, run_dir: str, resync_all: bool) -> None:
    """Entry point of the watcher process."""
    run_child(config, "watcher", Watcher(config, run_dir, resync_all=resync_all).run)
