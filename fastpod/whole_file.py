"""A file replaced whole: written beside itself, then renamed over it, so a reader or a
crash sees the old contents or the new, never half of them. A write the host refuses (a
full disk) leaves no partial file behind, to take space or to be read as a record.
"""

from __future__ import annotations

import contextlib
import os


def replace_file(path: str, data: bytes, temporary: str, mode: int = 0o666) -> None:
    """Make ``path`` hold ``data``, written first to ``temporary`` (created with ``mode``,
    less the umask); OSError when the host refuses, ``path`` then as it was."""
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with open(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
