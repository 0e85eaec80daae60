"""The supervisor: starts the workers and the watcher, restarts whichever dies, stops them all.

A restarted worker is fed its shard again (the watcher resends its manifests, the other
workers their claims); a restarted watcher re-lists everything and asks every worker to
resend its claims. Signal handlers only record; the loop acts (uvicorn's habit).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.process
import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import uvloop

from fastpod import logs
from fastpod.api.connections import raise_open_files_limit
from fastpod.config.settings import Config
from fastpod.ipc.channels import Inbox, Outbox
from fastpod.ipc.messages import Resync
from fastpod.ipc.rundir import cluster_socket, supervisor_socket, watcher_socket, worker_socket
from fastpod.metrics import recorder
from fastpod.runtime.host import host_facts
from fastpod.sources import watcher
from fastpod.supervisor import readiness
from fastpod.supervisor.child import release_large_buffers
from fastpod.supervisor.queries import Children, Queries
from fastpod.worker import process as worker_process

if TYPE_CHECKING:
    from fastpod.api.healthz import HealthServer
    from fastpod.api.server import ApiServer

READY_POLL = 0.1
"""Seconds between readiness checks until fastpod is ready (then they stop)."""

STOP_GRACE = 0.8
"""Seconds children get to exit after SIGTERM before SIGKILL: stopping stays under a second."""

# The first children are forked before the event loop exists: they start in milliseconds,
# with every import already paid. A restart happens under the running loop, which a fork
# must not inherit, so restarted children are spawned.
_first_start = multiprocessing.get_context("fork")
_restart = multiprocessing.get_context("spawn")


class RestartDelay:
    """How long to wait before restarting a child: at once, unless it keeps dying young."""

    def __init__(self, initial: float = 0.1, maximum: float = 5.0, young: float = 10.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.young = young
        self.young_deaths = 0

    def after_death(self, lived: float) -> float:
        """The wait before the next start, given how long the dead child lived."""
        if lived >= self.young:
            self.young_deaths = 0
        self.young_deaths += 1
        if self.young_deaths == 1:
            return 0.0
        return float(min(self.initial * 2 ** (self.young_deaths - 2), self.maximum))


@dataclass(slots=True)
class Child:
    """One supervised process: its name, what to start, and its current incarnation."""

    name: str
    shard: int | None
    process: multiprocessing.process.BaseProcess | None = None
    started: float = 0.0
    restarts: RestartDelay = field(default_factory=RestartDelay)


class Supervisor:
    """The process tree of one ``fastpod run``."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.run_dir = config.run_dir or tempfile.mkdtemp(prefix="fastpod-")
        self.children = [Child(f"worker-{index}", index) for index in range(config.worker_count)]
        self.children.append(Child("watcher", None))
        if config.kubeconfig is not None:
            self.children.append(Child("cluster", None))
        self._stop = asyncio.Event()
        self._deaths: asyncio.Queue[Child] | None = None
        self._watcher_outbox: Outbox | None = None

    def run(self) -> int:
        """Run until SIGTERM or SIGINT; 0 on a clean stop."""
        release_large_buffers()
        logs.configure(self.config.log_format, "fastpod")
        os.makedirs(self.run_dir, mode=0o700, exist_ok=True)  # its sockets: fastpod's alone
        logs.emit(
            "fastpod started",
            pid=os.getpid(),
            node=self.config.node_name,
            workers=self.config.worker_count,
            manifest_path=self.config.pod_manifest_path,
            manifest_url=_redacted(self.config.manifest_url),
            runtime=self.config.runtime,
        )
        for warning in self.config.startup_warnings:
            logs.emit("configuration warning", level="warning", warning=warning)
        raise_open_files_limit()
        floor = host_facts().oom_score_adj_floor
        if floor is not None and self.config.runtime != "fake":
            logs.emit(
                "oom score adjustments clamped",
                level="warning",
                floor=floor,
                detail=f"fastpod cannot lower OOM score adjustments here (no CAP_SYS_RESOURCE): "
                f"containers get the kubelet's adjustment, but not below {floor} "
                "(Guaranteed and node-critical pods would get -997)",
            )
        for child in self.children:
            self._start(child, restarted=False)
        try:
            uvloop.run(self._main())
        finally:
            logs.flush()
            if self.config.run_dir is None:
                shutil.rmtree(self.run_dir, ignore_errors=True)
        return 0

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._stop.set)
        self._deaths = asyncio.Queue()
        self._watcher_outbox = Outbox(watcher_socket(self.run_dir))
        for child in self.children:
            self._follow(child)
        outboxes = {
            child.name: Outbox(worker_socket(self.run_dir, child.shard))
            for child in self.children
            if child.shard is not None
        }
        outboxes["watcher"] = self._watcher_outbox
        if self.config.kubeconfig is not None:
            outboxes["cluster"] = Outbox(cluster_socket(self.run_dir))
        queries = Queries(outboxes)
        inbox = Inbox(supervisor_socket(self.run_dir), queries.receive)
        await inbox.start()
        children = Children(
            queries, [child.name for child in self.children if child.shard is not None], self._pids
        )
        background = [asyncio.create_task(self._announce_ready(children))]
        # imported only now: the children forked earlier need not carry the web server
        server: ApiServer | None = None
        if self.config.read_only_port:
            from fastpod.api.server import ApiServer

            server = ApiServer(self.config, children)
            server.start()
        health: HealthServer | None = None
        if self.config.healthz_port:
            from fastpod.api.healthz import HealthServer

            health = HealthServer(self.config, children)
            health.start()
        stopping = asyncio.create_task(self._stop.wait())
        try:
            while True:
                death = asyncio.create_task(self._deaths.get())
                await asyncio.wait({stopping, death}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    death.cancel()
                    break
                await self._restart(death.result())
        finally:
            readiness.notify("STOPPING=1")
            for task in background:
                task.cancel()
            if server is not None:
                await server.close()
            if health is not None:
                await health.close()
            await self._stop_children()
            await inbox.close()
            for outbox in outboxes.values():
                await outbox.close()
            logs.emit("fastpod stopped")

    def _pids(self) -> dict[str, int | None]:
        return {
            child.name: child.process.pid
            if child.process is not None and child.process.is_alive()
            else None
            for child in self.children
        }

    async def _announce_ready(self, children: Children) -> None:
        """Once every source is seen and every pod synced: log it, and tell systemd."""
        while not await children.ready():
            await asyncio.sleep(READY_POLL)
        logs.emit("fastpod ready")
        readiness.notify("READY=1\nSTATUS=every source seen, every pod synced")

    def _start(self, child: Child, *, restarted: bool) -> None:
        context = _restart if restarted else _first_start
        if child.name == "cluster":
            # deferred: only a node with a kubeconfig has a cluster process
            from fastpod.cluster import process as cluster_process

            process: multiprocessing.process.BaseProcess = context.Process(
                target=cluster_process.main,
                args=(self.config, self.run_dir),
                name=child.name,
                daemon=True,
            )
        elif child.shard is None:
            process = context.Process(
                target=watcher.main,
                args=(self.config, self.run_dir, restarted),
                name=child.name,
                daemon=True,
            )
        else:
            process = context.Process(
                target=worker_process.main,
                args=(self.config, child.shard, self.run_dir, restarted),
                name=child.name,
                daemon=True,
            )
        process.start()
        child.process = process
        child.started = time.monotonic()

    def _follow(self, child: Child) -> None:
        assert child.process is not None
        process = child.process
        asyncio.get_running_loop().add_reader(process.sentinel, self._on_exit, child, process)

    def _on_exit(self, child: Child, process: multiprocessing.process.BaseProcess) -> None:
        asyncio.get_running_loop().remove_reader(process.sentinel)
        if child.process is process and self._deaths is not None:
            self._deaths.put_nowait(child)

    async def _restart(self, child: Child) -> None:
        assert child.process is not None
        # the sentinel closes a moment before the kernel lets the exit status be read
        for _ in range(100):
            child.process.join(0)
            if child.process.exitcode is not None:
                break
            await asyncio.sleep(0.01)
        lived = time.monotonic() - child.started
        delay = child.restarts.after_death(lived)
        logs.emit(
            "process died",
            level="error",
            child=child.name,
            exit=_describe_exit(child.process.exitcode),
            restart_in=f"{delay:g}s",
        )
        if delay:
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                return
            except TimeoutError:
                pass
        self._start(child, restarted=True)
        self._follow(child)
        recorder.count("fastpod_process_restarts_total", process=child.name)
        if child.shard is not None and self._watcher_outbox is not None:
            self._watcher_outbox.send([Resync(child.shard)])
        logs.emit("process restarted", child=child.name)

    async def _stop_children(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.is_alive()]
        for process in running:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_GRACE
        for process in running:
            while process.is_alive() and loop.time() < deadline:
                await asyncio.sleep(0.01)
            if process.is_alive():
                logs.emit("process killed", level="warning", child=process.name)
                process.kill()
            process.join(1)


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _redacted(url: str | None) -> str | None:
    return None if url is None else logs.without_userinfo(url)
