"""``fastpod bench restart``: containers killed from the host → their replacements running.

N pods run; then, round after round, every container's process is killed with SIGKILL
from the host (as the OOM killer or a crash would end it), and the bench waits until each
has its replacement. Round 1 measures fastpod's first restarts (immediate); the later
rounds its crash-loop restarts, which wait out the back-off (10 s, doubling, by default;
``--profile fast`` starts at 1 s). Each sample is the runtime's own exit and start times.

Docker's restart policy (``always``) is the peer on Docker: the same kills, the same
rounds, Docker's own back-off.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import msgspec

from fastpod import __version__
from fastpod.bench import event_loop
from fastpod.bench.log_samples import all_running
from fastpod.bench.manifests import container_names
from fastpod.bench.progress import Progress
from fastpod.bench.record import Run, Sample
from fastpod.bench.runtime_samples import restart_kind, restart_samples
from fastpod.bench.session import Bench
from fastpod.bench.subject import MeasuredFastpod
from fastpod.bench.usage import Sampler
from fastpod.runtime.docker.engine import Engine

POLICY_NAME = "Docker restart policy"
POLL = 0.05


def measure_fastpod(bench: Bench) -> Run:
    """fastpod's restart samples, round after round."""
    samples: list[Sample] = []
    with bench.fastpod("fastpod") as (subject, workspace, sampler):
        names = bench.pod_names(bench.options.pods)
        bench.start_pods(subject, workspace, names)
        keys = [bench.key(name) for name in names]
        for restart_count in range(1, bench.options.rounds + 1):
            if bench.interrupted():
                break
            _kill_round(bench, subject, keys, restart_count)
            listing = bench.target.containers(bench.namespace)
            samples += restart_samples(listing, restart_count, bench.origin)
        usage = dict(sampler.usage)
    return Run(
        name="fastpod",
        role="subject",
        status="measured",
        version=__version__,
        samples=samples,
        usage={group: points for group, points in usage.items() if points},
    )


def _kill_round(
    bench: Bench, subject: MeasuredFastpod, keys: list[str], restart_count: int
) -> None:
    running = [c for c in bench.target.containers(bench.namespace) if c.state == "running"]
    pids = bench.target.pids([container.id for container in running])
    label = f"{restart_kind(restart_count)}s (round {restart_count})"
    progress = Progress(bench.stream, label, len(keys))

    def replaced() -> int:
        return len(all_running(subject.records, keys, bench.containers, restart_count))

    for pid in pids.values():
        _kill(pid)
    subject.wait(
        bench.waiting(lambda: replaced() >= len(keys)),
        bench.options.timeout,
        f"every container restarted ({label})",
        bench.interrupted,
        tick=lambda: progress.update(replaced()),
    )
    progress.finish(replaced())


def _kill(pid: int) -> bool:
    """SIGKILL the container process ``pid``; whether there was one. Never pid 0 or 1 (a
    container between two runs has no pid, and kill(0) would end the bench's own process
    group)."""
    if pid <= 1:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def docker_restart_policy(bench: Bench) -> Run:
    """The same kills on containers Docker restarts itself (``RestartPolicy: always``)."""
    sampler = Sampler({"runtime": bench.target.processes}, bench.origin)
    sampler.start()
    try:
        samples, version = event_loop.run(_policy_rounds(bench))
    finally:
        usage = sampler.stop()
        bench.target.remove_namespace(bench.namespace)
    return Run(
        name=POLICY_NAME,
        role="peer",
        status="measured",
        version=version,
        samples=samples,
        usage=usage,
    )


class _State(msgspec.Struct):
    Running: bool = False
    Pid: int = 0
    StartedAt: str = ""
    FinishedAt: str = ""


class _Inspect(msgspec.Struct):
    Id: str
    State: _State
    RestartCount: int = 0


def _restarted(state: _Inspect, restart_count: int) -> bool:
    """Docker has restarted the container ``restart_count`` times, and its state says so
    whole (a state read mid-restart can have the new count with the old times)."""
    from fastpod.bench.podman import rfc3339_seconds

    if state.RestartCount < restart_count or not state.State.Running:
        return False
    if not state.State.StartedAt or not state.State.FinishedAt:
        return False
    return rfc3339_seconds(state.State.StartedAt) > rfc3339_seconds(state.State.FinishedAt)


async def _policy_rounds(bench: Bench) -> tuple[list[Sample], str]:
    from fastpod.bench.floors import SANDBOX_TYPE
    from fastpod.bench.podman import rfc3339_seconds
    from fastpod.runtime.labels import MANAGED_BY, POD_NAME, POD_NAMESPACE

    options = bench.options
    engine = Engine(options.target.docker_socket)
    names = [
        f"{name}-{container}"
        for name in bench.pod_names(options.pods, "restart-policy")
        for container in container_names(options.containers)
    ]
    decoder = msgspec.json.Decoder(_Inspect)

    async def make(name: str) -> str:
        body = {
            "Image": options.image,
            "Cmd": list(options.command) or None,
            "Labels": {
                MANAGED_BY: "true",
                POD_NAMESPACE: bench.namespace,
                POD_NAME: name,
                SANDBOX_TYPE: "container",
            },
            "HostConfig": {"NetworkMode": "none", "RestartPolicy": {"Name": "always"}},
        }
        _, payload = await engine.call("POST", "/containers/create", body)
        container_id = str(msgspec.json.decode(payload)["Id"])
        await engine.call("POST", f"/containers/{container_id}/start")
        return container_id

    async def inspect(container_id: str) -> _Inspect:
        _, payload = await engine.call("GET", f"/containers/{container_id}/json")
        return decoder.decode(payload)

    samples: list[Sample] = []
    try:
        _, payload = await engine.call("GET", "/version")
        version = f"docker {msgspec.json.decode(payload).get('Version', '')}"
        ids = dict(zip(await asyncio.gather(*(make(n) for n in names)), names, strict=True))
        for restart_count in range(1, options.rounds + 1):
            if bench.interrupted():
                break
            label = f"{POLICY_NAME}: {restart_kind(restart_count)}s (round {restart_count})"
            progress = Progress(bench.stream, label, len(ids))
            killed = {
                state.Id: _kill(state.State.Pid)
                for state in await asyncio.gather(*(inspect(i) for i in ids))
            }
            deadline = time.monotonic() + options.timeout
            done: dict[str, _Inspect] = {}
            while len(done) < len(ids) and not bench.interrupted():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{label}: Docker did not restart every container")
                await asyncio.sleep(POLL)
                for state in await asyncio.gather(*(inspect(i) for i in ids if i not in done)):
                    if _restarted(state, restart_count):
                        done[state.Id] = state
                    elif not killed[state.Id] and state.State.Running:
                        # Docker showed a pid that was gone (the instance it had just
                        # restarted, not yet updated): the kill missed, and is sent again
                        killed[state.Id] = _kill(state.State.Pid)
                progress.update(len(done))
            progress.finish(len(done))
            for container_id, state in done.items():
                samples.append(
                    Sample(
                        pod=f"{bench.namespace}/{ids[container_id]}",
                        kind=restart_kind(restart_count),
                        begin=rfc3339_seconds(state.State.FinishedAt) - bench.origin,
                        end=rfc3339_seconds(state.State.StartedAt) - bench.origin,
                    )
                )
    finally:
        await engine.close()
    return sorted(samples, key=lambda sample: sample.end), version
