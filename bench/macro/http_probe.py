"""httpGet probes at 1,000 a second: the CPU of fastpod's processes beside a bare client's.

    python -m bench.macro.http_probe                       # 10,000 pods, period 10 s, 60 s
    python -m bench.macro.http_probe --pods 1000 --seconds 10

A real ``fastpod run --runtime fake --profile dense`` (the fake's pods share the host's
network) holds ``--pods`` hostNetwork pods, each with an ``httpGet`` liveness probe on
``127.0.0.1`` every ``--period`` seconds, spread over a few local HTTP servers
(``--servers`` processes, one port each: a plain asyncio server answering ``200`` and
closing the connection; their CPU is not counted). A liveness probe, because its first run
waits a random part of the period, as the kubelet's does, so the probes of pods started
together spread evenly over the period; a readiness probe runs at once when its container
starts, so 10,000 pods started within seconds would probe in step. Once every container
runs and a period has passed, the CPU (user + system, from ``/proc``) of every fastpod
process is taken over ``--seconds`` (by default one resync period of the ``dense``
profile, so that every periodic work of fastpod is in the window once), with the requests
the servers answered meanwhile.

The floor: a bare asyncio client on uvloop (as fastpod's processes run), in a process of
its own, making the same requests at the same rate: one task per pod, the pods' phases
spread evenly over the period, a new connection per request (the kubelet's prober disables
keep-alive), the same request bytes (the servers compare them), the whole response read,
within the probe's timeout. Its CPU is taken the same way, over a window as long.

Targets (issue 13): fastpod at most 1.5 times the floor, and at most 25 % of one core in
all. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import psutil
import uvloop

from bench.macro.api import free_port, get
from bench.macro.pipeline import Fastpod

PODS = 10_000
PERIOD = 10
SECONDS = 60.0
SERVERS = 2
WORKERS = 2
TIMEOUT = 1
"""The probes' ``timeoutSeconds`` (the API's default)."""
FASTPOD_ARGS = "--profile dense"
"""The profile for 10,000 pods: each pod resynced every minute, not every 10 s."""
PATH = "/healthz"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
STARTED = b'"event":"container started"'
TARGET_RATIO = 1.5
TARGET_CORE = 0.25
FORK = multiprocessing.get_context("fork")


def probed_manifest(index: int, port: int, period: int) -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: probed-{index:05d}
  namespace: kube-system
spec:
  hostNetwork: true
  containers:
  - name: main
    image: registry.k8s.io/pause:3.10
    livenessProbe:
      httpGet:
        host: 127.0.0.1
        path: {PATH}
        port: {port}
      periodSeconds: {period}
      timeoutSeconds: {TIMEOUT}
"""


def request_bytes(port: int) -> bytes:
    """What the kubelet (and fastpod) sends for these probes, byte for byte."""
    return (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: kube-probe/1.32\r\n"
        "Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()


# --- the servers --------------------------------------------------------------------------


class _Tally:
    """What one server process saw: requests answered (shared with the bench), and the
    distinct requests of each phase (0: fastpod, 1: the floor)."""

    def __init__(self, count: Any, phase: Any) -> None:
        self.count = count
        self.phase = phase
        self.requests: dict[int, set[bytes]] = {}

    def answered(self, request: bytes) -> None:
        self.count.value += 1
        seen = self.requests.setdefault(self.phase.value, set())
        if len(seen) < 8:
            seen.add(request)


class _Answer(asyncio.Protocol):
    """One connection: ``200 ok`` once the request's head is in, then close."""

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally
        self.received = b""
        self.transport: Any = None  # uvloop's is no asyncio.Transport, but writes as one

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received += data
        if b"\r\n\r\n" in self.received and self.transport is not None:
            self.tally.answered(self.received)
            self.transport.write(RESPONSE)
            self.transport.close()
            self.transport = None


def _serve(listener: socket.socket, count: Any, phase: Any, asked: Any) -> None:
    """A server process: answer on ``listener`` until asked for what it saw."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        tally = _Tally(count, phase)
        await loop.create_server(lambda: _Answer(tally), sock=listener, backlog=4096)
        done = loop.create_future()

        def on_question() -> None:
            if not done.done():
                done.set_result(None)

        loop.add_reader(asked.fileno(), on_question)
        await done
        asked.recv()
        asked.send(tally.requests)

    uvloop.run(main())


@dataclass
class Servers:
    """The server processes: their ports, request counters, and the pipes to ask them."""

    ports: list[int]
    counts: list[Any]
    phase: Any
    pipes: list[multiprocessing.connection.Connection]
    processes: list[Any]

    def answered(self) -> int:
        return sum(count.value for count in self.counts)

    def requests_seen(self) -> list[dict[int, set[bytes]]]:
        """Per server, the distinct requests of each phase; the servers end."""
        for pipe in self.pipes:
            pipe.send(None)
        seen = [pipe.recv() for pipe in self.pipes]
        for process in self.processes:
            process.join(5)
        return seen

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()


def start_servers(number: int) -> Servers:
    servers = Servers([], [], FORK.RawValue("i", 0), [], [])
    for _ in range(number):
        listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        count = FORK.RawValue("q", 0)
        ours, theirs = FORK.Pipe()
        process = FORK.Process(
            target=_serve, args=(listener, count, servers.phase, theirs), daemon=True
        )
        process.start()
        servers.ports.append(int(listener.getsockname()[1]))
        listener.close()
        servers.counts.append(count)
        servers.pipes.append(ours)
        servers.processes.append(process)
    return servers


# --- CPU ----------------------------------------------------------------------------------


@dataclass
class Window:
    """The CPU taken and the requests answered over one measured window."""

    seconds: float
    user: float
    system: float
    requests: int

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @property
    def core(self) -> float:
        """The CPU as a fraction of one core."""
        return self.cpu / self.seconds

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def per_request(self) -> float:
        """CPU seconds per request answered."""
        return self.cpu / self.requests if self.requests else float("nan")


def cpu_times(processes: Iterable[psutil.Process]) -> tuple[float, float]:
    """User and system CPU seconds of ``processes`` so far (every thread), from ``/proc``."""
    user = system = 0.0
    for process in processes:
        times = process.cpu_times()
        user += times.user
        system += times.system
    return user, system


def measure(processes: list[psutil.Process], servers: Servers, seconds: float) -> Window:
    (user, system), answered = cpu_times(processes), servers.answered()
    began = time.monotonic()
    time.sleep(seconds)
    (user_after, system_after), answered_after = cpu_times(processes), servers.answered()
    return Window(
        time.monotonic() - began,
        user_after - user,
        system_after - system,
        answered_after - answered,
    )


# --- fastpod ------------------------------------------------------------------------------


def write_manifests(directory: str, ports: list[int], pods: int, period: int) -> None:
    os.makedirs(directory, exist_ok=True)
    for index in range(pods):
        with open(os.path.join(directory, f"probed-{index:05d}.yaml"), "w") as file:
            file.write(probed_manifest(index, ports[index % len(ports)], period))


def _drain(fastpod: Fastpod, failures: list[bytes]) -> None:
    """Read fastpod's log to its end, keeping the failed probes' lines: no write of
    fastpod's may wait on a full pipe."""
    try:
        while True:
            failures.extend(line for line in fastpod.read_lines() if b"probe failed" in line)
    except (RuntimeError, OSError):
        return


PROBE_TOTAL = re.compile(rb"^prober_probe_total\{([^}]*)\} (\S+)$", re.MULTILINE)


def probe_totals(port: int) -> dict[str, float]:
    """``prober_probe_total`` by ``result``, from fastpod's ``/metrics``."""
    totals: dict[str, float] = {}
    for labels, value in PROBE_TOTAL.findall(get(port, "/metrics")[1]):
        found = re.search(rb'result="([^"]*)"', labels)
        result = found.group(1).decode() if found else "?"
        totals[result] = totals.get(result, 0.0) + float(value)
    return totals


@dataclass
class FastpodRun:
    window: Window
    totals: dict[str, float]
    """``prober_probe_total`` by result, over the window (read just outside it)."""
    failures_logged: list[bytes]
    """Every failed probe fastpod logged, from its start."""


def run_fastpod(
    root: str, servers: Servers, options: argparse.Namespace, say: Callable[[str], None]
) -> FastpodRun:
    directory = os.path.join(root, "manifests")
    write_manifests(directory, servers.ports, options.pods, options.period)
    port = free_port()
    extra = ["--read-only-port", str(port), *options.fastpod_args.split()]
    fastpod = Fastpod(directory, options.workers, *extra)
    failures: list[bytes] = []
    try:
        started = 0
        while started < options.pods:
            started += sum(1 for line in fastpod.read_lines() if STARTED in line)
        took = time.perf_counter() - fastpod.started
        say(f"fastpod: {started:,} containers running after {took:.1f} s")
        threading.Thread(target=_drain, args=(fastpod, failures), daemon=True).start()
        time.sleep(options.period + 2)  # every first probe waits up to a period
        before = probe_totals(port)
        say(f"fastpod: measuring {options.seconds:g} s")
        window = measure(fastpod.processes(), servers, options.seconds)
        after = probe_totals(port)
    finally:
        fastpod.stop()
    totals = {result: after[result] - before.get(result, 0.0) for result in after}
    return FastpodRun(window, totals, failures)


# --- the floor ----------------------------------------------------------------------------


def _bare_client(ports: list[int], pods: int, period: int, failures: Any) -> None:
    """The floor's process: each pod's probe every ``period`` s, the phases spread evenly."""

    async def probe(request: bytes, port: int) -> None:
        try:
            async with asyncio.timeout(TIMEOUT):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(request)
                    response = await reader.read()
                finally:
                    writer.close()
            if not response.startswith(b"HTTP/1.1 200 "):
                failures.value += 1
        except (OSError, TimeoutError):
            failures.value += 1

    async def pod(index: int) -> None:
        loop = asyncio.get_running_loop()
        port = ports[index % len(ports)]
        request = request_bytes(port)
        due = loop.time() + period * index / pods
        while True:
            await asyncio.sleep(due - loop.time())
            await probe(request, port)
            due += period

    async def main() -> None:
        await asyncio.gather(*(pod(index) for index in range(pods)))

    uvloop.run(main())


def run_floor(
    servers: Servers, options: argparse.Namespace, say: Callable[[str], None]
) -> tuple[Window, int]:
    """The bare client's window, and how many of its requests failed in all."""
    failures = FORK.RawValue("q", 0)
    client = FORK.Process(
        target=_bare_client,
        args=(servers.ports, options.pods, options.period, failures),
        daemon=True,
    )
    client.start()
    try:
        assert client.pid is not None
        time.sleep(options.period + 2)
        say(f"bare client: measuring {options.seconds:g} s")
        window = measure([psutil.Process(client.pid)], servers, options.seconds)
    finally:
        client.kill()
        client.join()
    return window, int(failures.value)


# --- the report ---------------------------------------------------------------------------


def report(
    fastpod: FastpodRun, floor: Window, floor_failures: int, same_requests: bool
) -> list[str]:
    """The figures beside the floor's, the ratio, and the targets."""
    ours = fastpod.window
    ratio = ours.cpu / floor.cpu if floor.cpu else float("nan")
    other = sum(value for result, value in fastpod.totals.items() if result != "successful")

    def met(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def side_by_side(label: str, figure: str, bare: str) -> str:
        return f"{label:<30} fastpod {figure:>10}   bare client {bare:>10}"

    return [
        side_by_side("probes/s (servers' count)", f"{ours.rate:,.1f}", f"{floor.rate:,.1f}"),
        side_by_side("CPU, % of one core", f"{ours.core:.1%}", f"{floor.core:.1%}"),
        side_by_side(
            "CPU per probe",
            f"{ours.per_request * 1e6:.0f} µs",
            f"{floor.per_request * 1e6:.0f} µs",
        ),
        side_by_side(
            "  of which system (kernel)",
            f"{ours.system / ours.cpu:.0%}",
            f"{floor.system / floor.cpu:.0%}",
        ),
        f"ratio {ratio:.2f}x the floor (target <= {TARGET_RATIO}x: {met(ratio <= TARGET_RATIO)});"
        f" fastpod {ours.core:.1%} of one core"
        f" (target <= {TARGET_CORE:.0%}: {met(ours.core <= TARGET_CORE)})",
        f"checks: prober_probe_total around the window {fastpod.totals.get('successful', 0):,.0f}"
        f" successful, {other:,.0f} other; failed probes logged from the start"
        f" {len(fastpod.failures_logged)}; bare client failures {floor_failures};"
        f" same request bytes: {'yes' if same_requests else 'NO'}",
    ]


def failure_reasons(lines: list[bytes]) -> collections.Counter[str]:
    """The failed probes' messages, ports left out, and how many had each."""
    reasons: collections.Counter[str] = collections.Counter()
    for line in lines:
        detail = json.loads(line).get("detail", "")
        reasons[re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", detail)] += 1
    return reasons


def same_requests(seen: list[dict[int, set[bytes]]]) -> bool:
    """Whether each server got one request, the same from fastpod and the bare client."""
    return all(len(each.get(0, ())) == 1 and each.get(0) == each.get(1) for each in seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=PODS, help=f"default {PODS:,}")
    parser.add_argument("--period", type=int, default=PERIOD, help=f"s (default {PERIOD})")
    parser.add_argument(
        "--seconds", type=float, default=SECONDS, help=f"measured window (default {SECONDS:g})"
    )
    parser.add_argument(
        "--servers", type=int, default=SERVERS, help=f"server processes (default {SERVERS})"
    )
    parser.add_argument(
        "--workers", type=int, default=WORKERS, help=f"fastpod's workers (default {WORKERS})"
    )
    parser.add_argument(
        "--fastpod-args",
        default=FASTPOD_ARGS,
        help=f"flags for fastpod run (default {FASTPOD_ARGS!r})",
    )
    options = parser.parse_args()

    def say(text: str) -> None:
        print(f"# {text}", flush=True)

    say(
        f"{options.pods:,} pods, period {options.period} s: {options.pods / options.period:,.0f}"
        " probes/s expected"
    )
    servers = start_servers(options.servers)
    try:
        with tempfile.TemporaryDirectory(prefix="fastpod-http-probe-") as root:
            fastpod = run_fastpod(root, servers, options, say)
        servers.phase.value = 1
        floor, floor_failures = run_floor(servers, options, say)
        seen = servers.requests_seen()
    finally:
        servers.stop()
    for line in report(fastpod, floor, floor_failures, same_requests(seen)):
        print(line, flush=True)
    for reason, count in failure_reasons(fastpod.failures_logged).most_common(5):
        say(f"fastpod: {count:,} probes failed with: {reason}")


if __name__ == "__main__":
    main()
