"""Helpers shared by the tests: where the test data lives, and the usual pod sources."""

from __future__ import annotations

from pathlib import Path

from fastpod.model import PodSource

DATA = Path(__file__).parents[1] / "data"


def manifest_bytes(name: str) -> bytes:
    """The bytes of ``tests/data/manifests/<name>``."""
    return (DATA / "manifests" / name).read_bytes()


FILE = PodSource("file", "/etc/kubernetes/manifests/web.yaml")
"""A manifest file in the usual static pod directory."""

URL = PodSource("http", "http://127.0.0.1:8080/pods")
"""A manifest URL on this machine."""
