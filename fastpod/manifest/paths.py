"""Field paths: where in a manifest a problem is, written as Kubernetes writes them."""

from __future__ import annotations

import re


class MapKey(str):
    """A key of a map (a label, an annotation, a resource name), not a field name."""

    __slots__ = ()


FieldPath = tuple[str | int, ...]
"""Segments from the document root: field names, list indexes and map keys."""


def render(path: FieldPath) -> str:
    """The path as the API server prints it: ``spec.containers[0].ports[1].name``."""
    parts: list[str] = []
    for segment in path:
        if isinstance(segment, int | MapKey):
            parts.append(f"[{segment}]")
        else:
            parts.append(f".{segment}" if parts else segment)
    return "".join(parts) or "<document>"


_MSGSPEC_SEGMENT = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]|\[\.\.\.\]")


def from_msgspec(location: str) -> FieldPath:
    """The path of a msgspec error location such as ``$.spec.containers[0].image``.

    msgspec writes a map entry as ``[...]``; the path then stops at the map itself.
    """
    path: list[str | int] = []
    for match in _MSGSPEC_SEGMENT.finditer(location.removeprefix("$")):
        name, index = match.group(1), match.group(2)
        if name is not None:
            path.append(name)
        elif index is not None:
            path.append(int(index))
        else:
            break
    return tuple(path)
