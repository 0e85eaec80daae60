"""Where a field sits in manifest bytes: the line and column that error messages show.

Parsing is the cost of a cold scan, so :func:`fastpod.manifest.documents.load_document` keeps
no positions; when a problem must be reported, :func:`locate` parses again, keeping nodes.
"""

from __future__ import annotations

import yaml

from fastpod.manifest.paths import FieldPath
from fastpod.manifest.yaml11 import KubeYamlLoader


def locate(data: bytes, paths: list[FieldPath]) -> list[tuple[int, int] | None]:
    """The 1-based line and column of each field path in the first document, if known.

    One parse serves every path. Walks as deep as the document goes: a missing field is
    placed at its nearest parent.
    """
    loader = KubeYamlLoader(data)
    try:
        root = loader.get_node() if loader.check_node() else None
    except Exception:
        root = None
    finally:
        loader.dispose()
    if root is None:
        return [None] * len(paths)
    return [_position(root, path) for path in paths]


def _position(root: yaml.Node, path: FieldPath) -> tuple[int, int]:
    found = marked = root
    for segment in path:
        step = _child(found, segment)
        if step is None:
            break
        # A field is shown at its key, where a reader looks, even when its value
        # is a block that starts on the next line.
        marked, found = step
    return marked.start_mark.line + 1, marked.start_mark.column + 1


def _child(node: yaml.Node, segment: str | int) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.SequenceNode) and isinstance(segment, int):
        items: list[yaml.Node] = node.value
        return (items[segment], items[segment]) if 0 <= segment < len(items) else None
    if isinstance(node, yaml.MappingNode) and isinstance(segment, str):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        for key, value in pairs:
            if key.value == str(segment):
                return key, value
    return None
