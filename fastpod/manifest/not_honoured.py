"""PURE: the fields a pod sets that fastpod does not honour, found through the registry.

:data:`~fastpod.manifest.honoured.REGISTRY` names fields by pattern
(``spec.containers[].resizePolicy``); :func:`warnings` walks a pod and names each field it
sets whose entry warns, with its real indexes (``spec.containers[0].resizePolicy``). The walk
runs for every pod a worker takes, so the model is compiled once into a tree holding only
the fields that can warn or lead to one that can: a pod's honoured parts are never visited.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import msgspec

from fastpod.manifest.honoured import REGISTRY, Honour, not_honoured
from fastpod.manifest.paths import FieldPath, MapKey, render
from fastpod.manifest.struct_info import struct_info
from fastpod.model import Pod

UNCLASSIFIED = not_honoured("fastpod does not know whether it honours this field")
"""For a field missing from the registry (a test keeps it from happening): never silent."""

VERDICTS = {"partly": "partly honoured by fastpod", "not honoured": "not honoured by fastpod"}


class ModelField(NamedTuple):
    """One field of the model: its pattern, and the Struct its value (or each item) is."""

    pattern: str
    attribute: str
    name: str
    struct: type[msgspec.Struct] | None
    many: bool


class Finding(NamedTuple):
    """A field a pod sets that fastpod does not fully honour."""

    path: FieldPath
    pattern: str
    honour: Honour

    @property
    def message(self) -> str:
        """``not honoured by fastpod: <reason>``: what a warning about the field says."""
        return f"{VERDICTS[self.honour.status]}: {self.honour.note}"


def warnings(pod: Pod) -> list[str]:
    """Each field ``pod`` sets that fastpod does not honour, as one sentence:
    ``spec.containers[0].resizePolicy: not honoured by fastpod: <reason>``."""
    return [f"{render(found.path)}: {found.message}" for found in findings(pod)]


def findings(pod: Pod) -> list[Finding]:
    """Each field ``pod`` sets whose registry entry warns, in the model's order."""
    found: list[Finding] = []
    root = _compiled(Pod, "")
    if root is not None:
        _walk(root, root.values(pod), (), (pod,), found)
    return found


def model_fields(struct: type[msgspec.Struct] = Pod, prefix: str = "") -> Iterator[ModelField]:
    """Every field under ``struct``, depth first in declaration order, through nested
    Structs, lists, dicts and unions."""
    info = struct_info(struct)
    for field in info.fields:
        pattern = f"{prefix}.{field.encode_name}" if prefix else field.encode_name
        nested, many = _struct_in(field.type)
        yield ModelField(pattern, field.name, field.encode_name, nested, many)
        if nested is not None:
            yield from model_fields(nested, f"{pattern}[]" if many else pattern)


def honour_of(pattern: str) -> Honour | None:
    """The entry that speaks for ``pattern``: its own, else an ancestor's that covers its
    children; None when there is neither."""
    entry = REGISTRY.get(pattern)
    if entry is not None:
        return entry
    parts = pattern.split(".")
    for end in range(len(parts) - 1, 0, -1):
        parent = ".".join(parts[:end])
        for candidate in (parent, parent.removesuffix("[]")):
            ancestor = REGISTRY.get(candidate)
            if ancestor is not None and ancestor.covers_children:
                return ancestor
    return None


def _struct_in(field_type: msgspec.inspect.Type) -> tuple[type[msgspec.Struct] | None, bool]:
    if isinstance(field_type, msgspec.inspect.StructType):
        return field_type.cls, False
    if isinstance(field_type, msgspec.inspect.ListType | msgspec.inspect.DictType):
        item = (
            field_type.item_type
            if isinstance(field_type, msgspec.inspect.ListType)
            else field_type.value_type
        )
        nested, _ = _struct_in(item)
        return nested, nested is not None
    if isinstance(field_type, msgspec.inspect.UnionType):
        for member in field_type.types:
            nested, many = _struct_in(member)
            if nested is not None:
                return nested, many
    return None, False


class _Field(NamedTuple):
    name: str
    pattern: str
    honour: Honour
    warns: bool
    children: _Node | None
    many: bool


class _Node(NamedTuple):
    """The fields of one Struct the walk looks at, and a getter of their values (in C)."""

    fields: tuple[_Field, ...]
    values: Callable[[Any], tuple[Any, ...]]


@functools.cache
def _compiled(struct: type[msgspec.Struct], prefix: str) -> _Node | None:
    """The fields under ``struct`` the walk must look at: those that warn, and those
    leading to one that does; None when there is none."""
    kept, attributes = [], []
    info = struct_info(struct)
    for field in info.fields:
        pattern = f"{prefix}.{field.encode_name}" if prefix else field.encode_name
        honour = honour_of(pattern) or UNCLASSIFIED
        nested, many = _struct_in(field.type)
        children = None
        if nested is not None and not honour.covers_children:
            children = _compiled(nested, f"{pattern}[]" if many else pattern)
        if honour.warns or children is not None:
            kept.append(_Field(field.encode_name, pattern, honour, honour.warns, children, many))
            attributes.append(field.name)
    if not kept:
        return None
    getter = operator.attrgetter(*attributes)
    values = getter if len(attributes) > 1 else lambda owner: (getter(owner),)
    return _Node(tuple(kept), values)


_EMPTY = (str, list, dict)


def _walk(
    node: _Node,
    values: tuple[Any, ...],
    prefix: FieldPath,
    enclosing: tuple[Any, ...],
    found: list[Finding],
) -> None:
    # callers skip an owner whose values are all None, in C, before calling: the common case
    for field, value in zip(node.fields, values):  # noqa: B905 (same length)
        if value is None or (not value and type(value) in _EMPTY):
            continue
        if field.warns:
            honour = field.honour
            if honour.when is None or honour.when(value, enclosing):
                found.append(Finding((*prefix, field.name), field.pattern, honour))
        children = field.children
        if children is None:
            continue
        if not field.many:
            inner = children.values(value)
            if inner.count(None) != len(inner):
                _walk(children, inner, (*prefix, field.name), (*enclosing, value), found)
            continue
        items = (
            ((MapKey(key), item) for key, item in value.items())
            if isinstance(value, dict)
            else enumerate(value)
        )
        for index, item in items:
            inner = children.values(item)
            if inner.count(None) != len(inner):
                here = (*prefix, field.name, index)
                _walk(children, inner, here, (*enclosing, item), found)
