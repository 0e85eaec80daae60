"""The runtime tests' engines: each test runs once on Docker and once on containerd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.engine_lock import engines_held
from tests.support.engines import Engine, open_engine
from tests.support.kubelet_pods import remove_left


@pytest.fixture(
    params=[
        pytest.param("docker", marks=pytest.mark.docker),
        pytest.param("cri", marks=pytest.mark.containerd),
    ]
)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """Each runtime in turn, with no fastpod container or sandbox before the test or after."""
    with engines_held():
        opened = open_engine(request.param)
        try:
            opened.remove_all()
            yield opened
            opened.remove_all()
        finally:
            opened.close()


@pytest.fixture
def manifests(tmp_path: Path, engine: Engine) -> Path:
    """An empty manifest directory for the test's fastpod, on a clean engine."""
    directory = tmp_path / "manifests"
    directory.mkdir()
    return directory


@pytest.fixture
def kubelet(engine: Engine) -> Iterator[Engine]:
    """The engine, without any pod of the test kubelet's namespace before or after."""
    remove_left(engine)
    yield engine
    remove_left(engine)
