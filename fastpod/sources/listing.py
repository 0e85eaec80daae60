"""Which files of a manifest path are manifests, by the kubelet's rules.

Names starting with ``.`` are never read (editors' swap files, ConfigMap-style ``..data``);
entries are taken in sorted order; symlinks are followed; subdirectories are not searched;
a path naming a regular file is the one and only manifest.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from fastpod.manifest.documents import MAX_MANIFEST_BYTES


@dataclass(frozen=True, slots=True)
class Listing:
    """The manifest files found under a path, and the entries skipped with the reason."""

    files: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def list_manifests(path: str) -> Listing:
    """The manifest files of ``path`` (a directory or a single file), in kubelet order.

    Raises ``FileNotFoundError`` when the path does not exist and ``NotADirectoryError`` when
    it is neither a directory nor a regular file.
    """
    path = path.rstrip("/") or "/"
    mode = os.stat(path).st_mode
    if stat.S_ISREG(mode):
        return Listing([path])
    if not stat.S_ISDIR(mode):
        raise NotADirectoryError(f"{path}: path is not a directory or file")
    listing = Listing()
    for name in sorted(os.listdir(path)):
        if name.startswith("."):
            continue
        entry = os.path.join(path, name)
        try:
            entry_mode = os.stat(entry).st_mode
        except OSError as error:
            listing.skipped.append((entry, f"cannot stat: {error.strerror}"))
            continue
        if stat.S_ISREG(entry_mode):
            listing.files.append(entry)
        elif stat.S_ISDIR(entry_mode):
            listing.skipped.append((entry, "is a directory: not recursing"))
        else:
            listing.skipped.append((entry, "is not a regular file"))
    return listing


def read_manifest(path: str) -> bytes:
    """A manifest's bytes, reading one byte past the limit so an oversize file is caught."""
    with open(path, "rb") as manifest:
        return manifest.read(MAX_MANIFEST_BYTES + 1)
