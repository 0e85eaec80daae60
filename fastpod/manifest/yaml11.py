"""PyYAML's C loader with go-yaml v2's resolution: YAML 1.1 read as the kubelet reads it.

The kubelet converts YAML to JSON with go-yaml v2 (YAML 1.1) before decoding, so its
scalars resolve differently from PyYAML's defaults: ``y``/``n`` are booleans too, ``1e3``
is a float, ``12:30`` is a string (no base-60 numbers) and timestamps stay strings. The
conversion to JSON also makes every map key a string and every document a tree, so aliases
are expanded, and bounded here (:data:`MAX_ALIASED_NODES`) against alias bombs.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import yaml

if not hasattr(yaml, "CSafeLoader"):  # pragma: no cover - depends on how PyYAML was built
    raise ImportError(
        "PyYAML was built without libyaml; fastpod refuses to parse manifests 8x slower. "
        "Install libyaml (Debian: libyaml-dev) and reinstall PyYAML."
    )


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


_PLAIN_SCALARS = frozenset(f"tag:yaml.org,2002:{name}" for name in ("int", "float", "bool", "null"))
_RESOLVED_CACHE_SIZE = 8192
_resolved: dict[str, str] = {}
"""Plain scalars' tags by text: manifests repeat the same keys and values over and over."""


class _NeedsFullConstructor(Exception):
    """A document using merge keys, explicit tags or unhashable keys: PyYAML builds it."""


class KubeYamlLoader(yaml.CSafeLoader):
    """PyYAML's C loader with go-yaml v2's scalar resolution (see the module docstring).

    Resolution and construction are PyYAML's Python code, and they cost more than libyaml's
    parse. Manifests are plain maps, lists and scalars, so both are specialised for that
    case; anything else goes through PyYAML's own constructor, with the same result.
    """

    bool_values: ClassVar[dict[str, bool]] = {
        **yaml.CSafeLoader.bool_values,
        "y": True,
        "n": False,
    }

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """The tag of an untagged node; only implicit scalar resolvers exist here."""
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _resolved.get(value)
            if tag is None:
                tag = _STR
                for candidate, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if pattern.match(value):
                        tag = str(candidate)
                        break
                if len(_resolved) >= _RESOLVED_CACHE_SIZE:
                    _resolved.clear()
                _resolved[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers are registered, so there is no path to track."""

    def ascend_resolver(self) -> None:
        """No path resolvers are registered, so there is no path to track."""

    def construct_document(self, node: yaml.Node) -> Any:
        """Plain values for a plain document, else PyYAML's full construction.

        Either way the result is a tree with string keys, as go-yaml's conversion to JSON
        makes it: no cycles, and no more aliased copies than :data:`MAX_ALIASED_NODES`.
        """
        try:
            return _Builder(self).build(node)
        except _NeedsFullConstructor:
            value = super().construct_document(node)
            return _as_tree(value, [0], set())
        finally:
            self.constructed_objects = {}
            self.recursive_objects = {}


_BUILDING = object()
"""Marks a collection whose value is being built: meeting it again means a cycle."""


class _Builder:
    """Builds plain maps, lists and scalars from nodes, counting what aliases repeat."""

    def __init__(self, loader: yaml.CSafeLoader) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}  # node id → value, so aliases share it
        self.aliased = 0

    def build(self, node: yaml.Node) -> Any:
        kind = type(node)
        if kind is yaml.ScalarNode:
            tag = node.tag
            if tag == _STR:
                return node.value
            if tag in _PLAIN_SCALARS:
                # no children, no anchors to track: the constructor alone will do
                return self.loader.yaml_constructors[tag](self.loader, node)
            return self.loader.construct_object(node)
        key = id(node)
        value = self.built.get(key)
        if value is not None:
            return self._alias(value)
        self.built[key] = _BUILDING
        if kind is yaml.MappingNode and node.tag == _MAP:
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if type(key_node) is not yaml.ScalarNode or key_node.tag == _MERGE:
                    raise _NeedsFullConstructor
                name = self.build(key_node)
                mapping[name if type(name) is str else _go_key(name)] = self.build(value_node)
            value = mapping
        elif kind is yaml.SequenceNode and node.tag == _SEQ:
            value = [self.build(child) for child in node.value]
        else:
            raise _NeedsFullConstructor
        self.built[key] = value
        return value

    def _alias(self, value: Any) -> Any:
        # Rare: only documents with anchors get here.
        if value is _BUILDING:
            raise yaml.YAMLError("an anchor's value contains itself")
        self.aliased += _count_nodes(value)
        if self.aliased > MAX_ALIASED_NODES:
            raise _too_much_aliasing()
        return value


def _count_nodes(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_count_nodes(item) for item in value.values())
    if isinstance(value, list):
        return 1 + sum(_count_nodes(item) for item in value)
    return 1


MAX_ALIASED_NODES = 100_000
"""How many nodes aliases may repeat in all: past this a document is an alias bomb."""


def _too_much_aliasing() -> yaml.YAMLError:
    return yaml.YAMLError(f"aliases repeat more than {MAX_ALIASED_NODES} nodes (an alias bomb?)")


def _go_key(key: Any) -> str:
    # sigs.k8s.io/yaml turns every map key into a JSON string.
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def _as_tree(value: Any, count: list[int], path: set[int]) -> Any:
    # What PyYAML built may share or nest into itself; go-yaml's conversion yields a tree.
    if not isinstance(value, dict | list):
        return value
    if id(value) in path:
        raise yaml.YAMLError("an anchor's value contains itself")
    count[0] += 1
    if count[0] > MAX_ALIASED_NODES:
        raise _too_much_aliasing()
    path.add(id(value))
    try:
        if isinstance(value, list):
            return [_as_tree(item, count, path) for item in value]
        return {_go_key(key): _as_tree(item, count, path) for key, item in value.items()}
    finally:
        path.discard(id(value))


KubeYamlLoader.yaml_implicit_resolvers = {}
KubeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(
        r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE"
        r"|on|On|ON|off|Off|OFF)$"
    ),
    list("yYnNtTfFoO"),
)
KubeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$"),
    list("-+0123456789"),
)
KubeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
KubeYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
KubeYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])


def _construct_go_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int | float | str:
    # Go's ParseInt(base 0) reads a leading 0 as octal, as PyYAML does. A number outside
    # 64 bits is no int to go-yaml: a decimal one becomes a float, anything else a string.
    raw = str(loader.construct_scalar(node))
    text = raw.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if len(digits) > 64:
        return _construct_go_float(loader, node) if digits.isdigit() else raw
    if digits.startswith("0b"):
        number = sign * int(digits[2:] or "x", 2)
    elif digits.startswith("0x"):
        number = sign * int(digits[2:] or "x", 16)
    elif len(digits) > 1 and digits.startswith("0") and set(digits) <= set("01234567"):
        number = sign * int(digits, 8)
    else:
        number = sign * int(digits)
    if -(2**63) <= number < 2**64:
        return number
    return _construct_go_float(loader, node) if digits.isdigit() else raw


def _construct_go_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> float | str:
    # ParseFloat fails on overflow, and go-yaml then keeps the text as a string.
    raw = str(loader.construct_scalar(node))
    number = loader.construct_yaml_float(node)
    if math.isinf(number) and "inf" not in raw.lower():
        return raw
    return float(number)


KubeYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_go_float)
KubeYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_go_int)
