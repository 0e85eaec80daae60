"""The manifest path as the watcher sees it: one ``stat`` per file, a read only on change.

The kubelet re-reads and re-parses every manifest on every re-list. Here a file whose
(mode, inode, size, mtime, ctime) is unchanged costs one ``stat``; a changed one is read and
hashed, and only a changed hash is reported. Symlinks are followed, so a ConfigMap-style
``..data`` swap shows up as a new inode behind the same name.
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import compress
from operator import attrgetter, eq, itemgetter, methodcaller, not_
from typing import NamedTuple

from fastpod import logs
from fastpod.manifest.documents import MAX_MANIFEST_BYTES
from fastpod.sources.exposure import ExposureCheck

StatKey = tuple[int, int, int, int, int]
"""(mode, inode, size, mtime, ctime): a change of any of them is a change of the file."""

_stat_key = attrgetter("st_mode", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
"""A stat result's key, built in C."""

_NOT_TRUSTED: StatKey = (-1, -1, -1, -1, -1)
"""The key of a file to read again at the next look, whatever its stat."""

_mode_of = itemgetter(0)
_dotted = methodcaller("startswith", ".")

RACY_WINDOW_NS = 2_000_000_000
"""Files modified this recently are not trusted to their stat: coarse clocks tick in 2 s."""


class FileChange(NamedTuple):
    """A manifest file's new bytes, or ``None`` when the file is gone."""

    path: str
    body: bytes | None


def digest_of(body: bytes) -> bytes:
    """A short content digest: equal bytes, equal digest."""
    return hashlib.blake2b(body, digest_size=16).digest()


class DirectorySource:
    """The manifest files under one path (a directory or a single file) and their changes.

    :meth:`relist` and :meth:`look` return only what changed since they last looked;
    :attr:`exists` says whether the path was there at the last re-list, :attr:`unreadable`
    why it could not be listed (None when it was).
    """

    def __init__(self, path: str) -> None:
        self.path = path.rstrip("/") or "/"
        self.exists = False
        self.single_file = False
        self.has_symlinks = False
        self.unreadable: str | None = None
        self._keys: dict[str, StatKey] = {}
        """Each known manifest file's stat key when it was last read."""
        self._digests: dict[str, bytes] = {}
        """Each known manifest file's digest of its bytes when it was last read."""
        self._names: list[str] | None = None
        """The directory's listing (hidden names left out) in the order of ``_keys``, whose
        paths are these names under the directory; None when not known to be so."""
        self._skipped: set[str] = set()
        self.exposure = ExposureCheck()
        """Warns when others can write the manifests (checked at each re-list, and for a
        file whenever its stat changes: a chmod changes its ctime)."""

    @property
    def directory(self) -> str:
        """The directory to watch: the path itself, or a single file's parent."""
        if self.single_file:
            return os.path.dirname(self.path) or "."
        return self.path

    def watch_directory(self) -> str:
        """The directory inotify must watch for this path, as the path is now."""
        try:
            is_file = stat.S_ISREG(os.stat(self.path).st_mode)
        except OSError:
            is_file = False
        return (os.path.dirname(self.path) or ".") if is_file else self.path

    def known_paths(self) -> list[str]:
        """Every manifest file currently known, in sorted order."""
        return sorted(self._keys)

    def relist(self) -> Iterator[FileChange]:
        """List the whole path again: new, changed and vanished files, as the kubelet's rules say.

        Changes are yielded as they are found, so they can be sent while the scan goes on. A
        missing path is an empty set (every known file is gone), as in the kubelet. A path
        that is there but cannot be listed (a symlink loop, an I/O error, a FIFO, no
        permission) changes nothing: its pods are kept until it can be, as the kubelet's
        ``listConfig`` keeps them when its ``os.Stat`` fails for another reason than
        absence or the path is neither a directory nor a file.
        """
        try:
            mode = os.stat(self.path).st_mode
        except FileNotFoundError:
            self.exists = False
            self._readable()
            yield from self._vanished(set())
            return
        except OSError as error:
            self.exists = False
            self._cannot_list(f"cannot stat: {error.strerror or error}")
            return
        self.exists = True
        self.exposure.path(self.path)
        self.single_file = stat.S_ISREG(mode)
        if self.single_file:
            self._readable()
            self.has_symlinks = os.path.islink(self.path)
            change = self._consider(self.path, relisted=True)
            if change:
                yield change
            yield from self._vanished({self.path})
        elif stat.S_ISDIR(mode):
            yield from self._scan()
        else:
            self._cannot_list("not a directory or a regular file")

    def reread(self, paths: Iterable[str]) -> Iterator[FileChange]:
        """Read ``paths`` again and report them whatever they hold: a restarted worker's resync."""
        for path in paths:
            if path in self._keys:
                self._forget(path)
            change = self._consider(path, relisted=True)
            if change:
                yield change

    def look(self, names: Iterable[str]) -> list[FileChange]:
        """Look at the named entries of the directory after an inotify hint."""
        changes = []
        for name in names:
            if name.startswith("."):
                continue
            if self.single_file:
                if name != os.path.basename(self.path):
                    continue
                path = self.path
            else:
                path = os.path.join(self.path, name)
            change = self._consider(path, relisted=False)
            if change:
                changes.append(change)
        return changes

    def _scan(self) -> Iterator[FileChange]:
        # with no file known (the first listing) nothing can be unchanged: the check would
        # only stat every file a second time
        if self._keys and self._unchanged():
            self._readable()
            return
        present: set[str] = set()
        has_symlinks = False
        known = self._keys
        try:
            entries = os.scandir(self.path)
        except OSError as error:
            self._cannot_list(f"cannot list: {error.strerror or error}")
            return
        self._readable()
        with entries:
            for entry in entries:
                name = entry.name
                if name[0] == ".":
                    continue
                path = entry.path
                try:
                    if entry.is_symlink():
                        has_symlinks = True
                    status = entry.stat()
                except OSError as error:
                    if isinstance(error, FileNotFoundError) and not entry.is_symlink():
                        continue  # removed since it was listed: gone, nothing to say
                    self._skip(path, f"cannot stat: {error.strerror}")
                    continue
                if not stat.S_ISREG(status.st_mode):
                    self._skip_entry(path, status.st_mode)
                    continue
                present.add(path)
                key = _stat_key(status)
                if known.get(path) == key:
                    continue
                self.exposure.file(path, status)
                change = self._read(path, key, relisted=True)
                if change:
                    yield change
        self.has_symlinks = has_symlinks
        yield from self._vanished(present)

    def _unchanged(self) -> bool:
        """Whether the directory holds exactly the known files, each with its known stat key.

        The usual re-list (nothing changed) is answered by loops in C: the names listed, each
        ``stat``-ed relative to the directory and its key compared, in order, with the known
        keys, nothing kept. That needs the known files in the listing's order: a tick whose
        listing is new compares it as a dict and keeps its order. Anything else (a change, a
        ``stat`` that fails, an entry that is not a regular file) says no, and the caller
        walks the directory entry by entry (so a directory that keeps such an entry, a
        subdirectory or a dangling symlink, is walked at every tick, at the cost of a re-list
        before this pass existed). ``has_symlinks`` stays as it was: a name cannot
        turn into a symlink to the same inode, or back, without changing the inode's link
        count or name, and so its ctime.
        """
        try:
            directory = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            names = os.listdir(directory)
            if any(map(_dotted, names)):
                names = list(compress(names, map(not_, map(_dotted, names))))
            stat_in_directory = partial(os.stat, dir_fd=directory)
            if names == self._names:
                statuses = map(stat_in_directory, names)
                return all(map(eq, map(_stat_key, statuses), self._keys.values()))
            keys = list(map(_stat_key, map(stat_in_directory, names)))
        except OSError:
            return False
        finally:
            os.close(directory)
        if not all(map(stat.S_ISREG, map(_mode_of, keys))):
            return False
        prefix = self.path if self.path.endswith("/") else self.path + "/"
        listed = dict(zip(map(prefix.__add__, names), keys, strict=True))
        if listed != self._keys:
            return False
        self._keys = listed
        self._names = names
        return True

    def _consider(self, path: str, *, relisted: bool) -> FileChange | None:
        try:
            status = os.stat(path)
        except OSError:
            status = None
        if status is None or not stat.S_ISREG(status.st_mode):
            if status is not None and relisted:
                self._skip_entry(path, status.st_mode)
            if path not in self._keys:
                return None
            self._forget(path)
            return FileChange(path, None)
        key = _stat_key(status)
        if self._keys.get(path) == key:
            return None
        self.exposure.file(path, status)
        return self._read(path, key, relisted=relisted)

    def _read(self, path: str, key: StatKey, *, relisted: bool) -> FileChange | None:
        try:
            body = _read_at_most(path, key[2])
        except OSError as error:
            # on a re-list an unreadable file has no pod, as in the kubelet; on a hint, wait.
            # One removed since its stat is gone: nothing to say (its removal is an event).
            if relisted:
                if not isinstance(error, FileNotFoundError):
                    self._skip(path, f"cannot read: {error.strerror}")
                if path in self._keys:
                    self._forget(path)
                    return FileChange(path, None)
            return None
        digest = digest_of(body)
        if time.time_ns() - key[3] < RACY_WINDOW_NS:
            # written so recently that another write in the same timestamp tick would not
            # change the stat: read it again next time (git's "racily clean" entries)
            key = _NOT_TRUSTED
        if path not in self._keys:
            self._names = None  # a new file: the listing's order is no longer the keys'
        self._keys[path] = key
        seen_digest = self._digests.get(path)
        self._digests[path] = digest
        self._skipped.discard(path)
        if seen_digest == digest:
            return None
        return FileChange(path, body)

    def _forget(self, path: str) -> None:
        del self._keys[path]
        del self._digests[path]
        self._names = None

    def _vanished(self, present: set[str]) -> list[FileChange]:
        gone = [path for path in self._keys if path not in present]
        for path in gone:
            self._forget(path)
        return [FileChange(path, None) for path in sorted(gone)]

    def _cannot_list(self, reason: str) -> None:
        """The path cannot be listed: every pod is kept, said once per reason."""
        if reason != self.unreadable:
            logs.emit(
                "manifest path unreadable",
                level="error",
                path=self.path,
                reason=reason,
                pods="kept until it can be listed",
            )
        self.unreadable = reason

    def _readable(self) -> None:
        if self.unreadable is not None:
            logs.emit("manifest path readable again", path=self.path)
        self.unreadable = None

    def _skip_entry(self, path: str, mode: int) -> None:
        if stat.S_ISDIR(mode):
            self._skip(path, "is a directory: not recursing")
        else:
            self._skip(path, "is not a regular file")

    def _skip(self, path: str, reason: str) -> None:
        # said once per path, not on every re-list
        if path not in self._skipped:
            self._skipped.add(path)
            logs.emit("manifest skipped", level="warning", file=path, reason=reason)


def _read_at_most(path: str, expected_size: int) -> bytes:
    """The file's bytes, at most one past the manifest limit so an oversize file is caught.

    Sized by the stat just taken, so a small file costs one ``read`` into a small buffer.
    """
    limit = MAX_MANIFEST_BYTES + 1
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        wanted = min(expected_size + 1, limit)
        chunks = [os.read(descriptor, wanted)]
        total = len(chunks[0])
        if total < wanted:
            return chunks[0]
        # the file grew since the stat: keep reading up to the limit
        while chunks[-1] and total < limit:
            chunks.append(os.read(descriptor, min(65536, limit - total)))
            total += len(chunks[-1])
    finally:
        os.close(descriptor)
    return b"".join(chunks)
