"""The rotator's file operations and runtime calls, on real files and the fake runtime."""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path

from fastpod.runtime.base import RuntimeCallError
from fastpod.runtime.fake import FakeRuntime
from fastpod.runtime.logrotation import RotationPolicy
from fastpod.worker.log_rotation import LogRotator
from tests.support.logs import LogCapture

POLICY = RotationPolicy(max_size=100, max_files=3)


class ReopeningRuntime(FakeRuntime):
    """A runtime that opens a new, empty log at ``path`` when asked, or refuses to."""

    def __init__(self, path: Path, *, refuse: bool = False) -> None:
        super().__init__()
        self.path = path
        self.refuse = refuse

    async def reopen_container_log(self, container_id: str) -> None:
        if self.refuse:
            raise RuntimeCallError(f"ReopenContainerLog {container_id}: container not running")
        self.reopened.append(container_id)
        self.path.touch()


def rotate(runtime: FakeRuntime, log: Path) -> int:
    rotator = LogRotator(runtime, POLICY, 10.0, lambda: [("c1", str(log))])
    return asyncio.run(rotator.check())


def test_a_log_past_the_size_is_renamed_and_reopened(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"x" * 100)
    runtime = ReopeningRuntime(log)

    assert rotate(runtime, log) == 1

    assert runtime.reopened == ["c1"]
    assert log.read_bytes() == b""
    (rotated,) = [p for p in tmp_path.iterdir() if p.name.startswith("0.log.")]
    assert rotated.read_bytes() == b"x" * 100


def test_a_log_under_the_size_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"x" * 99)
    runtime = ReopeningRuntime(log)

    assert rotate(runtime, log) == 0
    assert runtime.reopened == []
    assert os.listdir(tmp_path) == ["0.log"]


def test_older_rotated_files_are_compressed_and_the_oldest_removed(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"current\n" * 20)
    (tmp_path / "0.log.20200101-000000.gz").write_bytes(gzip.compress(b"oldest\n"))
    (tmp_path / "0.log.20200101-000100").write_bytes(b"previous\n")
    runtime = ReopeningRuntime(log)

    rotate(runtime, log)

    names = sorted(os.listdir(tmp_path))
    assert len(names) == POLICY.max_files
    assert names[0] == "0.log"
    assert names[1] == "0.log.20200101-000100.gz"
    assert gzip.decompress((tmp_path / names[1]).read_bytes()) == b"previous\n"
    assert oct((tmp_path / names[1]).stat().st_mode & 0o777) == "0o644"
    assert (tmp_path / names[2]).read_bytes() == b"current\n" * 20


def test_a_refused_reopen_puts_the_log_back_and_says_so(
    tmp_path: Path, captured_logs: LogCapture
) -> None:
    log = tmp_path / "0.log"
    log.write_bytes(b"x" * 100)

    assert rotate(ReopeningRuntime(log, refuse=True), log) == 0

    assert os.listdir(tmp_path) == ["0.log"]
    assert log.read_bytes() == b"x" * 100
    (failed,) = captured_logs.records("log rotation failed")
    assert "container not running" in failed["error"]


def test_a_log_lost_by_an_interrupted_rotation_is_reopened(tmp_path: Path) -> None:
    log = tmp_path / "0.log"
    runtime = ReopeningRuntime(log)

    assert rotate(runtime, log) == 0
    assert runtime.reopened == ["c1"]
    assert log.exists()
