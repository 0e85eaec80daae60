"""Fixtures of the worker tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from fastpod.config.settings import Config
from fastpod.worker.settings import WorkerSettings, worker_settings
from tests.support.pods import NODE


@pytest.fixture
def settings(tmp_path: Path) -> WorkerSettings:
    """A fast lifecycle: tiny back-off and resync, pod files under ``tmp_path``, prepared
    on this host although the runtime is the fake one, so the tests see them."""
    config = Config(
        node_name=NODE,
        backoff_initial=0.05,
        backoff_max=0.2,
        backoff_reset=60.0,
        resync_period=0.05,
        root_dir=str(tmp_path / "root"),
        pod_logs_dir=str(tmp_path / "log" / "pods"),
    )
    return replace(worker_settings(config, "127.0.0.1"), prepare_host=True)
