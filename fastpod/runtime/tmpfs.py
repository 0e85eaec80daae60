"""A tmpfs mounted at a volume's directory, and unmounted when the pod goes.

The mount(2) and umount2(2) system calls, through libc: a mount costs a few microseconds,
where a ``mount -t tmpfs`` process per volume would cost milliseconds. The options are the
kubelet's (``setupTmpfs`` in ``pkg/volume/emptydir``): ``size=<bytes>`` when a size is
known, and ``noswap`` where the kernel has it (Linux 6.4 and later), no mount flags.
"""

from __future__ import annotations

import ctypes
import errno
import os

_LIBC = ctypes.CDLL(None, use_errno=True)
_LIBC.mount.argtypes = (
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
)
_LIBC.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)

_noswap = True
"""Whether to ask for ``noswap``: cleared once the kernel refuses it."""


def mount_tmpfs(path: str, size: int | None) -> None:
    """Mount a tmpfs of ``size`` bytes (the kernel's default when None) at ``path``, an
    existing directory. Raises OSError with the kernel's reason."""
    global _noswap
    options = [f"size={size}"] if size is not None else []
    if _noswap:
        try:
            _mount(path, ",".join([*options, "noswap"]))
            return
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
            _noswap = False
    _mount(path, ",".join(options))


def _mount(path: str, options: str) -> None:
    result: int = _LIBC.mount(b"tmpfs", os.fsencode(path), b"tmpfs", 0, options.encode())
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"mount tmpfs: {os.strerror(code)}", path)


def unmount(path: str) -> None:
    """Unmount what is mounted at ``path``. Raises OSError (``EBUSY`` while in use)."""
    result: int = _LIBC.umount2(os.fsencode(path), 0)
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"unmount: {os.strerror(code)}", path)
