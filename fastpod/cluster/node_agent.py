"""The node's side of the cluster: register the Node, post its status, renew its Lease.

Two loops, as the kubelet runs them (``syncNodeStatus`` every ``nodeStatusUpdateFrequency``,
the lease controller every quarter of ``nodeLeaseDurationSeconds``). The status is computed
every 10 s and posted only when it changed or ``nodeStatusReportFrequency`` (5 min) went by,
so an idle node costs the API server its Lease renewals and one status a report period. The
decisions are :mod:`fastpod.cluster.node_object` and :mod:`fastpod.cluster.lease`; this
module calls the API server and the runtime, and logs.

The API server failing (no answer, 5xx, 401/403, conflicts) never touches the pods: each
loop logs the first failure of a streak, tries again after a back-off (at most its own
period), and says so when the API server answers again.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from dataclasses import dataclass, field
from typing import Any

from fastpod import logs
from fastpod.cluster import lease as leases
from fastpod.cluster.client import ApiClient, ApiFailure
from fastpod.cluster.node_object import (
    RUNTIME_DOWN,
    NodeFacts,
    NodeSettings,
    initial_node,
    node_status,
    ready,
    reconciled_metadata,
    status_changed,
)
from fastpod.cluster.retry import Streak
from fastpod.runtime.base import Runtime, RuntimeCallError, RuntimeUnavailable

RUNTIME_TIMEOUT = 2.0
"""Seconds the runtime has to answer the status's ping."""


@dataclass(frozen=True, slots=True)
class Heartbeats:
    """When the node speaks: the kubelet's ``nodeStatusUpdateFrequency``,
    ``nodeStatusReportFrequency`` and ``nodeLeaseDurationSeconds``."""

    status_update: float = 10.0
    status_report: float = 300.0
    lease_duration: int = 40
    register_node: bool = True


@dataclass(slots=True)
class CallStreaks:
    """A streak per kind of call, so that each is logged once per outage."""

    streaks: dict[str, Streak] = field(default_factory=dict)

    def failed(self, call: str, failure: ApiFailure, cap: float) -> float:
        streak = self.streaks.setdefault(call, Streak())
        delay = min(streak.failed(), cap)
        if streak.first:
            logs.emit(
                "API server call failed",
                level="warning",
                call=call,
                error=str(failure),
                retry_in=f"{delay:g}s",
                note="the pods are not affected; logged once until it succeeds",
            )
        return delay

    def succeeded(self, call: str) -> None:
        streak = self.streaks.get(call)
        if streak is not None and (ended := streak.succeeded()):
            logs.emit("API server call succeeded again", call=call, failures=ended)


class NodeAgent:
    """This node's Node and Lease on the API server."""

    def __init__(
        self,
        client: ApiClient,
        runtime: Runtime,
        settings: NodeSettings,
        facts: NodeFacts,
        heartbeats: Heartbeats,
    ) -> None:
        self.client = client
        self.runtime = runtime
        self.settings = settings
        self.facts = facts
        self.heartbeats = heartbeats
        self.node_uid: str | None = None
        """The Node's UID once it was created or read: mirror pods and the Lease name it."""
        self.registered = asyncio.Event()
        """Set once the Node exists on the API server (mirror pods wait for it)."""
        self._posted: dict[str, Any] | None = None
        self._reported_at = -float("inf")
        self._runtime_version = ""
        self._lease: dict[str, Any] | None = None
        self._calls = CallStreaks()

    async def run(self) -> None:
        """Keep the Node and its Lease until cancelled."""
        await asyncio.gather(self._status_loop(), self._lease_loop())

    # -- the Node -------------------------------------------------------------------------------

    async def _status_loop(self) -> None:
        period = self.heartbeats.status_update
        while True:
            delay = period
            try:
                await self.sync_status()
            except ApiFailure as failure:
                delay = self._calls.failed("node status", failure, period)
            else:
                self._calls.succeeded("node status")
            await asyncio.sleep(delay)

    async def sync_status(self) -> None:
        """One round of ``syncNodeStatus``: register if needed, post the status if it
        changed or is due."""
        status = await self._status()
        if not self.registered.is_set():
            await self._register(status)
            return
        now = time.monotonic()
        if not status_changed(self._posted, status) and (
            now - self._reported_at < self.heartbeats.status_report
        ):
            return
        try:
            node = await self.client.patch_node_status(self.settings.name, {"status": status})
        except ApiFailure as failure:
            if failure.kind == "not-found":
                # someone deleted the Node: register it again
                self.registered.clear()
            raise
        self._posted_now(node, status, now)

    async def _register(self, status: dict[str, Any]) -> None:
        if not self.heartbeats.register_node:
            node = await self.client.get_node(self.settings.name)
            if node is None:
                raise ApiFailure("not-found", 404, f'nodes "{self.settings.name}" not found')
            created = False
        else:
            try:
                node = await self.client.create_node(
                    initial_node(self.settings, self.facts, status)
                )
                created = True
            except ApiFailure as failure:
                if failure.kind != "exists":
                    raise
                existing = await self.client.get_node(self.settings.name)
                if existing is None:
                    raise  # gone again: the next round creates it
                patch: dict[str, Any] = {"status": status}
                metadata = reconciled_metadata(existing, self.facts)
                if metadata is not None:
                    patch["metadata"] = metadata
                node = await self.client.patch_node_status(self.settings.name, patch)
                created = False
        self.node_uid = node["metadata"]["uid"]
        self._posted_now(node, status, time.monotonic())
        self.registered.set()
        logs.emit(
            "node registered" if created else "node updated",
            node=self.settings.name,
            uid=self.node_uid,
            ready=ready(status),
        )

    def _posted_now(self, node: dict[str, Any], status: dict[str, Any], now: float) -> None:
        if self._posted is not None and ready(self._posted) != ready(status):
            logs.emit(
                "node status changed",
                node=self.settings.name,
                ready=ready(status),
                message=next(c["message"] for c in status["conditions"] if c["type"] == "Ready"),
            )
        self.node_uid = node.get("metadata", {}).get("uid", self.node_uid)
        self._posted = status
        self._reported_at = now

    async def _status(self) -> dict[str, Any]:
        """The status now, with the runtime's answer (its version, or why it is down)."""
        problems: tuple[str, ...] = ()
        try:
            async with asyncio.timeout(RUNTIME_TIMEOUT):
                await self.runtime.ping(RUNTIME_TIMEOUT)
                if not self._runtime_version:
                    self._runtime_version = await self.runtime.version()
        except (RuntimeUnavailable, TimeoutError):
            problems = (RUNTIME_DOWN,)
        except RuntimeCallError as error:
            problems = (f"container runtime not ready: {error}",)
        version = f"{self.runtime.name}://{self._runtime_version or 'Unknown'}"
        now = _rfc3339(datetime.datetime.now(datetime.UTC))
        return node_status(self.settings, self.facts, version, problems, self._posted, now)

    # -- the Lease ------------------------------------------------------------------------------

    async def _lease_loop(self) -> None:
        interval = leases.renew_interval(self.heartbeats.lease_duration)
        stale = False
        while True:
            delay = interval
            try:
                await self.renew_lease()
            except ApiFailure as failure:
                if failure.kind == "conflict" and not stale:
                    stale, delay = True, 0.0  # and retry at once, as retryUpdateLease
                else:
                    delay = self._calls.failed("lease", failure, interval)
            else:
                stale = False
                self._calls.succeeded("lease")
            await asyncio.sleep(delay)

    async def renew_lease(self) -> None:
        """Create the Lease, or renew the one last read (``ensureLease``, ``retryUpdateLease``)."""
        name = self.settings.name
        duration = self.heartbeats.lease_duration
        now = leases.micro_time(datetime.datetime.now(datetime.UTC))
        if self._lease is None:
            found = await self.client.get_lease(name, leases.NAMESPACE)
            if found is None:
                body = leases.new_lease(name, self.node_uid, duration, now)
                self._lease = await self.client.create_lease(body)
                return
            self._lease = found
        body = leases.renewed(self._lease, name, self.node_uid, duration, now)
        try:
            self._lease = await self.client.replace_lease(body)
        except ApiFailure as failure:
            if failure.kind in ("conflict", "not-found"):
                self._lease = None  # changed or gone: read it again
            raise


def _rfc3339(now: datetime.datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")
