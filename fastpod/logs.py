"""fastpod's own log: one line per decision, human-readable or JSON lines.

Every process writes to the same standard error. Lines logged while the event loop runs one
callback are written together when it ends, in writes of whole lines no larger than
``PIPE_BUF``, so lines from different processes never interleave and a burst of thousands of
decisions costs a few hundred writes. A line says what happened (the event), to
what (the pod, the source file) and, in JSON, carries a timestamp that tools can parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import errno
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, Literal, TextIO, TypeVar

import msgspec

LogFormat = Literal["text", "json"]
_Line = TypeVar("_Line", str, bytes)
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

_encoder = msgspec.json.Encoder()
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_USERINFO_IN_LINE = re.compile(r"""([A-Za-z][A-Za-z0-9+.-]*://)[^/?#\s"'\\]*@""")
"""A URL's ``user:password@`` within a whole line, which never spans a quote or a space:
what any field of any line may carry (a URL pod's source, an error quoting the URL) is
cut before it is written."""


PIPE_BUF = 4096
"""Writes up to this size to a pipe are atomic (POSIX): the most one write may carry."""


class _Settings:
    """Where this process logs and how; set once per process by :func:`configure`."""

    format: LogFormat = "text"
    stream: TextIO | None = None
    process: str = "fastpod"
    captured: list[dict[str, Any]] | None = None
    pending: list[bytes]
    flush_scheduled: bool = False

    def __init__(self) -> None:
        self.pending = []


_settings = _Settings()


def configure(log_format: LogFormat, process: str, stream: TextIO | None = None) -> None:
    """Choose the format and the process name that every line of this process carries."""
    _settings.format = log_format
    _settings.process = process
    _settings.stream = stream


@contextlib.contextmanager
def capture() -> Iterator[list[dict[str, Any]]]:
    """Collect this process's log records instead of writing them, for tests.

    Each record is what its JSON line decodes to (time, level, process, event and the
    fields), appended as it is logged; writing resumes on the way out.
    """
    records: list[dict[str, Any]] = []
    previous = _settings.captured
    _settings.captured = records
    try:
        yield records
    finally:
        _settings.captured = previous


def emit(event: str, *, level: str = "info", **fields: object) -> None:
    """Write one line saying ``event`` happened, with ``fields`` (None values left out)."""
    now = datetime.datetime.now(datetime.UTC)
    present = {key: value for key, value in fields.items() if value is not None}
    if _settings.format == "json" or _settings.captured is not None:
        record: dict[str, object] = {
            "time": now.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "level": level,
            "process": _settings.process,
            "event": event,
        }
        record.update(present)
        encoded = _without_passwords(_encoder.encode(record))
        if _settings.captured is not None:
            _settings.captured.append(msgspec.json.decode(encoded))
            return
        line = encoded.decode() + "\n"
    else:
        line = _without_passwords(render_text(now, level, _settings.process, event, present))
    _write(line)


def _without_passwords(line: _Line) -> _Line:
    """``line`` with every URL's userinfo cut (a cheap look for ``@`` first)."""
    if isinstance(line, bytes):
        if b"@" in line and b"://" in line:
            return _USERINFO_IN_LINE.sub(r"\1", line.decode()).encode()
        return line
    if "@" in line and "://" in line:
        return _USERINFO_IN_LINE.sub(r"\1", line)
    return line


def render_text(
    now: datetime.datetime, level: str, process: str, event: str, fields: dict[str, object]
) -> str:
    """A line a person reads: time, level, process, event, then ``key=value`` pairs."""
    parts = [now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), f"{level:<5}", f"{process:<9}", event]
    parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
    return " ".join(parts) + "\n"


def _text_value(value: object) -> str:
    text = "; ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
    if not text or any(character.isspace() or character == '"' for character in text):
        return _encoder.encode(text).decode()
    return text


def _write(line: str) -> None:
    if _settings.stream is not None:
        _settings.stream.write(line)
        return
    _settings.pending.append(line.encode())
    if _settings.flush_scheduled:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        flush()
        return
    _settings.flush_scheduled = True
    loop.call_soon(flush)


def flush() -> None:
    """Write the pending lines now, in atomic writes of whole lines."""
    _settings.flush_scheduled = False
    pending, _settings.pending = _settings.pending, []
    chunk = bytearray()
    for data in pending:
        if chunk and len(chunk) + len(data) > PIPE_BUF:
            _write_out(chunk)
            chunk = bytearray()
        chunk += data
    if chunk:
        _write_out(chunk)


def _write_out(data: bytes | bytearray) -> None:
    with contextlib.suppress(OSError):
        os.write(sys.stderr.fileno(), data)


def errno_name(error: OSError) -> str:
    """``ENOSPC`` for "No space left on device": the name an operator greps for."""
    return errno.errorcode.get(error.errno or 0, str(error.errno))


def without_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` of every URL in it removed, so it can be logged."""
    return _USERINFO.sub(r"\1", text)
