"""A small file system made full for a test: a tmpfs mounted for it (this machine runs the
tests as root), filled until the host says ``ENOSPC``, emptied again at will."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = ".filler"
"""The file that takes every block; the empty files beside it take every inode."""


class FullDisk:
    """A mounted tmpfs whose blocks and inodes can be used up and given back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inodes: list[Path] = []

    def fill(self) -> None:
        """Use up every block, then every inode: nothing more can be written nor made."""
        chunk = b"\0" * 65536
        try:
            with open(self.path / FILLER, "ab") as file:
                while True:
                    file.write(chunk)
                    file.flush()
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
        while True:
            inode = self.path / f".inode-{len(self._inodes)}"
            try:
                inode.touch()
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
                return
            self._inodes.append(inode)

    def free(self) -> None:
        """Give back what :meth:`fill` took."""
        with contextlib.suppress(FileNotFoundError):
            (self.path / FILLER).unlink()
        for inode in self._inodes:
            inode.unlink()
        self._inodes.clear()


def mount_tmpfs(path: Path, size: str, inodes: int) -> None:
    """Mount a tmpfs of ``size`` and ``inodes`` at ``path``; skip the test where this host
    lets no one mount one."""
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},nr_inodes={inodes},mode=0755"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


def unmount(path: Path) -> None:
    """Unmount ``path`` (lazily: a process may still hold a file there)."""
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@contextlib.contextmanager
def full_disk(path: Path, size: str = "256k", inodes: int = 64) -> Iterator[FullDisk]:
    """A tmpfs at ``path``, unmounted on the way out; :meth:`FullDisk.fill` fills it."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_tmpfs(path, size, inodes)
    try:
        yield FullDisk(path)
    finally:
        unmount(path)
