"""``fastpod bench --server``: measuring a fastpod that already runs on the node.

The running fastpod is found as ``fastpod run`` would configure it from the flags given
(``--server '--config /etc/fastpod/kubelet.yaml'``; none: its defaults): its manifest
directory (the bench writes its pods there, and removes them), its node name (the pods'
names), its runtime, and under its root directory the record of its API (``api.json``:
the URL and the process). Its log is not the bench's to read, so what the scenarios take
from the log of a fastpod of their own comes from its API instead: ``/pods`` is polled
every :data:`POLL` seconds, and a pod is first seen when it is first listed, a container
started when it is first listed running (with its restart count), a pod stopped when it
is no longer listed, each at the time of the poll that saw it: the figures are to within
a poll of the log's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import psutil

from fastpod.bench.options import TargetSettings
from fastpod.bench.subject import SubjectError, process_tree

POLL = 0.1
"""Seconds between two listings of the server's pods."""
ANSWER_TIMEOUT = 10.0


@dataclass(frozen=True)
class ServerSettings:
    """Where the running fastpod takes its pods and answers."""

    flags: tuple[str, ...]
    manifests: str
    """Its manifest directory, where the bench writes its pods."""
    url: str
    """Its API's base URL."""
    pid: int
    node: str
    target: TargetSettings


def server_settings(flags_text: str) -> ServerSettings:
    """The running fastpod configured by ``flags_text`` (its ``fastpod run`` flags);
    ValueError in one line if it cannot be found or measured."""
    from fastpod.api.discovery import read_record, record_path
    from fastpod.config.options import add_run_command, run_config
    from fastpod.config.settings import ConfigError

    try:
        flags = tuple(shlex.split(flags_text))
    except ValueError as error:
        raise ValueError(f"--server: {error}") from None
    parser = argparse.ArgumentParser(prog="fastpod", exit_on_error=False)
    add_run_command(parser.add_subparsers(dest="command"))
    try:
        arguments, unrecognized = parser.parse_known_args(["run", *flags])
        config = run_config(arguments, unrecognized)
    except (argparse.ArgumentError, ConfigError) as error:
        raise ValueError(f"--server {flags_text!r}: {error}") from None
    except SystemExit:
        raise ValueError(f"--server {flags_text!r}: not fastpod run's flags") from None
    manifests = config.pod_manifest_path
    if manifests is None or not os.path.isdir(manifests):
        raise ValueError(
            f"--server: the running fastpod's manifest path is not a directory the bench can "
            f"write its pods to: {manifests}"
        )
    record = read_record(config.root_dir)
    if record is None:
        raise ValueError(
            f"--server: no running fastpod has published its API at "
            f"{record_path(config.root_dir)} (is it running with --root-dir "
            f"{config.root_dir}, and its read-only port on?)"
        )
    return ServerSettings(
        flags=flags,
        manifests=manifests,
        url=record.url.rstrip("/"),
        pid=record.pid,
        node=config.node_name,
        target=TargetSettings(
            config.runtime, config.docker_socket, config.container_runtime_endpoint
        ),
    )


class _State(msgspec.Struct):
    running: dict[str, Any] | None = None


class _ContainerStatus(msgspec.Struct, rename="camel"):
    name: str
    state: _State = msgspec.field(default_factory=_State)
    restart_count: int = 0


class _Status(msgspec.Struct, rename="camel"):
    container_statuses: list[_ContainerStatus] | None = None


class _Metadata(msgspec.Struct):
    name: str
    namespace: str = "default"
    uid: str = ""


class _Pod(msgspec.Struct):
    metadata: _Metadata
    status: _Status = msgspec.field(default_factory=_Status)


class _PodList(msgspec.Struct):
    items: list[_Pod] | None = None


class ServerSubject:
    """The running fastpod, seen through its API as a bench's own is through its log:
    :attr:`records` of ``pod added``, ``container started`` and ``pod stopped`` for the
    pods of ``namespace``."""

    def __init__(self, settings: ServerSettings, namespace: str) -> None:
        self.settings = settings
        self.namespace = namespace
        self.log_path = f"{settings.url}/pods"
        self.records: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._listed: dict[str, str] = {}
        """By pod uid: its key, for the pods listed at the last poll."""
        self._started: set[tuple[str, str, int]] = set()
        self._stopping = threading.Event()
        self._decoder = msgspec.json.Decoder(_PodList)
        self.error: str | None = None
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stopping.is_set():
            began = time.monotonic()
            try:
                with urllib.request.urlopen(self.log_path, timeout=ANSWER_TIMEOUT) as reply:
                    listing = self._decoder.decode(reply.read())
                self._see(listing, time.time())
            except (OSError, urllib.error.URLError, msgspec.DecodeError) as error:
                self.error = f"{self.log_path}: {error}"
            self._stopping.wait(max(0.0, began + POLL - time.monotonic()))

    def _see(self, listing: _PodList, now: float) -> None:
        moment = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        seen: list[dict[str, Any]] = []
        listed: dict[str, str] = {}
        for pod in listing.items or []:
            if pod.metadata.namespace != self.namespace:
                continue
            key = f"{pod.metadata.namespace}/{pod.metadata.name}"
            listed[pod.metadata.uid] = key
            if pod.metadata.uid not in self._listed:
                seen.append({"event": "pod added", "pod": key, "time": moment})
            for status in pod.status.container_statuses or []:
                instance = (pod.metadata.uid, status.name, status.restart_count)
                if status.state.running is not None and instance not in self._started:
                    self._started.add(instance)
                    seen.append(
                        {
                            "event": "container started",
                            "pod": key,
                            "container": status.name,
                            "restart_count": status.restart_count,
                            "time": moment,
                        }
                    )
        for uid, key in self._listed.items():
            if uid not in listed:
                seen.append({"event": "pod stopped", "pod": key, "time": moment})
        self._listed = listed
        self.error = None
        with self._changed:
            self.records.extend(seen)
            self._changed.notify_all()

    def events(self, event: str) -> list[dict[str, Any]]:
        """The records of ``event``, in the order seen."""
        with self._changed:
            return [record for record in self.records if record.get("event") == event]

    def alive(self) -> bool:
        return psutil.pid_exists(self.settings.pid)

    def wait(
        self,
        condition: Callable[[], bool],
        timeout: float,
        what: str,
        interrupted: Callable[[], bool],
        tick: Callable[[], None] = lambda: None,
    ) -> None:
        """Until ``condition()`` holds, calling ``tick`` between looks; SubjectError when
        ``timeout`` passes or the server has gone; return early once ``interrupted()``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                if interrupted():
                    return
                if not self.alive():
                    raise SubjectError(f"the running fastpod (pid {self.settings.pid}) exited")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    trouble = f" (last listing: {self.error})" if self.error else ""
                    raise SubjectError(f"{what} did not happen within {timeout:g} s{trouble}")
                self._changed.wait(min(remaining, POLL))
                tick()

    def processes(self) -> list[psutil.Process]:
        """The server's process and its children, those alive now."""
        return process_tree(self.settings.pid)

    def stop(self) -> None:
        """Stop looking; the server itself runs on."""
        self._stopping.set()
        self._poller.join(ANSWER_TIMEOUT + 1)
