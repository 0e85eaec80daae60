"""A pod's network namespace, entered just long enough to create a socket.

A socket belongs to the network namespace of the thread that created it, for its whole
life; which thread then connects, reads or writes it does not matter. So a probe into a pod
that has its own namespace needs no thread of its own: the event loop's thread switches into
the pod's namespace (``setns``), creates the socket, and switches back, all before it runs
anything else. Everything after that (connect, TLS, HTTP) runs on the caller's event loop as
for any other socket, and costs the same.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000

_libc = ctypes.CDLL(None, use_errno=True)
_own = threading.local()


class NamespaceError(Exception):
    """A network namespace that cannot be entered (gone, or not a network namespace)."""


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


def _own_namespace() -> int:
    """This thread's own network namespace, opened once per thread to come back to."""
    fd: int | None = getattr(_own, "fd", None)
    if fd is None:
        fd = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        _own.fd = fd
    return fd


class NetworkNamespace:
    """The network namespace at ``path`` (``/proc/<pid>/ns/net`` of the pod's sandbox)."""

    def __init__(self, path: str) -> None:
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise NamespaceError(
                f"cannot open network namespace {path}: {error.strerror}"
            ) from None
        self.path = path

    def socket(self, family: int, kind: int = socket.SOCK_STREAM, proto: int = 0) -> socket.socket:
        """A new non-blocking socket in this namespace."""
        if self._fd is None:
            raise NamespaceError(f"network namespace {self.path} is closed")
        home = _own_namespace()
        try:
            _setns(self._fd)
        except OSError as error:
            raise NamespaceError(
                f"cannot enter network namespace {self.path}: {error.strerror}"
            ) from None
        try:
            created = socket.socket(family, kind, proto)
        finally:
            _setns(home)
        created.setblocking(False)
        return created

    def close(self) -> None:
        """Let the namespace go (the pod is gone); sockets already made keep working."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def new_socket(
    namespace: NetworkNamespace | None, family: int, kind: int = socket.SOCK_STREAM, proto: int = 0
) -> socket.socket:
    """A non-blocking socket in ``namespace``, or in this thread's own when it is None."""
    if namespace is not None:
        return namespace.socket(family, kind, proto)
    created = socket.socket(family, kind, proto)
    created.setblocking(False)
    return created
