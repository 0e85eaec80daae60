"""A container's termination message: the file it may write its last words to, and reading
them back once it has exited, as the kubelet does (``kuberuntime_container.go``).

Before each container instance is created, an empty file (mode 0666, a random name) is made
in the pod's directory for that container and bind-mounted at the container's
``terminationMessagePath`` (``makeMounts``). Once the container has exited, the file's last
4 KiB are its message; under ``terminationMessagePolicy: FallbackToLogsOnError`` a container
that failed and wrote nothing there gets the end of its log instead: its last 80 lines, at
most their last 2 KiB (``getTerminationMessage``, ``readLastStringFromContainerLogs``). The
runtime adapters find the file through the container's mounts, as the kubelet does, so a
container adopted after a restart of fastpod has its message too.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from typing import BinaryIO

from fastpod.runtime.logformat import decode_line
from fastpod.runtime.spec import TERMINATION_MESSAGE_PATH, TERMINATION_MESSAGE_POLICY

MAX_MESSAGE_LENGTH = 4 * 1024
"""The bytes of the file kept, its last ones (``MaxContainerTerminationMessageLength``)."""

MAX_LOG_LINES = 80
"""The log lines a fallback message is taken from (``MaxContainerTerminationMessageLogLines``)."""

MAX_LOG_LENGTH = 2 * 1024
"""The bytes of those lines' output kept, the last ones
(``MaxContainerTerminationMessageLogLength``)."""

FALLBACK_TO_LOGS = "FallbackToLogsOnError"

_BLOCK = 64 * 1024
"""The most one read takes from a log file, going backwards."""


def create_message_file(container_dir: str) -> str:
    """A new empty file, mode 0666, in ``container_dir`` (made 0750 if missing): the host
    side of one container instance's termination message. Raises :class:`OSError`."""
    os.makedirs(container_dir, mode=0o750, exist_ok=True)
    while True:
        # the kubelet's makeUID: the directory names the pod and the container, a random
        # part tells the instances apart; an existing file is never taken over
        path = os.path.join(container_dir, secrets.token_hex(4))
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(descriptor)
        # whatever the umask: a container running as any user may write it
        os.chmod(path, 0o666)
        return path


def termination_message(
    labels: Mapping[str, str],
    exit_code: int,
    ran: bool,
    mounts: Mapping[str, str],
    log_path: str,
) -> str:
    """The termination message of an exited container, ``""`` when it left none.

    ``labels`` are its labels and annotations (the path and policy it was created with),
    ``ran`` whether it ever started (one that could not run has no log to fall back to:
    the kubelet's ``ContainerCannotRun``), ``mounts`` its mounts as container path → host
    path, ``log_path`` the file the runtime writes its output to.
    """
    fallback = labels.get(TERMINATION_MESSAGE_POLICY) == FALLBACK_TO_LOGS and exit_code != 0 and ran
    message, check_logs = _from_file(labels.get(TERMINATION_MESSAGE_PATH, ""), mounts, fallback)
    if check_logs:
        try:
            return _text(log_tail(log_path))
        except OSError as error:
            return f"Error on reading termination message from logs: {_reason(error, log_path)}"
    return message


def with_termination_message(runtime_message: str, message: str) -> str:
    """The runtime's message, then the container's own, joined as the kubelet joins them."""
    if not message:
        return runtime_message
    return f"{runtime_message}: {message}" if runtime_message else message


def _from_file(path: str, mounts: Mapping[str, str], fallback: bool) -> tuple[str, bool]:
    """What the message file holds, and whether to look in the log instead."""
    host_path = mounts.get(path) if path else None
    if host_path is None:
        return "", fallback
    try:
        with open(host_path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            file.seek(max(0, size - MAX_MESSAGE_LENGTH))
            data = file.read(MAX_MESSAGE_LENGTH)
    except FileNotFoundError:
        return "", fallback
    except OSError as error:
        return f"Error on reading termination log {host_path}: {_reason(error, host_path)}", False
    return _text(data), fallback and not data


def log_tail(path: str) -> bytes:
    """The output of the log's last :data:`MAX_LOG_LINES` lines, at most its last
    :data:`MAX_LOG_LENGTH` bytes.

    Lines count as the kubelet's ``tail.FindTailLineStartIndex`` counts them: a last line
    without its newline yet is read but not counted. The log is read backwards, and only
    as far as those bytes need.
    """
    outputs: list[bytes] = []
    counted = kept = 0
    with open(path, "rb") as file:
        for line in _lines_from_end(file):
            if line.endswith(b"\n"):
                counted += 1
                if counted > MAX_LOG_LINES:
                    break
            output = decode_line(line)
            outputs.append(output)
            kept += len(output)
            if kept >= MAX_LOG_LENGTH:
                break
    return b"".join(reversed(outputs))[-MAX_LOG_LENGTH:]


def _lines_from_end(file: BinaryIO) -> Iterator[bytes]:
    """The file's lines, the last first, each with its newline (the last may have none)."""
    position = os.fstat(file.fileno()).st_size
    pending = b""  # read, not yet given: from the line being looked for to its end
    while position > 0:
        start = max(0, position - _BLOCK)
        file.seek(start)
        pending = file.read(position - start) + pending
        position = start
        # the newline ending the line before the last one pending (its own excluded)
        cut = pending.rfind(b"\n", 0, len(pending) - 1)
        while cut >= 0:
            yield pending[cut + 1 :]
            pending = pending[: cut + 1]
            cut = pending.rfind(b"\n", 0, len(pending) - 1)
    if pending:
        yield pending


def _text(data: bytes) -> str:
    """Bytes as the API shows them: UTF-8, anything invalid replaced."""
    return data.decode(errors="replace")


def _reason(error: OSError, path: str) -> str:
    """An error in Go's words, as the kubelet's message has it: ``open /path: permission
    denied``."""
    return f"open {path}: {(error.strerror or str(error)).lower()}"
