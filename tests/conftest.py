"""Fixtures every test module may use."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from fastpod import logs
from tests.support.corpus import corpus_dir
from tests.support.logs import LogCapture

pytest_plugins = [
    "tests.support.http_server",
    "tests.support.docker_engine",
    "tests.support.containerd_engine",
    "tests.support.cluster_api",
]


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The manifest corpus directory; a test asking for it is skipped when it is absent."""
    return corpus_dir()


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    """fastpod's log of the test, as records, written nowhere."""
    with logs.capture() as captured:
        yield LogCapture(captured)
