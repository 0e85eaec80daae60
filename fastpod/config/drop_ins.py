"""``--config-dir``: the kubelet's drop-in directory, merged over ``--config`` (v1.30+).

The kubelet (``cmd/kubelet/app/server.go`` ``mergeKubeletConfigurations``) walks the
directory with Go's ``filepath.WalkDir`` (lexical order, subdirectories included, where they
fall in that order), takes every file whose extension is ``.conf``, and applies each one to
the configuration so far as a JSON merge patch (RFC 7386): a mapping merges key by key, a
list or a scalar replaces what was there, and ``null`` removes the field. Each drop-in is a
whole ``KubeletConfiguration`` document (``apiVersion`` and ``kind`` included), checked on
its own; a file that cannot be read stops the kubelet, and so it stops fastpod.
"""

from __future__ import annotations

import os
from typing import Any

DROP_IN_EXTENSION = ".conf"


def drop_in_files(directory: str) -> list[str]:
    """The drop-in files under ``directory``, in the order the kubelet applies them.

    Raises OSError when the directory cannot be read (the kubelet's walk fails too).
    """
    found: list[str] = []
    with os.scandir(directory) as entries:
        listed = sorted(entries, key=lambda entry: entry.name)
    for entry in listed:
        if entry.is_dir(follow_symlinks=False):
            found.extend(drop_in_files(entry.path))
        elif os.path.splitext(entry.name)[1] == DROP_IN_EXTENSION or entry.name == ".conf":
            found.append(entry.path)
    return found


def merge_patch(target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied as an RFC 7386 JSON merge patch; neither is changed."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
