"""One event loop for all of a bench run's calls to the runtime.

gRPC's asyncio stack binds its completion queue's poller to every event loop that makes a
call and never unbinds one: after a loop per call (``asyncio.run``), each event from
containerd reaches the closed loops too, which print ``Event loop is closed`` tracebacks
(grpc/grpc#23377 made the poller bind to such ephemeral loops). The bench's calls are made
one after another from its main thread, so they share this loop, closed at exit.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_runner: asyncio.Runner | None = None


def run(call: Coroutine[Any, Any, T]) -> T:
    """Run ``call`` to its end on the bench's event loop (from the main thread)."""
    global _runner
    if _runner is None:
        _runner = asyncio.Runner()
        atexit.register(_runner.close)
    return _runner.run(call)
