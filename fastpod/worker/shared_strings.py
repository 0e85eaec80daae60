"""One copy of each string of the pods a worker holds, whichever pod and decoder it came from.

A decoded pod holds a new string object for every scalar of its manifest, though most of
them are the same in every pod of a node (images, commands, mount paths, label keys, the
defaults): about 2 KB of a kubeadm-like pod's 5 KB, by tracemalloc over pods decoded from
the channel. The desired pods intern a pod's strings as they take its claim, before the
next claim is decoded, so that the freed copies make room for the next pod's: interned
later (as each pod loop first synced, say), they are freed among the pods' other objects
and the process keeps the blocks. Objects are replaced by equal ones, so nothing that reads
the pod can tell.

The table is the worker's own, not ``sys.intern``'s: on Python 3.12 an interned string is
immortal, so every name, UID and hash of a pod since removed would stay for good. The
table keeps the strings it holds alive, so it starts again once it holds
:data:`STRINGS_KEPT`; a common string is then held twice at most, once by the older pods.

Measured by ``bench/macro/pipeline.py memory-quiet`` in paired runs: 277 → 256 MB RSS over
10,000 pods after a cold start, 259 → 237 MB after a warm one (about 10 MB a worker;
interned at each pod loop's first turn instead, 11 MB in all). The cost is CPU as the
pods are taken: 14-20 µs a pod, beside 60-80 µs for decoding its YAML.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct
from msgspec.structs import astuple

STRINGS_KEPT = 1 << 17
"""About ten strings of each of 10,000 pods, and those repeated: a few MB of table."""

_table: dict[str, str] = {}
_shared = _table.setdefault  # _shared(s, s): the table's equal of s, s itself if new


def share_strings(value: Struct) -> None:
    """Replace, in place, every string reachable from ``value`` by its shared equal.

    Structs and lists are changed in place; a dict holding a string not yet shared is
    replaced by an equal one (its keys cannot be swapped in place).
    """
    if len(_table) >= STRINGS_KEPT:
        _table.clear()
    _share_struct(value)


def _share_struct(value: Struct) -> None:
    for name, field in zip(value.__struct_fields__, astuple(value), strict=True):
        if field is None:
            continue
        kind = type(field)
        if kind is str:
            interned = _shared(field, field)
            if interned is not field:
                setattr(value, name, interned)
        elif kind is list:
            _share_list(field)
        elif kind is dict:
            shared = _shared_dict(field)
            if shared is not field:
                setattr(value, name, shared)
        elif isinstance(field, Struct):
            _share_struct(field)


def _share_list(value: list[Any]) -> None:
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str:
            value[index] = _shared(item, item)
        elif kind is dict:
            value[index] = _shared_dict(item)
        elif kind is list:
            _share_list(item)
        elif isinstance(item, Struct):
            _share_struct(item)


def _shared_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    items = []
    changed = False
    for key, item in value.items():
        shared_key = _shared(key, key) if type(key) is str else key
        kind = type(item)
        if kind is str:
            shared_item: Any = _shared(item, item)
        elif kind is dict:
            shared_item = _shared_dict(item)
        else:
            shared_item = item
            if kind is list:
                _share_list(item)
            elif isinstance(item, Struct):
                _share_struct(item)
        changed = changed or shared_key is not key or shared_item is not item
        items.append((shared_key, shared_item))
    return dict(items) if changed else value
