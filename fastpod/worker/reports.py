"""What a worker tells the supervisor about its pods: the ``/pods`` items, one pod's
inspection, its gauges and its health.

Statuses are computed only when asked, from the last observation each pod loop kept:
nothing is copied or kept up to date between queries, however many pods there are.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import msgspec

from fastpod.health import POD_LOOPS, RUNTIME, HealthProblem
from fastpod.manifest.defaults import first_seen
from fastpod.metrics import Sample, gauge
from fastpod.model import Pod
from fastpod.status.api_view import as_served
from fastpod.status.compute import pod_status
from fastpod.status.types import PodStatus
from fastpod.worker.desired import DesiredPods
from fastpod.worker.events import PodEvent
from fastpod.worker.pod_loop import PodRunner

_encoder = msgspec.json.Encoder()
BACKOFF_REASONS = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"})


class PodInspection(msgspec.Struct, frozen=True):
    """``fastpod inspect``: the defaulted pod with its status, where it came from, its events."""

    pod: Pod
    source: str
    events: list[PodEvent]


def with_status(runner: PodRunner, pod: Pod, now: float) -> Pod:
    """``pod`` with the status its loop last observed (Pending when it has not run yet)."""
    return msgspec.structs.replace(as_served(pod), status=served_status(runner, pod, now))


def served_status(runner: PodRunner, pod: Pod, now: float) -> PodStatus:
    """The status ``/pods`` serves for ``pod``: what its loop last observed. A pod no loop
    has taken yet started when fastpod first saw it (``now`` if unstamped): a start time
    read off the clock would change its status every second it waits, and its report to
    the cluster with it, where the kubelet's status manager keeps the first one."""
    loop = runner.loops.get(f"{pod.metadata.namespace}/{pod.metadata.name}")
    observed, start_time = None, first_seen(pod.metadata) or now
    running = loop.running if loop is not None else None
    if loop is not None and running is not None and running.metadata.uid == pod.metadata.uid:
        observed, start_time = loop.observed, loop.first_seen
    return pod_status(
        pod,
        observed,
        host_ip=runner.settings.host_ip,
        pod_ips=runner.state.pod_ips(pod),
        start_time=start_time,
        runtime_name=runner.runtime.name,
        probes=runner.prober.probes(loop.key) if observed is not None and loop else {},
    )


POD_SLICE = 20
"""Pods encoded in one turn of the event loop when ``/pods`` is answered, and sent as one
part: 40 to 120 µs each, so 1 to 3 ms a turn. An edit crosses up to two workers' loops, each
perhaps in the middle of a slice (with 50 a slice, 5 to 7 ms, the edit took 16 to 22 ms)."""


def pods_document(runner: PodRunner, desired: DesiredPods) -> bytes:
    """A JSON array of every pod this worker owns, with its live status.

    Encoded one pod at a time into one buffer: only one pod's status exists at a time, so
    answering for 10,000 pods does not leave megabytes of small objects behind.
    """
    now = time.time()
    document = bytearray(b"[")
    for index, held in enumerate(desired.pods.values()):
        if index:
            document += b","
        _encoder.encode_into(with_status(runner, held.pod, now), document, -1)
    document += b"]"
    return bytes(document)


async def pods_in_parts(runner: PodRunner, desired: DesiredPods) -> AsyncIterator[bytes]:
    """Every pod this worker owns, with its live status, as JSON parts of :data:`POD_SLICE`
    pods separated by commas, the event loop running between two: the walk of 5,000 pods'
    status takes some 200 ms of CPU, and sending 15 MB at once 15 to 30 ms, which a manifest
    event must not wait for. The pods are those held when it begins; each one's status is
    read as it is encoded."""
    now = time.time()
    part = bytearray()
    for index, held in enumerate(list(desired.pods.values())):
        if index % POD_SLICE == 0 and part:
            yield bytes(part)
            part.clear()
            await asyncio.sleep(0)
        elif part:
            part += b","
        _encoder.encode_into(with_status(runner, held.pod, now), part, -1)
    if part:
        yield bytes(part)


def inspection_document(runner: PodRunner, desired: DesiredPods, pod_key: str) -> bytes:
    """The JSON inspection of one pod, or nothing when this worker does not hold it."""
    held = desired.pods.get(pod_key)
    if held is None:
        return b""
    pod = with_status(runner, held.pod, time.time())
    events = runner.state.events.of(pod_key)
    return _encoder.encode(PodInspection(pod, held.source.location, events))


def worker_gauges(runner: PodRunner, desired: DesiredPods) -> list[Sample]:
    """The gauges of this worker's pods, counted from what the pod loops last observed."""
    running_pods = 0
    states = {"created": 0, "running": 0, "exited": 0}
    backoff: dict[str, int] = {}
    for loop in runner.loops.values():
        observed = loop.observed
        if observed is None:
            continue
        running_pods += any(sandbox.ready for sandbox in observed.sandboxes)
        for info in observed.containers:
            states[info.state] += 1
        for reason in observed.waiting.values():
            if reason in BACKOFF_REASONS:
                backoff[reason] = backoff.get(reason, 0) + 1
    samples = [
        gauge("kubelet_desired_pods", len(desired.pods), static="true"),
        gauge("kubelet_running_pods", running_pods),
    ]
    samples.extend(
        gauge("kubelet_running_containers", count, container_state=state)
        for state, count in states.items()
    )
    samples.extend(
        gauge("fastpod_containers_in_backoff", backoff.get(reason, 0), reason=reason)
        for reason in sorted(BACKOFF_REASONS)
    )
    return samples


def synced(runner: PodRunner) -> bool:
    """Every pod loop has looked at its pod at least once (readiness, with all sources seen)."""
    return all(loop.synced or loop.desired is None for loop in runner.loops.values())


def problems(
    runner: PodRunner, desired: DesiredPods, runtime_problem: str | None
) -> tuple[HealthProblem, ...]:
    """What keeps this worker's pods from being kept as wanted, check by check."""
    found = [HealthProblem(RUNTIME, runtime_problem)] if runtime_problem is not None else []
    found.extend(
        HealthProblem(POD_LOOPS, line)
        for line in runner.loop_failures.problems(lambda key: key in desired.pods)
    )
    return tuple(found)
