"""The fields of a manifest that the Pod does not know: ignored, and named in a warning.

Every decode asks, and nearly every manifest has none, so the question is answered twice:
first by converting the plain values once more, into a mirror of the Struct types that
refuses unknown fields (:func:`_strict`: one C-level pass, a quarter of the cost of
walking the dicts in Python); only when that refuses does :func:`_collect_unknown` walk the
values to name every unknown field, in the order it always has.

The mirror descends exactly where the walk does: into each field whose type holds a Struct
(directly, in a list, or ``| None``), and nowhere else (opaque values, maps), with the same
JSON names. So, for values that the real types accepted, the mirror refuses them if and only
if the walk would find an unknown field; anything else it refuses also takes the walk.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple, Union

import msgspec

from fastpod.manifest.paths import FieldPath, MapKey
from fastpod.manifest.struct_info import struct_info


class Schema(NamedTuple):
    """What a Struct type knows: its JSON field names, and those holding nested Structs."""

    fields: frozenset[str]
    nested: tuple[tuple[str, Schema], ...]


def unknown_fields(raw: Any, struct_type: type[msgspec.Struct]) -> list[FieldPath]:
    """Paths of the fields in ``raw`` that ``struct_type`` does not know (they are ignored).

    ``raw`` is expected to have converted into ``struct_type`` already."""
    try:
        msgspec.convert(raw, _strict(struct_type))
    except msgspec.ValidationError:
        pass  # an unknown field somewhere (or another refusal): name them all
    else:
        return []
    found: list[FieldPath] = []
    _collect_unknown(raw, _schema(struct_type), (), found)
    return found


def _collect_unknown(raw: Any, schema: Schema, path: FieldPath, found: list[FieldPath]) -> None:
    if isinstance(raw, list):
        for index, item in enumerate(raw):
            _collect_unknown(item, schema, (*path, index), found)
        return
    if not isinstance(raw, dict):
        return
    if not schema.fields.issuperset(raw):
        found.extend(
            (*path, key if isinstance(key, str) else MapKey(str(key)))
            for key in raw
            if key not in schema.fields
        )
    for name, child in schema.nested:
        value = raw.get(name)
        if value is not None:
            _collect_unknown(value, child, (*path, name), found)


@cache
def _schema(struct_type: type[msgspec.Struct]) -> Schema:
    info = struct_info(struct_type)
    nested = ((field.encode_name, _nested(field.type)) for field in info.fields)
    return Schema(
        frozenset(field.encode_name for field in info.fields),
        tuple((name, child) for name, child in nested if child is not None),
    )


def _nested(field_type: msgspec.inspect.Type) -> Schema | None:
    if isinstance(field_type, msgspec.inspect.StructType):
        return _schema(field_type.cls)
    if isinstance(field_type, msgspec.inspect.ListType):
        return _nested(field_type.item_type)
    if isinstance(field_type, msgspec.inspect.UnionType):
        for member in field_type.types:
            nested = _nested(member)
            if nested is not None:
                return nested
    return None


@cache
def _strict(struct_type: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """A Struct with the same JSON field names that refuses unknown ones, its fields typed
    as :func:`_mirror` says: the shape :func:`_collect_unknown` walks, nothing more."""
    info = struct_info(struct_type)
    return msgspec.defstruct(
        f"Strict{struct_type.__name__}",
        [(field.name, _mirror(field.type), None) for field in info.fields],
        kw_only=True,
        rename={field.name: field.encode_name for field in info.fields},
        forbid_unknown_fields=True,
        gc=False,
    )


def _mirror(field_type: msgspec.inspect.Type) -> Any:
    """A Struct as its strict mirror, a list or an optional value of one likewise; any other
    type (which the walk does not enter) as ``Any``."""
    if _nested(field_type) is None:
        return Any
    if isinstance(field_type, msgspec.inspect.StructType):
        return _strict(field_type.cls)
    if isinstance(field_type, msgspec.inspect.ListType):
        return list[_mirror(field_type.item_type)]  # type: ignore[misc]
    assert isinstance(field_type, msgspec.inspect.UnionType)
    members = tuple(
        None if isinstance(member, msgspec.inspect.NoneType) else _mirror(member)
        for member in field_type.types
    )
    return Union[members]  # noqa: UP007 (built at run time from a tuple)
