"""A volume given to a pod's ``fsGroup``, as the kubelet's ``SetVolumeOwnership`` gives it
(``pkg/volume/volume_linux.go``): every file and directory under the volume gets the group,
group read and write (read only for a read-only volume), and every directory the setgid
bit and group search, so that what the pod's processes create there keeps the group.
"""

from __future__ import annotations

import os
import stat

READ_WRITE = 0o660
READ_ONLY = 0o440
SEARCH = 0o110


def set_volume_ownership(path: str, fs_group: int, *, read_only: bool = False) -> None:
    """Give everything under ``path`` (itself included) to ``fs_group``; symbolic links
    get the group but keep their mode, as the kubelet leaves them. Raises OSError."""
    mask = READ_ONLY if read_only else READ_WRITE
    _change(path, fs_group, mask)
    for directory, names, files in os.walk(path):
        for name in (*names, *files):
            _change(os.path.join(directory, name), fs_group, mask)


def _change(path: str, fs_group: int, mask: int) -> None:
    os.lchown(path, -1, fs_group)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return
    wanted = mode | mask | (stat.S_ISGID | SEARCH if stat.S_ISDIR(mode) else 0)
    if stat.S_IMODE(wanted) != stat.S_IMODE(mode):
        os.chmod(path, stat.S_IMODE(wanted))
