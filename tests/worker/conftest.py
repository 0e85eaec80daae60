"""Fixtures of the worker tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastpod.worker.pods import LifecycleSettings


@pytest.fixture
def settings(tmp_path: Path) -> LifecycleSettings:
    """A fast lifecycle: tiny back-off and resync, pod files under ``tmp_path``."""
    return LifecycleSettings(
        backoff_initial=0.05,
        backoff_max=0.2,
        backoff_reset=60.0,
        resync_period=0.05,
        root_dir=str(tmp_path / "root"),
        pod_logs_dir=str(tmp_path / "log" / "pods"),
    )
