"""Container logs rotate on every real runtime under a container that writes fast, end to end
through ``fastpod run``: rotated files appear, their number stays within
``--container-log-max-files``, and ``/containerLogs`` still gives the latest lines, also
while following across a rotation.

On containerd fastpod rotates the files itself (renamed with a timestamp, older ones
gzipped, ``ReopenContainerLog``); on Docker the same limits are the json-file driver's
``max-size`` and ``max-file``, read back with ``docker inspect``.
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import os
import re
import threading
import time
import urllib.request
from pathlib import Path

from fastpod.runtime.logformat import decode_lines
from tests.support import docker_engine
from tests.support.engines import Engine, manifest, start, wait_until
from tests.support.running import RunningFastpod, free_port

MAX_FILES = 3
MAX_SIZE = 8 * 1024
# ~100 numbered lines of ~100 bytes a second: a rotation about every second
WRITER = "i=0; while true; do echo line $i $(printf %090d 0); i=$((i+1)); sleep 0.01; done"
NUMBER = re.compile(rb"^line (\d+) ", re.MULTILINE)


def log_files(tmp_path: Path) -> list[str]:
    """The writer's log and its rotated files, wherever the runtime keeps them: beside the
    file ``<pod logs dir>/.../main/0.log`` is (a CRI runtime's) or links to (Docker's).
    During a CRI rotation the log itself is briefly absent (renamed, not yet reopened)."""
    current = glob.glob(str(tmp_path / "logs" / "pods" / "*" / "main" / "0.log*"))
    links = [name for name in current if os.path.islink(name)]
    if links:
        return sorted(glob.glob(glob.escape(os.path.realpath(links[0])) + "*"))
    return sorted(current)


def rotated_files(tmp_path: Path) -> list[str]:
    """The rotated files alone, oldest first by name: those with a suffix after the log's."""
    return [name for name in log_files(tmp_path) if not name.endswith(("0.log", "-json.log"))]


def rotated_numbers(tmp_path: Path) -> list[int]:
    """The line numbers the rotated files hold (gzipped or not)."""
    found: list[int] = []
    for name in rotated_files(tmp_path):
        with contextlib.suppress(FileNotFoundError):  # removed by a rotation since listed
            data = Path(name).read_bytes()
            found += numbers(decode_lines(gzip.decompress(data) if name.endswith(".gz") else data))
    return found


def numbers(text: bytes) -> list[int]:
    return [int(found) for found in NUMBER.findall(text)]


def follow(fastpod: RunningFastpod, path: str, lines: int, timeout: float = 60.0) -> bytes:
    """What ``GET path?follow=true`` streams until it carried ``lines`` lines (a writer slowed
    by a loaded machine takes longer) or ``timeout`` seconds passed."""
    received = bytearray()

    def read() -> None:
        url = f"http://127.0.0.1:{fastpod.api_port}{path}?follow=true&tailLines=0"
        with urllib.request.urlopen(url, timeout=timeout + 10) as reply:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and received.count(b"\n") < lines:
                chunk = reply.read1(65536)
                if not chunk:
                    return
                received.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout + 15)
    return bytes(received)


def test_a_fast_writers_logs_rotate_within_the_limits_and_stay_readable(
    engine: Engine, manifests: Path, tmp_path: Path
) -> None:
    profile = tmp_path / "often.yaml"
    profile.write_text("container_log_monitor_interval: 0.5s\n")
    (manifests / "writer.yaml").write_bytes(manifest("writer", command=WRITER))
    fastpod = start(
        engine,
        manifests,
        tmp_path,
        "--container-log-max-size",
        str(MAX_SIZE),
        "--container-log-max-files",
        str(MAX_FILES),
        "--profile",
        str(profile),
        api_port=free_port(),
    )
    logs_path = "/containerLogs/default/writer-node1/main"
    try:
        fastpod.wait_for_api()
        wait_until(lambda: engine.containers("writer", "main", running_only=True))
        if engine.runtime == "docker":
            (container,) = engine.containers("writer", "main")
            inspected = json.loads(docker_engine.docker("inspect", container.id))[0]
            assert inspected["HostConfig"]["LogConfig"] == {
                "Type": "json-file",
                "Config": {"max-size": str(MAX_SIZE), "max-file": str(MAX_FILES)},
            }

        # several rotations: the oldest files go, the count stays within the limit
        wait_until(lambda: len(log_files(tmp_path)) == MAX_FILES, timeout=30)
        first_rotated = max(rotated_numbers(tmp_path))
        wait_until(lambda: min(rotated_numbers(tmp_path) or [0]) > first_rotated, timeout=30)
        for _ in range(10):
            assert len(log_files(tmp_path)) <= MAX_FILES
            time.sleep(0.3)
        if engine.runtime == "cri":
            rotated = [os.path.basename(name) for name in rotated_files(tmp_path)]
            # one plain (the last rotated, left for readers), the older ones gzipped
            assert re.fullmatch(r"0\.log\.\d{8}-\d{6}\.gz", rotated[0]), rotated
            assert re.fullmatch(r"0\.log\.\d{8}-\d{6}", rotated[1]), rotated
        assert fastpod.events("log rotation failed") == []

        # the latest lines are served, past what the rotated files hold (from the current
        # file only, as the kubelet reads a CRI log: none just after a rotation, and no file
        # at all between its rename and the runtime's reopening: asked again then)
        tails: list[tuple[int, list[int]]] = []

        def tail_past_the_rotated_files() -> bool:
            try:
                plain = [name for name in log_files(tmp_path)[1:] if not name.endswith(".gz")]
                newest_rotated = max(plain, key=os.path.getmtime)
                rotated_last = max(numbers(decode_lines(Path(newest_rotated).read_bytes())))
            except (FileNotFoundError, ValueError):
                return False  # compressed or removed by a rotation meanwhile
            status, tail = fastpod.get(f"{logs_path}?tailLines=5")
            if status == 404 or not numbers(tail):
                return False
            assert status == 200, tail
            tails.append((rotated_last, numbers(tail)))
            return True

        wait_until(tail_past_the_rotated_files)
        ((rotated_last, served),) = tails
        assert 1 <= len(served) <= 5
        assert served == list(range(served[0], served[0] + len(served)))
        assert served[-1] > rotated_last

        # following goes on across rotations without losing a line
        two_rotations = MAX_SIZE * 2 // 100
        followed = numbers(follow(fastpod, logs_path, two_rotations + 1))
        assert len(followed) > two_rotations  # more than two rotations' worth
        assert followed == list(range(followed[0], followed[0] + len(followed)))
    finally:
        fastpod.stop()
