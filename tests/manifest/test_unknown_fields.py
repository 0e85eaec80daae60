"""The unknown fields of a manifest are named alike whether or not the strict check finds one.

``unknown_fields`` first converts the values into strict mirrors of the Structs and walks
them only when that refuses; the answers are compared with a plain walk written here from
the Structs' own type information, on every Pod of the corpus as it is and with a field
added to each of its objects, one at a time and all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

import msgspec
import pytest

from fastpod.manifest.documents import Document, load_document
from fastpod.manifest.paths import FieldPath
from fastpod.manifest.unknown_fields import unknown_fields
from fastpod.model import Pod
from tests.support.corpus import corpus_files

ADDED = "fastpodNoSuchField"


def _struct_of(field_type: msgspec.inspect.Type) -> type[msgspec.Struct] | None:
    if isinstance(field_type, msgspec.inspect.StructType):
        return field_type.cls
    if isinstance(field_type, msgspec.inspect.ListType):
        return _struct_of(field_type.item_type)
    if isinstance(field_type, msgspec.inspect.UnionType):
        return next(filter(None, map(_struct_of, field_type.types)), None)
    return None


def _objects(
    raw: Any, struct_type: type[msgspec.Struct], path: FieldPath = ()
) -> Iterator[tuple[FieldPath, dict[str, Any], frozenset[str]]]:
    """Every object of ``raw`` that converts into a Struct, outermost first, with its path and
    the Struct's field names."""
    if isinstance(raw, list):
        for index, item in enumerate(raw):
            yield from _objects(item, struct_type, (*path, index))
        return
    if not isinstance(raw, dict):
        return
    fields = _fields(struct_type)
    yield path, raw, frozenset(fields)
    for name, nested in fields.items():
        if nested is not None and raw.get(name) is not None:
            yield from _objects(raw[name], nested, (*path, name))


@cache
def _fields(struct_type: type[msgspec.Struct]) -> dict[str, type[msgspec.Struct] | None]:
    """A Struct's JSON field names, each with the Struct it holds, if any."""
    info = msgspec.inspect.type_info(struct_type)
    assert isinstance(info, msgspec.inspect.StructType)
    return {field.encode_name: _struct_of(field.type) for field in info.fields}


def _walked(raw: Any) -> list[FieldPath]:
    return [
        (*path, key)
        for path, value, names in _objects(raw, Pod)
        for key in value
        if key not in names
    ]


def _corpus_pods() -> list[Any]:
    pods = []
    for path in corpus_files():
        document = load_document(path.read_bytes())
        if not isinstance(document, Document) or not isinstance(document.value, dict):
            continue
        try:
            msgspec.convert(document.value, Pod)
        except msgspec.ValidationError:
            continue
        pods.append(pytest.param(document.value, id=path.name))
    return pods


PODS = _corpus_pods()


@pytest.mark.skipif(not PODS, reason="no manifest corpus")
@pytest.mark.parametrize("raw", PODS)
def test_unknown_fields_are_those_a_walk_finds(raw: Any) -> None:
    """As written, with one field added to each object in turn, then to all at once (the
    values are a fresh parse of the file, changed in place)."""
    assert unknown_fields(raw, Pod) == _walked(raw)
    targets = [target for _, target, _ in _objects(raw, Pod)]
    for target in targets:
        target[ADDED] = 1
        assert unknown_fields(raw, Pod) == _walked(raw) != []
        del target[ADDED]
    for target in targets:
        target[ADDED] = 1
    assert unknown_fields(raw, Pod) == _walked(raw)
    assert sum(path[-1] == ADDED for path in _walked(raw)) == len(targets)
