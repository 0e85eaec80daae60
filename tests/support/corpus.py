"""Where the manifest corpus lives, and skipping the tests that need it when it is absent.

The corpus holds real Pod manifests copied from public repositories; it is not part of the
repository. ``FASTPOD_CORPUS`` names its ``pods`` directory (a relative path is taken from
the repository root); by default it is ``../shared/corpus/pods`` beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS_VARIABLE = "FASTPOD_CORPUS"
DEFAULT_CORPUS = "../shared/corpus/pods"
CORPUS_METADATA = frozenset({"INDEX.tsv", "SOURCES.tsv"})
"""The corpus' own bookkeeping files, which are no manifests."""


def corpus_location() -> Path:
    """Where the corpus should be, whether or not it is there."""
    return (REPO_ROOT / os.environ.get(CORPUS_VARIABLE, DEFAULT_CORPUS)).resolve()


MISSING = (
    f"no manifest corpus at {corpus_location()} "
    f"(set {CORPUS_VARIABLE} to the corpus' pods directory to run these tests)"
)
"""Why a corpus test is skipped: the one reason all of them give."""

needs_corpus = pytest.mark.skipif(not corpus_location().is_dir(), reason=MISSING)
"""Marks a test that reads the corpus at collection time (a parameter list of its files)."""


def corpus_dir() -> Path:
    """The corpus directory; skips the calling test when it is absent."""
    location = corpus_location()
    if not location.is_dir():
        pytest.skip(MISSING)
    return location


def corpus_files() -> list[Path]:
    """Every manifest of the corpus, sorted; none when it is absent."""
    location = corpus_location()
    if not location.is_dir():
        return []
    return sorted(
        path
        for path in location.rglob("*")
        if path.is_file() and path.relative_to(location).as_posix() not in CORPUS_METADATA
    )
