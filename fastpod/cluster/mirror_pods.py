"""The mirror pods: one on the API server per static pod, kept as the kubelet keeps them.

Once the Node is registered (its UID is the mirrors' owner), the pods bound to this node
are listed and then watched (``fieldSelector=spec.nodeName=<node>``), as the kubelet's pod
informer does; a watch that fails (the API server gone, 410 for a version compacted away)
is followed by a list again. Every change, of a static pod the workers report
(:mod:`fastpod.cluster.mirror_reports`) or of a pod the watch shows, marks its key; a
reconciler takes the marked keys and does what :mod:`fastpod.cluster.mirror_object` says:

- no mirror: create it (``CreateMirrorPod``, ``pkg/kubelet/pod/mirror_client.go``);
- a mirror of another config hash, or being deleted: delete it (grace 0, with its UID as
  precondition, ``DeleteMirrorPod``) and create it again (``syncPod``,
  ``pkg/kubelet/kubelet.go``); a mirror someone deleted is made again the same way, the
  local pod never touched;
- a mirror without a static pod, once every worker has named all its pods: deleted
  (``deleteOrphanedMirrorPods`` in ``HandlePodCleanups``);
- its status patched through the status subresource when the static pod's status changed
  since it was last posted (the status manager's ``needsUpdate`` and ``PatchPodStatus``),
  or when someone else wrote the mirror and its status is no longer ours
  (``needsReconcile``), a merge patch from the status the API holds, other owners'
  conditions kept.

Mirrors are created before any status is patched, so that a cold start's creations do not
queue behind statuses in the client's rate limit. Nothing read from the API ever flows
back to a local pod. A failed call is logged once per streak of its kind, and its key is
tried again after the streak's back-off (100 ms doubling to 7 s); a pod whose name a pod
that is not a mirror holds is left alone, as the kubelet leaves it.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from fastpod import logs
from fastpod.cluster import mirror_object as mirrors
from fastpod.cluster.client import ApiClient, ApiFailure
from fastpod.cluster.mirror_reports import ReportedPods
from fastpod.cluster.node_agent import CallStreaks, NodeAgent

Object = dict[str, Any]

PARALLEL = 8
"""Calls in flight at once: enough that a distant API server's latency does not bound the
rate, which the client's token bucket does (``kubeAPIQPS``)."""

WATCH_RETRY_MAX = 7.0
"""Seconds at most between tries to list and watch again while the API server fails."""


@dataclass(frozen=True, slots=True)
class MirrorState:
    """What ``fastpod inspect`` says of a static pod's mirror: ``created`` (with its UID),
    ``pending`` (not yet, and why) or ``failing`` (the last failure)."""

    state: str
    reason: str = ""
    uid: str = ""


class MirrorPods:
    """This node's mirror pods on the API server."""

    def __init__(
        self, client: ApiClient, agent: NodeAgent, reported: ReportedPods, node_name: str
    ) -> None:
        self.client = client
        self.agent = agent
        self.reported = reported
        self.node_name = node_name
        self.mirrors: dict[str, Object] = {}
        """The pods bound to this node as the API holds them (list, watch, our writes)."""
        self.listed = False
        self._marked: set[str] = set()
        self._statuses_due: set[str] = set()
        """Keys whose status is looked at once no mirror waits to be made."""
        self._wake = asyncio.Event()
        self._posted: dict[str, tuple[str, Object]] = {}
        """By key: the mirror's UID and the static pod's status last posted to it."""
        self._deleted: set[str] = set()
        """UIDs of mirrors this process deleted: the watch's late news of them is old."""
        self._retry_at: dict[str, float] = {}
        self._failing: dict[str, str] = {}
        self._calls = CallStreaks()
        reported.changed = self.mark
        reported.completed = self._look_for_orphans

    def mark(self, key: str) -> None:
        """The static pod or the mirror under ``key`` changed: look at it again."""
        self._marked.add(key)
        self._wake.set()

    def _look_for_orphans(self) -> None:
        for key in self.mirrors:
            if key not in self.reported.pods:
                self.mark(key)

    def state(self, key: str) -> MirrorState | None:
        """The mirror of the static pod ``key`` now; None if there is no such static pod."""
        static = self.reported.pods.get(key)
        if static is None:
            return None
        if key in self._failing:
            return MirrorState("failing", self._failing[key])
        mirror = self.mirrors.get(key)
        if mirror is not None and self._action(key) is mirrors.Action.KEEP:
            return MirrorState("created", uid=_uid(mirror))
        if not self.agent.registered.is_set():
            return MirrorState("pending", "waiting for the Node to be registered")
        if not self.listed:
            return MirrorState("pending", "waiting for the pods of this node to be listed")
        if mirror is not None and not mirrors.is_mirror(mirror):
            return MirrorState("failing", "a pod that is not a mirror pod holds its name")
        return MirrorState("pending", "being created")

    async def run(self) -> None:
        """Keep the mirrors until cancelled."""
        await self.agent.registered.wait()
        await asyncio.gather(self._watch_loop(), self._reconcile_loop())

    # -- what the API holds ---------------------------------------------------------------

    async def _watch_loop(self) -> None:
        while True:
            try:
                pods, version = await self.client.list_node_pods(self.node_name)
                self._relisted(pods)
                self._calls.succeeded("list pods")
                async for kind, pod in self.client.watch_node_pods(self.node_name, version):
                    self._watched(kind, pod)
            except ApiFailure as failure:
                if failure.kind == "expired":
                    continue  # a watch resumed too late: list again at once
                await asyncio.sleep(self._calls.failed("list pods", failure, WATCH_RETRY_MAX))

    def _relisted(self, pods: list[Object]) -> None:
        listed = {_key(pod): pod for pod in pods}
        for key in set(self.mirrors) | set(listed) | set(self.reported.pods):
            self._marked.add(key)
        self.mirrors = listed
        self._deleted.clear()
        self.listed = True
        self._wake.set()

    def _watched(self, kind: str, pod: Object) -> None:
        key, uid = _key(pod), _uid(pod)
        if uid in self._deleted:
            if kind == "DELETED":
                self._deleted.discard(uid)
            return
        held = self.mirrors.get(key)
        if kind == "DELETED":
            if held is None or _uid(held) != uid:
                return
            del self.mirrors[key]
        elif held is not None and _uid(held) == uid and not _newer(pod, held):
            return  # our own write, already held
        else:
            # someone else's write: its status is compared with ours again and corrected if
            # it differs (the status manager's ``needsReconcile``)
            self._posted.pop(key, None)
            self.mirrors[key] = pod
        self.mark(key)

    # -- what the API should hold ---------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        limit = asyncio.Semaphore(PARALLEL)

        async def each(call: Any, key: str) -> None:
            async with limit:
                await call(key)

        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.listed:
                continue
            now = time.monotonic()
            due = [key for key in self._marked if self._retry_at.get(key, 0.0) <= now]
            self._marked.difference_update(due)
            await asyncio.gather(*(each(self._sync_mirror, key) for key in due))
            self._statuses_due.update(due)
            if self._objects_due():
                self._wake.set()  # mirrors to make first: statuses wait for them
                continue
            statuses, self._statuses_due = self._statuses_due, set()
            await asyncio.gather(*(each(self._sync_status, key) for key in statuses))
            self._wake_for_retries()

    def _objects_due(self) -> bool:
        """Whether a marked key may be tried now and needs a mirror made or deleted."""
        now = time.monotonic()
        return any(
            self._retry_at.get(key, 0.0) <= now and self._action(key).writes for key in self._marked
        )

    def _action(self, key: str) -> mirrors.Action:
        static = self.reported.pods.get(key)
        return mirrors.action(
            None if static is None else static.pod,
            self.mirrors.get(key),
            sources_ready=self.reported.complete,
        )

    def _wake_for_retries(self) -> None:
        waiting = [self._retry_at[key] for key in self._marked if key in self._retry_at]
        if waiting and not self._wake.is_set():
            delay = max(0.0, min(waiting) - time.monotonic())
            asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _sync_mirror(self, key: str) -> None:
        action = self._action(key)
        mirror = self.mirrors.get(key)
        if action is mirrors.Action.DELETE:
            assert mirror is not None
            if await self._attempt(key, "delete mirror pod", self._delete(key, mirror)):
                logs.emit("orphan mirror pod deleted", pod=key, uid=_uid(mirror))
            return
        if not action.writes:
            return
        if action is mirrors.Action.REPLACE:
            assert mirror is not None
            if not await self._attempt(key, "delete mirror pod", self._delete(key, mirror)):
                return
        static = self.reported.pods[key]
        node_uid = self.agent.node_uid or ""
        wanted = mirrors.mirror_pod(static.pod, self.node_name, node_uid)
        if await self._attempt(key, "create mirror pod", self._create(key, wanted)):
            logs.emit(
                "mirror pod replaced" if action is mirrors.Action.REPLACE else "mirror pod created",
                pod=key,
                uid=_uid(self.mirrors.get(key) or {}),
            )

    async def _sync_status(self, key: str) -> None:
        static = self.reported.pods.get(key)
        mirror = self.mirrors.get(key)
        if static is None or static.status is None or mirror is None or key in self._failing:
            return
        if self._action(key) is not mirrors.Action.KEEP:
            return
        uid = _uid(mirror)
        if self._posted.get(key) == (uid, static.status):
            return
        patch = mirrors.status_patch(mirror.get("status") or {}, static.status)
        if patch:
            await self._attempt(key, "patch mirror pod status", self._patch(key, uid, patch))
        # marked again meanwhile (a failure, someone else's write): looked at once more
        if key not in self._marked:
            self._posted[key] = (uid, static.status)

    async def _create(self, key: str, wanted: Object) -> None:
        # a 409 AlreadyExists: made since the last list (the watch brings it), or a pod this
        # node cannot see holds the name; tried again after the back-off either way
        self.mirrors[key] = await self.client.create_pod(wanted)

    async def _delete(self, key: str, mirror: Object) -> None:
        uid = _uid(mirror)
        meta = mirror["metadata"]
        try:
            await self.client.delete_pod(meta["name"], meta["namespace"], uid)
        except ApiFailure as failure:
            if failure.kind == "conflict":
                # not that pod any more: what the watch says next decides
                self.mirrors.pop(key, None)
            raise
        self._deleted.add(uid)
        if _uid(self.mirrors.get(key) or {}) == uid:
            del self.mirrors[key]
        self._posted.pop(key, None)

    async def _patch(self, key: str, uid: str, patch: Object) -> None:
        meta = self.mirrors[key]["metadata"]
        answer = await self.client.patch_pod_status(meta["name"], meta["namespace"], uid, patch)
        held = self.mirrors.get(key) or {}
        if _uid(answer) == uid and _uid(held) == uid and not _newer(held, answer):
            self.mirrors[key] = answer

    async def _attempt(self, key: str, call: str, work: Any) -> bool:
        """Run one call for ``key``: on failure log the first of a streak and try the key
        again after the streak's back-off."""
        try:
            await work
        except ApiFailure as failure:
            delay = self._calls.failed(call, failure, WATCH_RETRY_MAX)
            self._failing[key] = f"{call}: {failure}"
            self._retry_at[key] = time.monotonic() + delay
            self._marked.add(key)
            return False
        self._calls.succeeded(call)
        self._failing.pop(key, None)
        self._retry_at.pop(key, None)
        return True


def _key(pod: Object) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"


def _uid(pod: Object) -> str:
    return str((pod.get("metadata") or {}).get("uid") or "")


def _newer(pod: Object, held: Object) -> bool:
    """Whether ``pod`` is a later version than ``held`` of the same object. Resource
    versions are opaque; where both are numbers (etcd's revisions) an older one is a watch
    behind our own write, anything else is taken as newer."""
    new = str((pod.get("metadata") or {}).get("resourceVersion", ""))
    old = str((held.get("metadata") or {}).get("resourceVersion", ""))
    if new.isdigit() and old.isdigit():
        return int(new) > int(old)
    return new != old
