"""Scenario 5: the manifest URL misbehaving, over HTTPS.

fastpod polls every second with a 2 s timeout, trusting one certificate authority
(``SSL_CERT_FILE``). Each round, the server in turn:

1. serves a good PodList (**A**): its pods run;
2. is **down** (nothing listens), then **slow** (answers after the timeout, with another
   valid body), answers **500**, sends a **body over 10 MiB** (valid but for its size),
   **garbage**, a **redirect loop**, a certificate **from an unknown authority** (with
   another valid body): after each, the pods of A run on untouched;
3. **flaps** between A and **B** (one pod changed) at every poll, once with garbage in
   between: the pods follow the bodies, and change only when a new good body came (never
   more changes than bodies served; garbage between two A's changes nothing);
4. serves A again: A's pods, none restarted but the one B changed.

Every connection is closed after its answer, so each poll shakes hands anew and meets the
certificate of the moment.
"""

from __future__ import annotations

import itertools
import json
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import socket
from typing import Any

import trustme

from bench.chaos.harness import BUSYBOX, Checker, Daemon, Record, Runtime, fastpod_arguments
from bench.chaos.invariants import LOG, Violation, Wanted
from fastpod.manifest.decode import decode_pod_list
from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.manifest.problems import ManifestError
from fastpod.model import PodSource
from tests.support.pods import NODE

PODS = 6
TIMEOUT = 2.0
PROFILE = f"http_check_frequency: 1s\nhttp_timeout: {TIMEOUT:g}s\n"
EXPLAINED = {"manifest URL failed": ("url", "error")}
"""A failed poll names the URL and what failed (the first three of a streak)."""


def pod_list(versions: dict[str, int]) -> bytes:
    """A PodList of one pod per name, each at its version."""
    items = [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name},
            "spec": {
                "terminationGracePeriodSeconds": 2,
                "containers": [
                    {
                        "name": "main",
                        "image": BUSYBOX,
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"],
                        "env": [{"name": "VERSION", "value": str(version)}],
                    }
                ],
            },
        }
        for name, version in sorted(versions.items())
    ]
    return json.dumps({"apiVersion": "v1", "kind": "PodList", "items": items}).encode()


class Behaviour:
    """What the server does with the next request: a body, or a fault."""

    def __init__(self, mode: str, body: bytes = b"") -> None:
        self.mode = mode
        self.body = body


class UrlServer:
    """An HTTPS server on a fixed port that can be stopped, started and told to misbehave;
    it counts the requests it answered in each mode."""

    def __init__(self, work: Path) -> None:
        self.trusted = trustme.CA()
        self.untrusted = trustme.CA()
        self.authority_file = work / "trusted-ca.pem"
        self.trusted.cert_pem.write_to_path(str(self.authority_file))
        self.contexts = {
            "trusted": self._context(self.trusted),
            "untrusted": self._context(self.untrusted),
        }
        self.certificate = "trusted"
        self.behaviour = Behaviour("good")
        self.flap: list[bytes] = []
        """Bodies served in turn, one per request, while flapping."""
        self.answered: Counter[str] = Counter()
        self.good_bodies: list[bytes] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.start()

    @staticmethod
    def _context(authority: trustme.CA) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert("127.0.0.1").configure_cert(context)
        return context

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/pods"

    def start(self) -> None:
        """Listen (again, on the same port); nothing if it listens already."""
        if self._httpd is not None:
            return
        server = self

        class Httpd(ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def get_request(self) -> tuple[socket, Any]:
                connection, address = self.socket.accept()
                context = server.contexts[server.certificate]
                return context.wrap_socket(connection, server_side=True), address

            def handle_error(self, request: object, client_address: object) -> None:
                """A client that gave up or refused the certificate: expected here."""

        httpd = Httpd(("127.0.0.1", self.port), _Handler)
        httpd.chaos = self  # type: ignore[attr-defined]
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def answer(self) -> Behaviour:
        """The behaviour for one request, counted."""
        with self._lock:
            behaviour = self.behaviour
            if self.flap:
                body = self.flap.pop(0)
                self.flap.append(body)
                behaviour = Behaviour("good" if body[:1] == b"{" else "garbage", body)
            self.answered[behaviour.mode] += 1
            if behaviour.mode == "good":
                self.good_bodies.append(behaviour.body)
            return behaviour

    def wait_for(self, mode: str, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` more requests have been answered in ``mode``."""
        target = self.answered[mode] + count
        deadline = time.monotonic() + timeout
        while self.answered[mode] < target and time.monotonic() < deadline:
            time.sleep(0.05)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        server: UrlServer = self.server.chaos  # type: ignore[attr-defined]
        behaviour = server.answer()
        mode = behaviour.mode
        if mode == "slow":
            time.sleep(TIMEOUT + 1.5)
        status, location = 200, None
        if mode == "500":
            status = 500
        elif mode == "redirect loop":
            status, location = 302, "/pods"
        self.close_connection = True
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        self.wfile.write(behaviour.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def wanted_of(body: bytes, url: str) -> dict[str, Wanted]:
    """The pods a good body wants, by UID, as fastpod decodes them."""
    try:
        decoded = decode_pod_list(body, PodSource("http", url), NODE)
    except ManifestError:
        return {}
    wanted = {}
    for item in decoded:
        metadata = item.pod.metadata
        wanted[metadata.uid or ""] = Wanted(
            f"{metadata.namespace}/{metadata.name}",
            metadata.uid or "",
            frozenset(c.name or "" for c in item.pod.spec.containers or ()),
        )
    return wanted


def run(runtime: Runtime, seed: int, work: Path, record: Record, *, rounds: int) -> None:
    """Scenario 5 on ``runtime``, ``rounds`` times over; fills ``record``."""
    rng = random.Random(seed)
    server = UrlServer(work)
    profile = work / "profile.yaml"
    profile.write_text(PROFILE)
    versions = {f"u{index}": 1 for index in range(PODS)}
    body_a = pod_list(versions)
    server.behaviour = Behaviour("good", body_a)
    checker = Checker(runtime, record, 60.0, EXPLAINED)
    record.sizes = {"rounds": rounds, "pods": PODS, "timeout": TIMEOUT, "poll": 1.0}
    arguments = fastpod_arguments(
        runtime, ["--manifest-url", server.url], work, "--workers", "2", "--profile", str(profile)
    )
    daemon = Daemon(runtime.name, arguments, {"SSL_CERT_FILE": str(server.authority_file)})
    began = time.monotonic()
    holding = body_a

    def wanted() -> dict[str, Wanted]:
        return wanted_of(holding, server.url)

    def fault(name: str, change: Callable[[], None], mode: str, *, named: bool = True) -> None:
        """Misbehave; check the pods; then serve A again, so that the next fault starts a
        failure streak of its own and is logged (only a streak's first three are)."""
        before = _named(daemon)
        change()
        if mode:
            server.wait_for(mode, 2)
        else:
            time.sleep(2.5)  # two polls meeting nothing
        record.faults[name] += 1
        checker.moment(name)
        checker.settled(wanted, name)
        if named and _named(daemon) == before:
            record.add([Violation(LOG, "no line names it")], name)
        server.stop()
        server.certificate = "trusted"
        server.behaviour = Behaviour("good", body_a)
        server.start()
        server.wait_for("good", 1)

    try:
        checker.settled(wanted, "start")
        for round_index in range(rounds):
            other = dict(versions)
            other[rng.choice(sorted(versions))] += 100 + round_index
            other_body = pod_list(other)
            untrusted_body = pod_list({**versions, "u0": 999})

            def serve(mode: str, body: bytes = b"") -> Callable[[], None]:
                def change() -> None:
                    server.behaviour = Behaviour(mode, body)
                    server.start()

                return change

            def down() -> None:
                server.stop()

            def up_untrusted(body: bytes = untrusted_body) -> None:
                server.certificate = "untrusted"
                server.behaviour = Behaviour("good", body)
                server.start()

            fault("server down", down, "")
            fault("slow past the timeout", serve("slow", other_body), "slow")
            fault("HTTP 500", serve("500"), "500")
            # valid JSON but for its size: spaces after the document
            huge = other_body + b" " * MAX_MANIFEST_BYTES
            fault("body over 10 MiB", serve("huge", huge), "huge")
            fault("garbage", serve("garbage", b"\x00not a pod: [\xff"), "garbage")
            fault("redirect loop", serve("redirect loop"), "redirect loop")
            server.stop()
            # the handshake fails: no request is answered, so wait for two polls
            fault("certificate from an unknown authority", up_untrusted, "")
            fault("good again", lambda: None, "good", named=False)

            changes_before = _changes(daemon)
            good_before = len(server.good_bodies) - 1  # the body before the first flap
            with server._lock:
                server.flap = [other_body, body_a, other_body, b"\x00garbage", body_a]
            server.wait_for("good", 8)
            with server._lock:
                server.flap = []
                server.behaviour = Behaviour("good", body_a)
            record.faults["flapping"] += 1
            checker.moment("flapping")
            holding = body_a
            # A, B, A...: the pod B changes comes back anew; the others were wanted throughout
            checker.wanted_now(
                wanted_of(body_a, server.url).keys() & wanted_of(other_body, server.url).keys()
            )
            checker.settled(wanted, "after flapping")
            _check_flapping(
                server.good_bodies[good_before:], _changes(daemon) - changes_before, record
            )
        checker.settled(wanted, "end")
    finally:
        record.seconds = round(time.monotonic() - began, 1)
        daemon.stop()
        server.stop()
    checker.log(daemon, Counter())


def _named(daemon: Daemon) -> int:
    """The lines that name a URL fault so far: a failed poll, a refused body."""
    return daemon.said("manifest URL failed") + daemon.said("pod rejected")


def _changes(daemon: Daemon) -> int:
    """The URL pods fastpod added or replaced so far."""
    return sum(r.get("event") == "pod added" for r in daemon.records())


def _check_flapping(served: list[bytes], changes: int, record: Record) -> None:
    """Pods change only on a new good body: at most one change per good body that differs
    from the good body before it (garbage between two equal ones changes nothing)."""
    new = sum(1 for before, body in itertools.pairwise(served) if body != before)
    record.operations["good bodies while flapping"] += len(served)
    if changes > new:
        record.add(
            [Violation("restarted", f"{changes} pod changes for {new} new good bodies")],
            "flapping",
        )
