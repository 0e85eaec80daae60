"""Helpers shared by the tests: where the test data and the shared corpus live."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"


def manifest_bytes(name: str) -> bytes:
    """The bytes of ``tests/data/manifests/<name>``."""
    return (DATA / "manifests" / name).read_bytes()
