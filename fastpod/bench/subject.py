"""The ``fastpod run`` a bench measures: a child process in a workspace of its own.

It runs with its own manifest directory, root directory, pod log directory and temporary
directory, all under the bench's workspace, in a session of its own so that a Ctrl-C at
the terminal reaches the bench alone, which then cleans up in order (pods first, then this
process). Its JSON log is copied to a file and the lines the scenarios need are kept: the
log says when each pod was first seen and when each container started, with the time of
the event, not of the reading.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psutil

KEPT_EVENTS = (
    b'"event":"pod added"',
    b'"event":"container started"',
    b'"event":"container exited"',
    b'"event":"pod stopped"',
    b'"event":"fastpod ready"',
)
"""The log lines decoded and kept; the rest are only copied to the log file."""

STOP_TIMEOUT = 15.0
"""Seconds fastpod gets to stop after SIGTERM before it is killed."""


class SubjectError(Exception):
    """fastpod did not do what the bench waits for; the message says where its log is."""


def process_tree(pid: int) -> list[psutil.Process]:
    """The process ``pid`` and its children, those alive now; none once it has exited."""
    try:
        process = psutil.Process(pid)
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class MeasuredFastpod(Protocol):
    """The fastpod a scenario measures: a bench's own (:class:`Subject`), or one already
    running (``--server``). :attr:`records` are its log's records the scenarios read
    (``pod added``, ``container started``, ``pod stopped``, ...), in order."""

    records: list[dict[str, Any]]
    log_path: str

    def events(self, event: str) -> list[dict[str, Any]]: ...

    def wait(
        self,
        condition: Callable[[], bool],
        timeout: float,
        what: str,
        interrupted: Callable[[], bool],
        tick: Callable[[], None] = ...,
    ) -> None: ...

    def processes(self) -> list[psutil.Process]: ...

    def alive(self) -> bool: ...

    def stop(self) -> None: ...


@dataclass
class Workspace:
    """The directories of one bench run's fastpod, under ``root``; its manifests under it
    too, unless a running fastpod's directory is given."""

    root: str
    manifests: str = ""

    def __post_init__(self) -> None:
        for name in ("manifests", "root", "logs", "tmp"):
            os.makedirs(os.path.join(self.root, name), exist_ok=True)
        self.manifests = self.manifests or os.path.join(self.root, "manifests")

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)


SOCKET_PATH_ROOM = 60
"""The longest temporary directory fastpod's run directory (its Unix sockets, whose paths
may not exceed 107 bytes) can go under."""


def _child_temporary(workspace: Workspace) -> str:
    """The workspace's own temporary directory when its sockets' paths fit there, else
    the system's (fastpod removes its run directory when it stops)."""
    own = workspace.path("tmp")
    return own if len(own) <= SOCKET_PATH_ROOM else "/tmp"


class Subject:
    """``fastpod run --log-format json`` over the workspace, its log read as it comes."""

    def __init__(
        self,
        workspace: Workspace,
        runtime: str,
        log_path: str,
        extra: Sequence[str] = (),
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "fastpod",
            "run",
            "--runtime",
            runtime,
            "--pod-manifest-path",
            workspace.manifests,
            "--root-dir",
            workspace.path("root"),
            "--pod-logs-dir",
            workspace.path("logs"),
            "--log-format",
            "json",
            "--read-only-port",
            "0",
            "--healthz-port",
            "0",
            *extra,
        ]
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed by stop)
        environment = {**os.environ, "TMPDIR": _child_temporary(workspace)}
        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, env=environment, start_new_session=True
        )
        self.records: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self._log.write(raw)
            if not any(marker in raw for marker in KEPT_EVENTS):
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            with self._changed:
                self.records.append(record)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def events(self, event: str) -> list[dict[str, Any]]:
        """The kept records of ``event``, in the order logged."""
        with self._changed:
            return [record for record in self.records if record.get("event") == event]

    def wait(
        self,
        condition: Callable[[], bool],
        timeout: float,
        what: str,
        interrupted: Callable[[], bool],
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        """Until ``condition()`` holds, calling ``tick`` between looks; SubjectError when
        ``timeout`` passes or fastpod exits; return early once ``interrupted()``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                if interrupted():
                    return
                if self.process.poll() is not None:
                    raise SubjectError(
                        f"fastpod exited ({self.process.returncode}) before {what}; "
                        f"its log: {self.log_path}"
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SubjectError(
                        f"{what} did not happen within {timeout:g} s; fastpod's log: "
                        f"{self.log_path}"
                    )
                self._changed.wait(min(remaining, 0.1))
                tick()

    def alive(self) -> bool:
        return self.process.poll() is None

    def processes(self) -> list[psutil.Process]:
        """The supervisor and its children, those alive now."""
        return process_tree(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time; then SIGKILL any of its
        children that outlived it (psutil knows them by pid and start time, so a pid used
        again by another process is left alone)."""
        children = self.processes()[1:]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for child in children:
            with contextlib.suppress(psutil.Error):
                child.kill()
        self._reader.join(5)
        self._log.close()
