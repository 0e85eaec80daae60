"""Where a running fastpod's API can be found: a small record under its root directory.

The daemon writes it once its server listens and removes it when it stops; the CLI reads it
so that ``fastpod pods`` finds a daemon started with another port or address by itself. A
record the host refuses (a full disk) is tried again until it is written: the server
answers meanwhile, and the CLI finds it again once the space returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import msgspec

from fastpod import logs
from fastpod.config.settings import DEFAULT_ADDRESS, READ_ONLY_PORT
from fastpod.whole_file import replace_file

RECORD_NAME = "api.json"
RECORD_RETRY = 5.0
"""Seconds between tries to write a record the host refused."""
DEFAULT_SERVER = f"http://{DEFAULT_ADDRESS}:{READ_ONLY_PORT}"
"""The kubelet's read-only port on fastpod's default address."""


class ApiRecord(msgspec.Struct, frozen=True):
    """What the running daemon says about itself: its API's base URL and its process."""

    url: str
    pid: int


def record_path(root_dir: str) -> str:
    """The record's path for a daemon run with ``--root-dir root_dir``."""
    return os.path.join(root_dir, RECORD_NAME)


def write_record(root_dir: str, record: ApiRecord) -> None:
    """Publish ``record``, atomically (a reader never sees half of it)."""
    # the kubelet's root directory mode (setupDataDirs); the record 0644 whatever the umask:
    # no other user may point the CLI at a server of theirs
    os.makedirs(root_dir, mode=0o750, exist_ok=True)
    path = record_path(root_dir)
    replace_file(path, msgspec.json.encode(record), f"{path}.{os.getpid()}.tmp", 0o644)


async def write_record_later(root_dir: str, record: ApiRecord, refused: OSError) -> None:
    """Write ``record``, which the host just ``refused`` (a full disk), every
    :data:`RECORD_RETRY` s until it takes it; the refusal is said once, naming the path and
    the errno, and so is the write that ends it."""
    path = record_path(root_dir)
    logs.emit(
        "API record not written",
        level="error",
        path=path,
        errno=logs.errno_name(refused),
        error=str(refused),
        retry_in=f"{RECORD_RETRY:g}s",
    )
    while True:
        await asyncio.sleep(RECORD_RETRY)
        with contextlib.suppress(OSError):
            write_record(root_dir, record)
            logs.emit("API record written", path=path)
            return


def remove_record(root_dir: str, pid: int) -> None:
    """Withdraw the record if it is still this process's."""
    if (record := read_record(root_dir)) is not None and record.pid == pid:
        with contextlib.suppress(OSError):
            os.unlink(record_path(root_dir))


def read_record(root_dir: str) -> ApiRecord | None:
    """The record of a daemon whose process still exists, or None."""
    try:
        with open(record_path(root_dir), "rb") as file:
            record = msgspec.json.decode(file.read(), type=ApiRecord)
    except (OSError, msgspec.DecodeError):
        return None
    try:
        os.kill(record.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return record
