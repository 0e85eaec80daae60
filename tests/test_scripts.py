"""The setup scripts behind `make run` and `make test`.

A terminal sends Ctrl-C's SIGINT to the whole foreground process group: `make`, the recipe's
shells, and anything they started in that group. The Docker daemon that `scripts/docker-up`
starts serves every container on the machine, so it must not be in that group.

The test starts a second, private dockerd through the real script (its own socket, data and
exec roots, pid file; no bridge, no iptables), so the shared engine is never touched.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCKER_UP = REPO_ROOT / "scripts" / "docker-up"
FOREGROUND = "fastpod-run-stands-in"
"""What the job prints once docker-up has returned, before its foreground command."""

needs_dockerd = pytest.mark.skipif(
    os.geteuid() != 0
    or shutil.which("dockerd") is None
    or shutil.which("curl") is None
    or not Path("/bin/busybox").exists(),
    reason="starts a private dockerd: needs root and what scripts/docker-up installs "
    "(dockerd, curl, busybox-static; run scripts/docker-up once)",
)

pytestmark = pytest.mark.docker


@dataclass(frozen=True)
class PrivateDockerd:
    """Where a dockerd of the test's own lives: beside the shared one, sharing nothing."""

    root: Path

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def pidfile(self) -> Path:
        return self.root / "dockerd.pid"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def environment(self) -> dict[str, str]:
        """What makes scripts/docker-up start this dockerd instead of the usual one."""
        config = self.root / "daemon.json"
        config.write_text("{}\n")
        flags = [
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--pidfile={self.pidfile}",
            f"--config-file={config}",
        ]
        return {
            **os.environ,
            "DOCKER_SOCKET": str(self.socket),
            "DOCKERD_LOG": str(self.log),
            "DOCKERD_ARGS": " ".join(flags),
        }

    def answers(self) -> bool:
        """Whether the daemon answers Docker's /_ping on its socket."""
        url = "http://docker/_ping"
        ping = subprocess.run(
            ["curl", "--silent", "--max-time", "5", "--unix-socket", str(self.socket), url],
            capture_output=True,
            text=True,
        )
        return ping.stdout == "OK"

    def pid(self) -> int:
        return int(self.pidfile.read_text())

    def stop(self) -> None:
        """SIGTERM to the pid in its pid file, then wait until it is gone."""
        try:
            pid = self.pid()
            os.kill(pid, signal.SIGTERM)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return
        for _ in range(600):  # dockerd stops its own containerd first
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def private_dockerd() -> Iterator[PrivateDockerd]:
    """A private dockerd's places in a short directory (socket paths have 108 bytes at most)."""
    dockerd = PrivateDockerd(Path(tempfile.mkdtemp(prefix="fastpod-dockerd-", dir="/tmp")))
    try:
        yield dockerd
    finally:
        dockerd.stop()
        _unmount_below(dockerd.root)
        shutil.rmtree(dockerd.root, ignore_errors=True)


def _unmount_below(root: Path) -> None:
    # what dockerd mounted in its roots (network namespaces, the overlay home) and left
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts if line.split()[1].startswith(f"{root}/")]
    for point in sorted(points, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


@needs_dockerd
def test_dockerd_survives_ctrl_c_on_make_run(private_dockerd: PrivateDockerd) -> None:
    """SIGINT to the job that ran docker-up (as Ctrl-C on `make run`) leaves dockerd running.

    The job is `make run`'s shape: the engine script, then a foreground command in the same
    process group, as make runs `fastpod run` after `scripts/docker-up`. The signal is sent
    once docker-up has returned (bash, waiting for a child that outlives a SIGINT, would go
    on to the next command).
    """
    job = subprocess.Popen(
        ["bash", "-c", f"{shlex.quote(str(DOCKER_UP))} && echo {FOREGROUND} && exec sleep 600"],
        env=private_dockerd.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a terminal's job: its own process group
    )
    try:
        assert job.stdout is not None
        output = []
        for line in job.stdout:
            output.append(line)
            if line.strip() == FOREGROUND:
                break
        else:
            pytest.fail(f"docker-up did not start the private dockerd:\n{''.join(output)}")
        dockerd = private_dockerd.pid()
        assert os.getpgid(dockerd) != job.pid, "dockerd is in the job's process group"

        os.killpg(job.pid, signal.SIGINT)
        assert job.wait(timeout=60) == -signal.SIGINT

        answers = private_dockerd.answers()
        log = private_dockerd.log.read_text()
        assert answers, f"dockerd no longer answers; its log ends:\n{log[-2000:]}"
        os.kill(dockerd, 0)  # still the same process
        assert "Processing signal 'interrupt'" not in log
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()
