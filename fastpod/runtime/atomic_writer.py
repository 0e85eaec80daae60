"""Files of a volume written so a reader never sees half of an update: the kubelet's
``AtomicWriter`` (``pkg/volume/util/atomic_writer.go``).

The files live in a hidden timestamped directory (``..2026_01_02_15_04_05.123456789``); the
``..data`` symlink points at it, and each top-level name of the payload is a symlink into
``..data`` (``podName -> ..data/podName``, ``k8s -> ..data/k8s``). An update writes a new
timestamped directory, points a new link ``..data_tmp`` at it and renames that over
``..data`` (one atomic step), adds the new top-level links, removes the ones no longer in
the payload, then the old directory. A payload whose contents equal what is there writes
nothing, as the kubelet compares contents (not modes) before writing.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import random
import shutil
import time
from collections.abc import Mapping

from fastpod.runtime.projection import FileProjection

DATA_DIR = "..data"
NEW_DATA_DIR = "..data_tmp"


def write_payload(target_dir: str, payload: Mapping[str, FileProjection]) -> bool:
    """Project ``payload`` (path in the volume → file) into ``target_dir``, which exists;
    whether anything was written. Raises OSError as the file system does, and ValueError
    for a path that would leave the volume or use the reserved ``..`` names."""
    for path in payload:
        _check_path(path)
    data_dir = os.path.join(target_dir, DATA_DIR)
    try:
        old_timestamped = os.readlink(data_dir)
    except FileNotFoundError:
        old_timestamped = ""
    fresh = not old_timestamped
    to_remove: set[str] = set()
    write = True
    if old_timestamped:
        old_path = os.path.join(target_dir, old_timestamped)
        to_remove = _paths_to_remove(payload, old_path)
        if not to_remove and not _contents_differ(payload, old_path):
            # up to date: only the top-level links are made sure of (kubernetes#121472)
            write = False
            old_timestamped = ""
    if write:
        timestamped = _new_timestamped_dir(target_dir)
        try:
            _write_files(payload, timestamped)
            new_link = os.path.join(target_dir, NEW_DATA_DIR)
            try:
                os.symlink(os.path.basename(timestamped), new_link)
            except FileExistsError:
                # left by a write that stopped before its rename
                os.unlink(new_link)
                os.symlink(os.path.basename(timestamped), new_link)
        except OSError:
            shutil.rmtree(timestamped, ignore_errors=True)
            raise
        try:
            os.rename(new_link, data_dir)
        except OSError:
            os.unlink(new_link)
            shutil.rmtree(timestamped, ignore_errors=True)
            raise
    _link_top_level_names(target_dir, payload, fresh=fresh)
    for path in to_remove:
        # only the top-level names are links of the volume's root; the rest went with ..data
        if "/" not in path:
            os.remove(os.path.join(target_dir, path))
    if old_timestamped:
        shutil.rmtree(os.path.join(target_dir, old_timestamped))
    return write


def _check_path(path: str) -> None:
    """The kubelet's ``validatePath``: relative, no ``..`` element, not starting with
    ``..``, names of at most 255 bytes, the whole at most 4096."""
    if not path or path.startswith("/"):
        raise ValueError(f"invalid path {path!r}: must be a relative path")
    if len(path) > 4096:
        raise ValueError("invalid path: must be less than or equal to 4096 characters")
    items = path.split("/")
    for item in items:
        if item == "..":
            raise ValueError(f"invalid path {path!r}: must not contain '..'")
        if len(item.encode()) > 255:
            raise ValueError("invalid path: filenames must be less than or equal to 255 characters")
    if items[0].startswith("..") and len(items[0]) > 2:
        raise ValueError(f"invalid path {path!r}: must not start with '..'")


def _contents_differ(payload: Mapping[str, FileProjection], old_dir: str) -> bool:
    for path, projection in payload.items():
        try:
            descriptor = os.open(os.path.join(old_dir, path), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return True
        try:
            # one byte more than expected tells a longer file from an equal one
            current = os.read(descriptor, len(projection.data) + 1)
        finally:
            os.close(descriptor)
        if current != projection.data:
            return True
    return False


def _paths_to_remove(payload: Mapping[str, FileProjection], old_dir: str) -> set[str]:
    """What the old data directory holds (files and directories, relative) that neither a
    new path nor a directory on the way to one names."""
    old: set[str] = set()
    _collect(old_dir, "", old)
    kept: set[str] = set()
    for path in payload:
        while path:
            kept.add(path)
            path = posixpath.dirname(path)
    return old - kept


def _collect(directory: str, prefix: str, found: set[str]) -> None:
    with os.scandir(directory) as entries:
        for entry in entries:
            relative = prefix + entry.name
            found.add(relative)
            if entry.is_dir(follow_symlinks=False):
                _collect(entry.path, f"{relative}/", found)


def _new_timestamped_dir(target_dir: str) -> str:
    """``..<UTC time>.<random digits>``, as Go's ``os.MkdirTemp`` names it, mode 0755
    whatever the umask, so every user in the container can read the files."""
    prefix = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime())
    while True:
        path = os.path.join(target_dir, f"{prefix}{random.getrandbits(32)}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o755)
        return path


def _write_files(payload: Mapping[str, FileProjection], directory: str) -> None:
    for path, projection in payload.items():
        full = os.path.join(directory, path)
        if "/" in path:
            os.makedirs(os.path.dirname(full), exist_ok=True)
        descriptor = os.open(
            full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, projection.mode
        )
        try:
            written = 0
            while written < len(projection.data):
                written += os.write(descriptor, projection.data[written:])
            # the mode as given, whatever the umask took from it
            os.fchmod(descriptor, projection.mode)
        finally:
            os.close(descriptor)


def _link_top_level_names(
    target_dir: str, payload: Mapping[str, FileProjection], *, fresh: bool
) -> None:
    """A link into ``..data`` for each top-level name that has none; a name that is there
    and no link is left alone, as the kubelet leaves it. In a ``fresh`` volume the links
    are made straight away (a name already there fails the same way)."""
    for name in {path.split("/", 1)[0] for path in payload}:
        link = os.path.join(target_dir, name)
        if not fresh:
            try:
                os.readlink(link)
                continue
            except FileNotFoundError:
                pass
            except OSError:
                continue  # not a link
        with contextlib.suppress(FileExistsError):
            os.symlink(posixpath.join(DATA_DIR, name), link)
