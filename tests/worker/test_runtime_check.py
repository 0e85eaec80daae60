"""A worker's runtime check: the runtime's own ping, asked at most once a second."""

from __future__ import annotations

import asyncio

import pytest

from fastpod.runtime.base import RuntimeUnavailable
from fastpod.runtime.fake import FakeRuntime
from fastpod.worker import health
from fastpod.worker.health import RuntimeCheck
from tests.support.worker import run


class CountingRuntime(FakeRuntime):
    """Counts its pings; a ping takes ``delay`` seconds."""

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__()
        self.pings = 0
        self.delay = delay

    async def ping(self, timeout: float) -> None:
        self.pings += 1
        await asyncio.sleep(self.delay)
        await super().ping(timeout)


def test_a_runtime_that_does_not_answer_is_named_with_its_reason() -> None:
    runtime = FakeRuntime()
    runtime.down = "GET /_ping: Docker unreachable: connection refused"

    async def scenario() -> None:
        assert await RuntimeCheck(runtime).problem() == runtime.down

    run(scenario)


def test_answers_are_kept_for_a_second_then_asked_again() -> None:
    """``/healthz`` asked in a loop pings the runtime once a second, not once a question."""
    now = [100.0]
    runtime = CountingRuntime()
    check = RuntimeCheck(runtime, clock=lambda: now[0])

    async def scenario() -> None:
        assert await check.problem() is None
        runtime.down = "gone"
        now[0] += health.RUNTIME_CHECK_EVERY / 2
        assert await check.problem() is None
        assert runtime.pings == 1
        now[0] += health.RUNTIME_CHECK_EVERY
        assert await check.problem() == "gone"
        assert runtime.pings == 2

    run(scenario)


def test_questions_at_once_share_one_ping() -> None:
    runtime = CountingRuntime(delay=0.05)
    check = RuntimeCheck(runtime)

    async def scenario() -> None:
        answers = await asyncio.gather(*(check.problem() for _ in range(5)))
        assert answers == [None] * 5
        assert runtime.pings == 1

    run(scenario)


def test_a_ping_that_raises_anything_is_a_problem_not_a_crash() -> None:
    """A health check reports; it never takes the worker down."""

    class Broken(FakeRuntime):
        async def ping(self, timeout: float) -> None:
            raise OSError("socket gone")

    async def scenario() -> None:
        assert await RuntimeCheck(Broken()).problem() == "socket gone"

    run(scenario)


def test_the_fake_runtime_down_raises_runtime_unavailable() -> None:
    runtime = FakeRuntime()
    runtime.down = "stopped"

    async def scenario() -> None:
        with pytest.raises(RuntimeUnavailable, match="stopped"):
            await runtime.ping(1.0)

    run(scenario)
