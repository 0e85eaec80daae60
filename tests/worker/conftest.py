"""Fixtures of the worker tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.worker.helpers import LogCapture


@pytest.fixture
def captured_logs() -> Iterator[LogCapture]:
    """fastpod's log of the test, in JSON, restored to text on the way out."""
    capture = LogCapture().start()
    yield capture
    capture.stop()
