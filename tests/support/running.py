"""A real ``fastpod run`` in a child process, observed through its JSON log lines.

The end-to-end tests drive fastpod as an operator would (files, signals, ``kill -9``) and
read what it decided from its log, which says every decision: the pods each worker holds
are replayed from the ``pod added`` / ``updated`` / ``removed`` lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import psutil

from tests.support.pods import NODE

Record = dict[str, Any]


class RunningFastpod:
    """``python -m fastpod run --log-format json ...``, with its log collected as it comes."""

    def __init__(
        self,
        arguments: Sequence[str],
        *,
        workers: int = 2,
        runtime: str = "fake",
        api_port: int | None = 0,
        healthz_port: int | None = 0,
        environment: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command``, when given, is run as it is (the other settings then unused): a
        unit's exact command line, behind whatever sets up its namespaces."""
        command = (
            list(command)
            if command is not None
            else [
                sys.executable,
                "-m",
                "fastpod",
                "run",
                "--hostname-override",
                NODE,
                "--workers",
                str(workers),
                "--log-format",
                "json",
                "--runtime",
                runtime,
                *(() if api_port is None else ("--read-only-port", str(api_port))),
                # off unless asked: tests running side by side would all want 10248
                *(() if healthz_port is None else ("--healthz-port", str(healthz_port))),
                *arguments,
            ]
        )
        self.api_port = api_port or 0
        self.healthz_port = healthz_port or 0
        env = None if environment is None else {**os.environ, **environment}
        self.process = subprocess.Popen(command, stderr=subprocess.PIPE, env=env)
        self.records: list[Record] = []
        self.raw_lines: list[bytes] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.raw_lines.append(line)
                with contextlib.suppress(ValueError):
                    self.records.append(json.loads(line))
                self._changed.notify_all()

    def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``condition()`` holds; fail with the log so far if it does not."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    log = b"".join(self.raw_lines[-60:]).decode(errors="replace")
                    raise AssertionError(f"condition not met in {timeout} s; log:\n{log}")
                self._changed.wait(min(remaining, 0.1))

    def events(self, event: str, **fields: Any) -> list[Record]:
        """The records of ``event`` whose fields match ``fields``."""
        with self._changed:
            return [
                record
                for record in self.records
                if record.get("event") == event
                and all(record.get(key) == value for key, value in fields.items())
            ]

    def wait_for_event(self, event: str, count: int = 1, **fields: Any) -> list[Record]:
        """Wait for ``count`` records of ``event`` matching ``fields``."""
        self.wait_for(lambda: len(self.events(event, **fields)) >= count)
        return self.events(event, **fields)

    def desired(self) -> dict[str, str]:
        """Pod key → UID of every pod some worker holds now, replayed from the log."""
        pods: dict[str, str] = {}
        with self._changed:
            records = list(self.records)
        for record in records:
            event = record.get("event")
            if event in ("pod added", "pod updated"):
                pods[record["pod"]] = record["uid"]
            elif event == "pod removed" and pods.get(record["pod"]) == record["uid"]:
                del pods[record["pod"]]
        return pods

    def mark(self) -> int:
        """A position in the log; :meth:`since` gives what came after it."""
        with self._changed:
            return len(self.records)

    def since(self, mark: int, event: str | None = None) -> list[Record]:
        """Records after ``mark``, of ``event`` if given."""
        with self._changed:
            later = self.records[mark:]
        return [record for record in later if event is None or record.get("event") == event]

    def child_pid(self, name: str) -> int:
        """The pid of the live child process called ``name`` (``watcher``, ``worker-0``...)."""
        started = self.events("process started", process=name)
        assert started, f"{name} has not started"
        return int(started[-1]["pid"])

    def children(self) -> list[psutil.Process]:
        """The supervisor's live child processes."""
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def get(self, path: str, timeout: float = 10.0, port: int | None = None) -> tuple[int, bytes]:
        """``GET path`` from the read-only API (or ``port``): the status and the body."""
        url = f"http://127.0.0.1:{port or self.api_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def served_pods(self) -> dict[str, Record]:
        """The pods ``/pods`` serves now, by name (``<pod>-node1``), as JSON documents."""
        status, body = self.get("/pods")
        assert status == 200, body
        return {pod["metadata"]["name"]: pod for pod in json.loads(body)["items"]}

    def wait_for_api(self) -> None:
        """Wait until the read-only API listens."""
        self.wait_for_event("API listening")

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the supervisor."""
        self.process.send_signal(signum)

    def stop(self) -> int:
        """SIGTERM the supervisor and wait for it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(5)
        return code


def fastpod_command(*arguments: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m fastpod ARGUMENTS`` to its end: its exit status and what it printed."""
    return subprocess.run(
        [sys.executable, "-m", "fastpod", *arguments],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def fastpod_cli(root_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """A client command (``pods``, ``logs``, ...) finding the daemon run with ``root_dir``
    through the record it keeps there."""
    return fastpod_command(*arguments, "--root-dir", str(root_dir))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_atomically(path: str, body: bytes) -> None:
    """Write ``body`` to a temporary dot-file beside ``path`` and rename it over ``path``."""
    directory, name = os.path.split(path)
    temporary = os.path.join(directory, f".{name}.tmp")
    with open(temporary, "wb") as file:
        file.write(body)
    os.replace(temporary, path)
