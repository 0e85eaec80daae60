"""The real Docker Engine for the runtime tests: what runs, read with the docker CLI.

`make test` starts the engine (scripts/docker-up) and builds the images (scripts/build-
images) before the tests; every test leaves no fastpod container behind.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.engine_lock import engines_held

BUSYBOX = "fastpod.local/busybox:1.36"
MANAGED = "label=io.fastpod.managed=true"


def docker(*arguments: str) -> str:
    """Run the docker CLI; its standard output."""
    return subprocess.run(["docker", *arguments], check=True, capture_output=True, text=True).stdout


def managed(*filters: str, all_states: bool = True) -> list[dict[str, Any]]:
    """``docker inspect`` of fastpod's containers matching ``filters`` (label=..., name=...)."""
    arguments = ["ps", "-q", "--no-trunc", "--filter", MANAGED]
    if all_states:
        arguments.append("-a")
    for item in filters:
        arguments += ["--filter", item]
    ids = docker(*arguments).split()
    if not ids:
        return []
    # a container may go between the listing and the inspection: inspect what is left
    result = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
    inspected: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return inspected


def remove_all() -> None:
    """Remove every container fastpod manages."""
    for _ in range(50):
        ids = docker("ps", "-aq", "--filter", MANAGED).split()
        if not ids:
            return
        # one may be on its way out already ("removal in progress"): try again
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
        time.sleep(0.1)
    raise AssertionError("fastpod containers remain that cannot be removed")


@pytest.fixture
def clean_engine() -> Iterator[None]:
    """No fastpod container before the test, none after it."""
    with engines_held():
        remove_all()
        yield
        remove_all()
