"""Scenario 7: the read-only API under abuse.

A ``fastpod run --runtime fake`` with a few pods (their logs written where a runtime would
write them) runs with the open-file limit a systemd service gets by default (1,024), and
its API is given, in turn:

1. **malformed requests** on raw sockets: garbage, no ``Host``, a bad version, a NUL or
   a non-ASCII byte in the target, a header without a colon, a request line of 1 MiB,
   a megabyte of headers, 10,000 headers, a body on a GET, a smuggling pair of
   ``Content-Length`` and ``Transfer-Encoding``, other methods, a hundred pipelined
   requests in one write;
2. **path traversal** on ``/containerLogs``: ``..`` plain, percent-encoded and
   double-encoded, in every segment and in the query, an encoded ``/``, a NUL, and
   symlinks planted in the logs directory pointing outside it (a container directory
   of the pod, a whole pod directory of a pod that does not exist);
3. **slow clients** (slowloris): ``slow`` connections opened at once, each sending its
   request head a byte at a time, more than the process may have files open;
4. **1,000 concurrent** ``GET /pods``, each connection of its own.

Throughout, and after each part, ``/healthz`` (the health port) and ``/pods`` (the API)
must answer; the supervisor must live; its RSS is sampled (before, the highest, after);
no answer may hold a byte of the canary file outside the logs directory, and an inotify
watch on that directory must see it never opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from inotify_simple import INotify  # type: ignore[import-untyped]
from inotify_simple import flags as Flags

from bench.chaos.fuzz import Log
from bench.chaos.harness import Record, pod_manifest
from bench.chaos.invariants import LOG, LOST, Violation
from tests.support.pods import NODE
from tests.support.running import free_port

OPEN_FILES = 1024
"""The open-file limit fastpod runs with: systemd's default soft ``LimitNOFILE``."""
PODS = 2
LOG_LINES = 5000
ANSWER_TIMEOUT = 15.0
"""Seconds a health check may take while the API is abused before it counts as unanswered."""


@dataclass(frozen=True, slots=True)
class Sizes:
    """How hard to abuse."""

    concurrent: int = 1000
    slow: int = 2000
    slow_seconds: float = 75.0
    """How long the slow clients hold their connections (past the 60 s idle timeout)."""
    rounds: int = 3
    """How many times the malformed and traversal requests are sent."""


QUICK = Sizes(concurrent=200, slow=1200, slow_seconds=5.0, rounds=1)


class Canary:
    """A file outside the logs directory, and a watch that sees it opened."""

    def __init__(self, work: Path) -> None:
        self.directory = work / "outside"
        self.directory.mkdir()
        self.secret = f"CANARY-{secrets.token_hex(8)}"
        self.path = self.directory / "secret.log"
        self.path.write_text(
            "".join(f"2026-12-03T00:00:00Z stdout F {self.secret} {i}\n" for i in range(10))
        )
        self._watch = INotify()
        self._watch.add_watch(str(self.directory), Flags.OPEN | Flags.ACCESS)

    def opened(self) -> int:
        """How many times anything opened or read a file there since the last look."""
        return len(self._watch.read(timeout=0))

    def close(self) -> None:
        self._watch.close()


class Fastpod:
    """``fastpod run --runtime fake`` with pods whose logs exist, its log and its ports."""

    def __init__(self, work: Path, log: Log) -> None:
        self.work = work
        self.log = log
        self.manifests = work / "manifests"
        self.manifests.mkdir()
        self.logs = work / "logs" / "pods"
        for index in range(PODS):
            (self.manifests / f"web-{index}.yaml").write_bytes(pod_manifest(f"web-{index}", 1))
        self.api_port, self.healthz_port = free_port(), free_port()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "fastpod", "run", "--runtime", "fake",
                "--hostname-override", NODE, "--workers", "2", "--log-format", "json",
                "--read-only-port", str(self.api_port),
                "--healthz-port", str(self.healthz_port),
                "--pod-manifest-path", str(self.manifests),
                "--root-dir", str(work / "root"), "--pod-logs-dir", str(self.logs),
                "--cluster-dns", "10.96.0.10",
            ],
            stderr=log.path.open("wb"),
            preexec_fn=_open_files_limit,
        )  # fmt: skip
        self.uids: dict[str, str] = {}

    def start(self) -> None:
        keys = [f"default/web-{index}-{NODE}" for index in range(PODS)]
        if not self.log.wait(lambda: self.log.url and all(k in self.log.pods for k in keys), 60):
            raise RuntimeError("fastpod did not start its pods")
        self.uids = {key: self.log.pods[key] for key in keys}

    def write_logs(self, canary: Canary) -> None:
        """Each pod's container log where the runtime would write it; and symlinks out of
        the logs directory where no request should lead."""
        for key, uid in self.uids.items():
            namespace, name = key.split("/")
            pod_dir = self.logs / f"{namespace}_{name}_{uid}"
            (pod_dir / "main").mkdir(parents=True, exist_ok=True)
            (pod_dir / "main" / "0.log").write_text(
                "".join(f"2026-12-03T00:00:00Z stdout F line {i}\n" for i in range(LOG_LINES))
            )
            (pod_dir / "outside").symlink_to(canary.directory)
            (pod_dir / "main" / "secret.log").symlink_to(canary.path)
        ghost = self.logs / f"default_ghost-{NODE}_0123456789abcdef0123456789abcdef" / "main"
        ghost.mkdir(parents=True)
        (ghost / "0.log").symlink_to(canary.path)
        (self.logs / "escape").symlink_to(canary.directory)

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)

    def files(self) -> int:
        return len(psutil.Process(self.process.pid).open_files()) + len(
            psutil.Process(self.process.pid).net_connections()
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _open_files_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, hard))


# --- requests -----------------------------------------------------------------------------


async def exchange(port: int, data: bytes, timeout: float = ANSWER_TIMEOUT) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it or the
    timeout; what came back (empty if nothing)."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    answer = b""
    try:
        writer.write(data)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError):
            async with asyncio.timeout(timeout):
                while chunk := await reader.read(65536):
                    answer += chunk
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return answer


def get(path: str, headers: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n".encode()


def status_of(answer: bytes) -> str:
    """``200``, ``404``... or ``closed`` for a connection closed without an answer."""
    if not answer.startswith(b"HTTP/1.1 "):
        return "closed" if not answer else "garbage"
    return answer[9:12].decode()


MALFORMED: tuple[tuple[str, bytes], ...] = (
    ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256))),
    ("empty line", b"\r\n\r\n"),
    ("no Host", b"GET /pods HTTP/1.1\r\n\r\n"),
    ("bad version", b"GET /pods HTTP/7.2\r\nHost: x\r\n\r\n"),
    ("HTTP/0.9", b"GET /pods\r\n\r\n"),
    ("NUL in the target", b"GET /po\x00ds HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("non-ASCII target", "GET /pöds HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    ("header without a colon", b"GET /pods HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"),
    ("request line of 1 MiB", b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("1 MiB of headers", get("/pods", "X-Big: " + "b" * (1 << 20) + "\r\n")),
    ("10,000 headers", get("/pods", "".join(f"X-{i}: v\r\n" for i in range(10_000)))),
    ("a body on a GET", get("/healthz", "Content-Length: 5\r\n") + b"hello"),
    ("a body announced, never sent",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nhel"),
    ("Content-Length and Transfer-Encoding",
     b"GET /pods HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("negative Content-Length", b"GET /pods HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
    ("POST", get("/pods", "Content-Length: 2\r\n").replace(b"GET", b"POST", 1) + b"{}"),
    ("DELETE", get("/pods").replace(b"GET", b"DELETE", 1)),
    ("CONNECT", get("127.0.0.1:22").replace(b"GET", b"CONNECT", 1)),
    ("OPTIONS *", get("*").replace(b"GET", b"OPTIONS", 1)),
    ("absolute-form target", b"GET http://evil/pods HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("100 pipelined requests", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 99 + get("/healthz")),
)  # fmt: skip
"""Each sent on a connection of its own; fastpod must answer (an error) or close it."""


def traversals(pod: str) -> list[str]:
    """Paths that try to read outside the logs directory through ``/containerLogs``."""
    base = f"/containerLogs/default/{pod}"
    targets = [
        "/containerLogs/../../../etc/passwd",
        "/containerLogs/default/../../../../etc/passwd",
        f"{base}/main/../../../../etc/passwd",
        f"{base}/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"{base}/%2e%2e%2f%2e%2e%2fescape%2fsecret.log",
        f"{base}/%252e%252e%252f%252e%252e%252fescape",
        f"{base}/..%252f..%252f..%252fescape",
        "/containerLogs/%2e%2e/%2e%2e/escape",
        "/containerLogs/default/%2e%2e%2fescape/main",
        "/containerLogs/..%2F..%2F..%2Foutside/x/secret.log",
        f"{base}/outside",
        f"{base}/outside%2Fsecret.log",
        f"{base}/main%2Fsecret.log",
        f"{base}/main%2F..%2Fmain%2Fsecret.log",
        f"{base}/main%00.log",
        f"{base}/main?tailLines=../../escape",
        f"{base}/main?previous=true",
        f"{base}/main?tailLines=99999999999999999999999999",
        f"{base}/main?follow=..%2F..",
        f"/containerLogs/default/ghost-{NODE}/main",
        f"/containerLogs/default%2F{pod}/x/main",
        f"/containerLogs/default/{pod}%2F..%2F..%2Fescape/main",
        f"//containerLogs//default//{pod}//main",
        f"/containerLogs/default/{pod}/main/",
        f"/containerLogs/default/{pod}/main/%2e%2e",
        "/fastpod/v1/pods/..%2F..%2F/escape",
        "/%2e%2e/%2e%2e/etc/passwd",
    ]
    return targets


# --- the scenario ---------------------------------------------------------------------------


class Abuse:
    """What the parts share: the server, the canary, the figures."""

    def __init__(self, fastpod: Fastpod, canary: Canary, record: Record) -> None:
        self.fastpod = fastpod
        self.canary = canary
        self.record = record
        self.statuses: Counter[str] = Counter()
        self.requests = 0
        self.rss_highest = 0

    def sample(self) -> None:
        if self.fastpod.alive():
            self.rss_highest = max(self.rss_highest, self.fastpod.rss())

    async def send(self, what: str, port: int, data: bytes) -> bytes:
        self.requests += 1
        try:
            answer = await exchange(port, data)
        except OSError as error:
            self.record.add([Violation(LOST, f"{what}: cannot connect: {error}")], "connect")
            return b""
        self.statuses[f"{what}: {status_of(answer)}"] += 1
        if self.canary.secret.encode() in answer or b"root:x:0:0" in answer:
            self.record.add([Violation(LOG, f"{what}: answered with a file outside")], "read")
        return answer

    async def answering(self, when: str) -> bool:
        """``/healthz`` on the health port and ``/pods`` on the API both answer 200."""
        self.sample()
        found = []
        for port, path in (
            (self.fastpod.healthz_port, "/healthz"),
            (self.fastpod.api_port, "/pods"),
        ):
            began = time.monotonic()
            try:
                answer = await exchange(port, get(path))
            except OSError as error:
                answer = str(error).encode()
            self.requests += 1
            if status_of(answer) != "200":
                waited = time.monotonic() - began
                found.append(Violation(LOST, f"{path}: {answer[:120]!r} after {waited:.1f} s"))
        self.record.add(found, when)
        self.record.checks += 1
        return not found

    async def malformed(self) -> None:
        """Every malformed request at once, on each port (one holds its connection for the
        whole request timeout)."""
        await asyncio.gather(
            *(self.send(what, self.fastpod.api_port, data) for what, data in MALFORMED),
            *(
                self.send(f"{what} (health port)", self.fastpod.healthz_port, data)
                for what, data in MALFORMED
            ),
        )
        await self.answering("after malformed requests")

    async def traversal(self) -> None:
        pod = f"web-0-{NODE}"
        for target in traversals(pod):
            await self.send(target, self.fastpod.api_port, get(target))
        answer = await self.send("the real log", self.fastpod.api_port,
                                 get(f"/containerLogs/default/{pod}/main?tailLines=3"))  # fmt: skip
        if f"line {LOG_LINES - 1}\n".encode() not in answer:
            self.record.add([Violation(LOST, f"the real log: {answer[-200:]!r}")], "logs")
        opened = self.canary.opened()
        if opened:
            self.record.add([Violation(LOG, f"{opened} opens outside the logs directory")], "read")
        await self.answering("after traversal attempts")

    async def slowloris(self, count: int, seconds: float) -> None:
        """``count`` connections trickling a request head; the server must keep answering."""
        stop = asyncio.Event()
        held: Counter[str] = Counter()

        async def slow_client() -> None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.fastpod.api_port)
            except OSError:
                held["refused"] += 1
                return
            held["opened"] += 1
            head = get("/pods")
            try:
                for byte in head[:-2]:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(2.0):
                            await stop.wait()
                    if stop.is_set():
                        held["held to the end"] += 1
                        break
                    if reader.at_eof():
                        held["closed by fastpod"] += 1
                        break
                else:
                    held["sent a whole head"] += 1
            except ConnectionError:
                held["closed by fastpod"] += 1
            finally:
                writer.close()
                with contextlib.suppress(ConnectionError):
                    await writer.wait_closed()

        clients = [asyncio.create_task(slow_client()) for _ in range(count)]
        await asyncio.sleep(1.0)
        ends = time.monotonic() + seconds
        while time.monotonic() < ends:
            await self.answering("during slow clients")
            await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*clients)
        self.requests += count
        self.record.figures["slow clients"] = dict(held)
        await asyncio.sleep(1.0)
        await self.answering("after slow clients")

    async def concurrent_pods(self, count: int) -> None:
        async def one() -> str:
            try:
                return status_of(await exchange(self.fastpod.api_port, get("/pods"), 60.0))
            except OSError as error:
                return type(error).__name__

        results = Counter(await asyncio.gather(*(one() for _ in range(count))))
        self.sample()
        self.requests += count
        self.record.figures["concurrent /pods"] = dict(results)
        if results["200"] != count:
            self.record.add([Violation(LOST, f"{count} concurrent /pods: {dict(results)}")],
                            "concurrent")  # fmt: skip
        await self.answering("after concurrent /pods")


def run(seed: int, sizes: Sizes, work: Path, record: Record) -> None:
    """Scenario 7; fills ``record``."""
    record.sizes = {
        "concurrent": sizes.concurrent, "slow": sizes.slow, "slow_seconds": sizes.slow_seconds,
        "rounds": sizes.rounds, "open_files": OPEN_FILES,
    }  # fmt: skip
    log = Log(work / "fastpod.log")
    canary = Canary(work)
    fastpod = Fastpod(work, log)
    abuse = Abuse(fastpod, canary, record)
    began = time.monotonic()
    try:
        fastpod.start()
        fastpod.write_logs(canary)
        canary.opened()  # the files just written
        rss_before = fastpod.rss()
        parts: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = []
        for _ in range(sizes.rounds):
            parts += [("malformed", abuse.malformed), ("traversal", abuse.traversal)]
        parts += [
            ("slow clients", lambda: abuse.slowloris(sizes.slow, sizes.slow_seconds)),
            ("concurrent /pods", lambda: abuse.concurrent_pods(sizes.concurrent)),
            ("traversal", abuse.traversal),
        ]
        took: dict[str, float] = {}
        for name, part in parts:
            started = time.monotonic()
            asyncio.run(part())
            took[name] = round(took.get(name, 0.0) + time.monotonic() - started, 1)
            record.faults[name] += 1
            if not fastpod.alive():
                break
        rss_after = fastpod.rss() if fastpod.alive() else 0
        record.figures.update(
            requests=abuse.requests,
            rss_before_mb=round(rss_before / 2**20, 1),
            rss_highest_mb=round(abuse.rss_highest / 2**20, 1),
            rss_after_mb=round(rss_after / 2**20, 1),
            answers=dict(abuse.statuses),
            seconds=dict(took),
        )
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        alive = fastpod.alive()
        fastpod.stop()
        canary.close()
        log.read()
        record.log = log.path.read_bytes()
    _account(record, log, alive)


def _account(record: Record, log: Log, alive: bool) -> None:
    record.log_events = log.warnings
    record.figures["tracebacks"] = len(log.unparsed) + len(log.tracebacks)
    record.figures["process deaths"] = len(log.deaths) + (0 if alive else 1)
    for line in log.unparsed[:20]:
        record.add([Violation(LOG, line[:600])], "log line not a record")
    for entry in log.tracebacks[:20]:
        record.add([Violation(LOG, str(entry.get("traceback"))[-600:])], str(entry.get("event")))
    for death in log.deaths:
        record.add([Violation(LOG, json.dumps(death))], "process died")
    if not alive:
        record.add([Violation(LOG, "the supervisor exited")], "end")
