"""Macro benchmarks of a node in a cluster, on the fake runtime, against the test API server.

A real ``fastpod run --kubeconfig`` with generated pods (100; 1,000 for the mirror pods),
the API server being kmock's emulator on loopback (``tests/support/apiserver.py``: no
kube-apiserver can be installed here). Each figure is printed beside a floor from the same
run; targets are reported, never asserted. ``events``: the Event writes of the pods' starts
beside one create per Event; ``mirrors``: 1,000 static pods to every mirror pod.

    python -m bench.macro.cluster            # every scenario
    python -m bench.macro.cluster mirrors    # some of them
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import kmock
import psutil

from bench.macro.pipeline import Fastpod, Result, run_scenarios, write_dir
from tests.support.cluster_api import LocalApiServer
from tests.support.running import free_port

PODS = 100
MIRROR_PODS = 1000
KUBE_API_QPS = 50
KUBE_API_BURST = 100
"""The kubelet's defaults (``kubeAPIQPS``, ``kubeAPIBurst``), which fastpod's are."""
IDLE_WINDOW = 60.0
"""Seconds an idle node is watched: six Lease renewals at the kubelet's defaults."""
LEASE_RENEWAL = 10.0
"""The kubelet's default renewal: a quarter of ``nodeLeaseDurationSeconds`` (40 s)."""


@dataclass
class Node:
    """A fastpod with a kubeconfig for a test API server, once its Node is registered."""

    server: LocalApiServer
    fastpod: Fastpod
    ready: float
    """Seconds from the start to ``fastpod ready``."""
    registered: float
    """Seconds from the start to ``node registered``."""
    pids: dict[str, int]
    mirrors_created: int
    """``mirror pod created`` lines read by then."""

    def stop(self) -> None:
        self.fastpod.stop()
        self.server.close()


def started(root: str, pods: int = PODS) -> Node:
    server = LocalApiServer()
    kubeconfig = server.write_kubeconfig(Path(root) / "kubelet.conf")
    directory = write_dir(root, pods)
    fastpod = Fastpod(
        directory,
        2,
        "--kubeconfig",
        str(kubeconfig),
        "--root-dir",
        os.path.join(root, "r"),
        # ports of its own: other fastpods on the machine hold the kubelet's
        "--read-only-port",
        str(free_port()),
        "--healthz-port",
        "0",
    )
    ready = registered = 0.0
    pids: dict[str, int] = {}
    mirrors = 0
    while not (ready and registered):
        for line in fastpod.read_lines():
            record = json.loads(line)
            elapsed = time.perf_counter() - fastpod.started
            if record["event"] == "fastpod ready":
                ready = elapsed
            elif record["event"] == "node registered":
                registered = elapsed
            elif record["event"] == "process started":
                pids[record["process"]] = record["pid"]
            elif record["event"] == "mirror pod created":
                mirrors += 1
    return Node(server, fastpod, ready, registered, pids, mirrors)


def scenario_register(root: str) -> list[Result]:
    node = started(root)
    try:
        cluster = psutil.Process(node.pids["cluster"]).memory_full_info().uss
        watcher = psutil.Process(node.pids["watcher"]).memory_full_info().uss
    finally:
        node.stop()
    return [
        Result(
            "Node registered, after the start",
            node.registered,
            "s",
            f"fastpod ready ({PODS} pods)",
            node.ready,
            "about the daemon's own start",
        ),
        Result(
            "cluster process, unshared memory",
            cluster / 2**20,
            "MB",
            "the watcher's",
            watcher / 2**20,
            "the client's import, once",
        ),
    ]


def scenario_idle(root: str) -> list[Result]:
    node = started(root)
    try:
        time.sleep(LEASE_RENEWAL)  # past the first status and Lease
        before = len(node.server.requests())
        time.sleep(IDLE_WINDOW)
        made = len(node.server.requests()) - before
    finally:
        node.stop()
    return [
        Result(
            "API requests a minute, idle",
            made * 60.0 / IDLE_WINDOW,
            "req",
            "Lease renewals due (every 10 s)",
            60.0 / LEASE_RENEWAL,
            "the Lease renewals and nothing else",
        )
    ]


EVENTS_SETTLED = 2.0
"""Seconds without a new event request after which the pods' starts are all written."""


def event_requests(server: LocalApiServer) -> int:
    """Requests that wrote an Event (a create or a patch)."""
    return sum(
        1 for method, path in server.requests() if method in ("POST", "PATCH") and "/events" in path
    )


def scenario_events(root: str) -> list[Result]:
    """The Events of 100 pod starts: the requests that wrote them, beside the floor of one
    create per distinct Event (nothing is written twice when nothing happens twice)."""
    node = started(root)
    try:
        made, settled_at = -1, time.monotonic()
        while time.monotonic() - settled_at < EVENTS_SETTLED:
            time.sleep(0.2)
            now_made = event_requests(node.server)
            if now_made != made:
                made, settled_at = now_made, time.monotonic()
        distinct = len(node.server.call(lambda: node.server.emulator.stored_all("v1/events")))
    finally:
        node.stop()
    return [
        Result(
            "Event API requests per pod start",
            made / PODS,
            "req",
            "one create per distinct Event",
            distinct / PODS,
            "the floor: no Event written twice",
        )
    ]


def scenario_mirrors(root: str) -> list[Result]:
    """1,000 static pods: the time to every mirror created, the requests made until every
    mirror shows its pod Running, and the requests a minute once idle."""
    node = started(root, MIRROR_PODS)
    try:
        created = node.mirrors_created
        while created < MIRROR_PODS:
            lines = node.fastpod.read_lines()
            created += sum(b'"mirror pod created"' in line for line in lines)
        all_created = time.perf_counter() - node.fastpod.started
        while _running_mirrors(node.server) < MIRROR_PODS:
            time.sleep(0.5)
        everything = node.server.requests()
        time.sleep(LEASE_RENEWAL)
        before = len(node.server.requests())
        time.sleep(IDLE_WINDOW)
        idle_everything = node.server.requests()[before:]
    finally:
        node.stop()
    # the pods' Events are the event recorder's, under a rate limit of their own (the
    # events scenario measures them): counted beside, not in, the mirror pods' figures
    requests, events = _without_events(everything)
    idle, idle_events = _without_events(idle_everything)
    creates = sum(1 for method, path in requests if method == "POST" and path.endswith("/pods"))
    statuses = sum(1 for method, path in requests if method == "PATCH" and "/pods/" in path)
    others = len(requests) - creates - statuses
    # the Node first, then the client's token bucket: a burst at once, then QPS a second
    rate_floor = node.registered + max(0, MIRROR_PODS - KUBE_API_BURST) / KUBE_API_QPS
    return [
        Result(
            f"every mirror created, {MIRROR_PODS} static pods",
            all_created,
            "s",
            f"Node registered + {MIRROR_PODS} creates at QPS {KUBE_API_QPS}",
            rate_floor,
            f"the client's rate limit (burst {KUBE_API_BURST}) and nothing else",
        ),
        Result(
            "API requests until every mirror Running",
            len(requests),
            "req",
            "one create per pod",
            MIRROR_PODS,
            f"{creates} creates, {statuses} status patches, {others} others"
            f" (Node, Lease, list, watch); Event writes beside: {events}",
        ),
        Result(
            f"API requests a minute, idle, {MIRROR_PODS} mirrors",
            len(idle) * 60.0 / IDLE_WINDOW,
            "req",
            "Lease renewals due (every 10 s)",
            60.0 / LEASE_RENEWAL,
            "the Lease renewals and nothing else; Event writes beside:"
            f" {idle_events * 60.0 / IDLE_WINDOW:.0f} a minute",
        ),
    ]


def _without_events(requests: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """The requests that are not Event writes, and how many Event writes there were."""
    kept = [(method, path) for method, path in requests if "/events" not in path]
    return kept, len(requests) - len(kept)


def _running_mirrors(server: LocalApiServer) -> int:
    pods = kmock.resource("v1/pods")

    def count() -> int:
        return sum(
            1
            for (resource, _, _), obj in server.emulator.objects.items()
            if resource == pods
            and not obj.deleted
            and (obj.raw.get("status") or {}).get("phase") == "Running"
        )

    return server.call(count)


SCENARIOS: dict[str, Callable[[str], list[Result]]] = {
    "register": scenario_register,
    "idle": scenario_idle,
    "events": scenario_events,
    "mirrors": scenario_mirrors,
}


if __name__ == "__main__":
    run_scenarios(SCENARIOS, __doc__.splitlines()[0])
