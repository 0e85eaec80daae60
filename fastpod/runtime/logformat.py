"""The lines a runtime writes a container's output in: Docker's json-file and the CRI's.

Read by the log endpoint (:mod:`fastpod.api.container_logs`) and by the termination
message's fallback to the log (:mod:`fastpod.runtime.termination`), as the kubelet's
``ReadLogs`` serves both.
"""

from __future__ import annotations

import msgspec

_STREAMS = (b"stdout", b"stderr")
_FULL, _PARTIAL = b"F", b"P"


class _DockerEntry(msgspec.Struct):
    """One line of Docker's json-file driver; ``stream`` and ``time`` are not needed."""

    log: str = ""


_docker_entry = msgspec.json.Decoder(_DockerEntry)


def decode_line(line: bytes) -> bytes:
    """The output one log line holds (a split long line's pieces carry no newline).

    Docker json-file (``{"log":"hi\\n",...}``) and CRI (``<time> stdout F hi``) lines are
    decoded; a line in neither format is passed through as it is.
    """
    line = line.removesuffix(b"\n")
    if line.startswith(b"{"):
        try:
            return _docker_entry.decode(line).log.encode()
        except msgspec.DecodeError:
            return line + b"\n"
    parts = line.split(b" ", 3)
    if len(parts) >= 3 and parts[1] in _STREAMS:
        tag = parts[2].split(b":", 1)[0]
        text = parts[3] if len(parts) == 4 else b""
        if tag == _FULL:
            return text + b"\n"
        if tag == _PARTIAL:
            return text
    return line + b"\n"


def decode_lines(data: bytes) -> bytes:
    """The output of whole log lines (``data`` ends with a newline)."""
    return b"".join(decode_line(line) for line in data.split(b"\n")[:-1])
