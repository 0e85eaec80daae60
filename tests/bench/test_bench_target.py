"""The bench's runtime target says which runtime stopped answering, and for how long."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from fastpod.bench import target
from fastpod.bench.options import TargetSettings
from fastpod.bench.target import Target, TargetError


@pytest.fixture
def silent_engine(tmp_path: Path) -> Iterator[str]:
    """A Unix socket that takes connections and never answers, as a wedged dockerd does."""
    path = str(tmp_path / "docker.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    try:
        yield path
    finally:
        listener.close()


def test_a_runtime_that_never_answers_is_named_in_the_error(
    silent_engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(target, "CALL_TIMEOUT", 0.1)
    bench_target = Target(TargetSettings("docker", docker_socket=silent_engine))
    with pytest.raises(TargetError, match=r"^the docker runtime did not answer within \d+ s$"):
        bench_target.remove_namespace("fastpod-bench-000000")
