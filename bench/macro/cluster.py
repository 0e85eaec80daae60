"""Macro benchmarks of a node in a cluster, on the fake runtime, against the test API server.

A real ``fastpod run --kubeconfig`` with 100 generated pods, the API server being kmock's
emulator on loopback (``tests/support/apiserver.py``: no kube-apiserver can be installed
here). Each figure is printed beside a floor from the same run; targets are reported, never
asserted. ``events``: the Event writes of the pods' starts beside one create per Event.
Mirror pods are not made yet: their figures (1,000 pods to every mirror, requests beside
one create each) come with them.

    python -m bench.macro.cluster            # every scenario
    python -m bench.macro.cluster idle       # some of them
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.macro.pipeline import Fastpod, Result, run_scenarios, write_dir
from tests.support.cluster_api import LocalApiServer

PODS = 100
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

    def stop(self) -> None:
        self.fastpod.stop()
        self.server.close()


def started(root: str) -> Node:
    server = LocalApiServer()
    kubeconfig = server.write_kubeconfig(Path(root) / "kubelet.conf")
    directory = write_dir(root, PODS)
    fastpod = Fastpod(
        directory, 2, "--kubeconfig", str(kubeconfig), "--root-dir", os.path.join(root, "r")
    )
    ready = registered = 0.0
    pids: dict[str, int] = {}
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
    return Node(server, fastpod, ready, registered, pids)


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


SCENARIOS: dict[str, Callable[[str], list[Result]]] = {
    "register": scenario_register,
    "idle": scenario_idle,
    "events": scenario_events,
}


if __name__ == "__main__":
    run_scenarios(SCENARIOS, __doc__.splitlines()[0])
