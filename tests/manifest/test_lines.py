"""Where a field sits in manifest bytes, for the line and column of an error."""

from __future__ import annotations

from fastpod.manifest.lines import locate
from fastpod.manifest.paths import MapKey


def test_locate_finds_nested_fields_list_items_and_map_keys() -> None:
    """Lines and columns are 1-based; a field is placed at its key."""
    data = b"metadata:\n  labels:\n    app: web\nspec:\n  containers:\n  - name: a\n  - name: b\n"
    paths = [("spec", "containers", 1, "name"), ("metadata", "labels", MapKey("app"))]
    assert locate(data, paths) == [(7, 5), (3, 5)]


def test_locate_stops_at_the_deepest_existing_parent() -> None:
    """A missing field is placed at its parent, which is where it should be added."""
    data = b"spec:\n  containers:\n  - name: a\n"
    assert locate(data, [("spec", "containers", 0, "image")]) == [(3, 5)]


def test_locate_knows_nothing_of_bytes_that_do_not_parse() -> None:
    """Positions are a courtesy: an unreadable document gives none, never an error."""
    assert locate(b"a: [\n", [("a",)]) == [None]
