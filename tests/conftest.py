"""Fixtures every test module may use."""

from pathlib import Path

import pytest

from tests.support.corpus import corpus_dir

pytest_plugins = [
    "tests.support.http_server",
    "tests.support.docker_engine",
    "tests.support.containerd_engine",
]


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The manifest corpus directory; a test asking for it is skipped when it is absent."""
    return corpus_dir()
