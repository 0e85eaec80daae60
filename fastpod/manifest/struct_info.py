"""msgspec's description of a Struct type, with every Struct under it described once.

``msgspec.inspect.type_info`` describes a type with everything under it, so asking it
again for each nested Struct (as a walk of the model does) describes the Pod's inner types
over and over: about 30 ms of a worker's start for each table derived from the model. One
description of the outer type holds those of the inner ones; they are kept for their turn.
"""

from __future__ import annotations

import msgspec

_described: dict[type, msgspec.inspect.StructType] = {}


def struct_info(struct: type[msgspec.Struct]) -> msgspec.inspect.StructType:
    """``msgspec.inspect.type_info(struct)``, described at most once for the process."""
    info = _described.get(struct)
    if info is None:
        described = msgspec.inspect.type_info(struct)
        assert isinstance(described, msgspec.inspect.StructType)
        _remember(described)
        info = described
    return info


def _remember(node: msgspec.inspect.Type) -> None:
    """Keep each Struct description under ``node`` (the types nesting them are Structs of
    ``msgspec.inspect`` too: their fields are walked alike)."""
    if isinstance(node, msgspec.inspect.StructType):
        if node.cls in _described:
            return
        _described[node.cls] = node
        for field in node.fields:
            _remember(field.type)
        return
    for name in node.__struct_fields__:
        value = getattr(node, name)
        for inner in value if isinstance(value, tuple) else (value,):
            if isinstance(inner, msgspec.inspect.Type):
                _remember(inner)
