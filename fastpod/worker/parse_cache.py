"""Decoded manifests kept under ``--root-dir``, so a restart over unchanged files skips decoding.

A warm start (fastpod restarted over the same manifests) would otherwise parse, default and
validate every file again, the same work with the same outcome. Each worker keeps, in one
file of its own (``<root-dir>/parse-cache/worker-<index>.msgpack``), the decoded pod and
warnings of every manifest file it holds, keyed by the content's digest and the file's
path; the file also names the node and fastpod's version, which includes a digest of the
decoding code itself, so a new fastpod or a code change never reads an old entry.

The cache is only ever a shortcut: an unreadable, truncated or foreign file is ignored (and
said so in the log), an entry is used only for the same bytes at the same path, and the file
is replaced whole (written beside it, then renamed), so a crash leaves the old one or the
new one. It holds entries only for the files held when it is written, at most
:data:`MAX_ENTRIES` of them and :data:`MAX_BYTES` in all.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import msgspec

import fastpod
from fastpod import logs
from fastpod.manifest.decode import DecodedPod
from fastpod.manifest.paths import MapKey
from fastpod.model import PodSource
from fastpod.whole_file import replace_file

DIRECTORY = "parse-cache"
MAX_ENTRIES = 100_000
MAX_BYTES = 256 * 1024 * 1024


def _code_version() -> str:
    # The package's version does not change while the code does; a digest of the code that
    # turns bytes into a DecodedPod does.
    package = Path(fastpod.__file__).parent
    digest = hashlib.blake2b(digest_size=8)
    for path in sorted([package / "model.py", *package.glob("manifest/*.py")]):
        digest.update(path.read_bytes())
    return f"{fastpod.__version__}+{digest.hexdigest()}"


VERSION = _code_version()


class CacheFile(msgspec.Struct, frozen=True):
    """What one worker's cache file holds: whose it is, and encoded ``DecodedPod``s by key."""

    version: str
    node: str
    entries: dict[str, bytes]


_file_decoder = msgspec.msgpack.Decoder(CacheFile)
_pod_decoder = msgspec.msgpack.Decoder(DecodedPod)
_encode = msgspec.msgpack.encode


def entry_key(digest: bytes, source: PodSource) -> str:
    """The key of a manifest file's content at its path."""
    return f"{digest.hex()} {source.location}"


class ParseCache:
    """One worker's cache: read once at start, written after a re-list when it changed."""

    def __init__(self, path: str, node_name: str, version: str = VERSION) -> None:
        self.path = path
        self.node_name = node_name
        self.version = version
        self._entries = self._read()
        self._on_disk = False  # entries were dropped from memory after a write
        self._changed = False

    def get(self, digest: bytes, source: PodSource) -> DecodedPod | None:
        """The decoded pod of these bytes at this path, if a previous run decoded them."""
        encoded = self._entries.get(entry_key(digest, source))
        if encoded is None:
            return None
        try:
            return _pod_decoder.decode(encoded)
        except (msgspec.DecodeError, ValueError):
            self._entries.pop(entry_key(digest, source), None)
            return None

    def put(self, digest: bytes, source: PodSource, decoded: DecodedPod) -> None:
        """Keep what these bytes at this path decode to, for the next start."""
        if any(isinstance(segment, MapKey) for w in decoded.warnings for segment in w.path):
            return  # a path's MapKey would come back a plain str: not worth a special case
        self._entries[entry_key(digest, source)] = _encode(decoded)
        self._changed = True

    def save(self, held: Iterable[str]) -> None:
        """Write the entries of the ``held`` keys (the files held now), if anything changed.

        After a write the entries leave memory; a later write reads them back from the file.
        """
        content = self.prepare(held)
        if content is not None and (error := self.write(content)) is not None:
            self.unwritten(error)

    def prepare(self, held: Iterable[str]) -> bytes | None:
        """What :meth:`save` would write, None if nothing changed. From now on the entries
        are the file's: :meth:`write` it before the next :meth:`prepare` reads it back."""
        if not self._changed:
            return None
        entries = {**self._read(), **self._entries} if self._on_disk else self._entries
        kept: dict[str, bytes] = {}
        size = 0
        for key in held:
            encoded = entries.get(key)
            if encoded is None:
                continue
            size += len(encoded) + len(key)
            if len(kept) >= MAX_ENTRIES or size > MAX_BYTES:
                break
            kept[key] = encoded
        self._entries = {}
        self._on_disk = True
        self._changed = False
        return _encode(CacheFile(self.version, self.node_name, kept))

    def write(self, content: bytes) -> OSError | None:
        """Replace the cache file with ``content`` (from :meth:`prepare`); the error if the
        host refused. It logs nothing and touches nothing of this object's, so a thread can
        do it: the write of a worker's thousands of entries takes tens to hundreds of
        milliseconds of I/O, which its event loop must not wait for."""
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            replace_file(self.path, content, f"{self.path}.new", 0o600)
        except OSError as error:
            return error
        return None

    def unwritten(self, error: OSError) -> None:
        """Say that the cache was not written, and why."""
        logs.emit("parse cache not written", level="warning", path=self.path, error=str(error))

    def _read(self) -> dict[str, bytes]:
        try:
            with open(self.path, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return {}
        except OSError as error:
            return self._ignored(f"unreadable: {error}")
        try:
            cache = _file_decoder.decode(data)
        except (msgspec.DecodeError, ValueError) as error:
            return self._ignored(f"corrupt: {error}")
        if cache.version != self.version or cache.node != self.node_name:
            logs.emit(
                "parse cache from another fastpod or node, ignored",
                path=self.path,
                version=cache.version,
                node=cache.node,
            )
            return {}
        return cache.entries

    def _ignored(self, reason: str) -> dict[str, bytes]:
        logs.emit("parse cache ignored", level="warning", path=self.path, reason=reason)
        return {}


def worker_cache_path(root_dir: str, index: int) -> str:
    """Where worker ``index`` keeps its cache."""
    return os.path.join(root_dir, DIRECTORY, f"worker-{index}.msgpack")
