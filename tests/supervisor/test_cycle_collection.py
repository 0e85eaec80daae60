"""A child's cycle collection: young passes on a tick, survivors frozen, full passes rare."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Callable, Iterator

import pytest

from fastpod.supervisor import collection
from fastpod.supervisor.collection import (
    PASS_BUDGET,
    REGROWTH,
    SHORTEST_TICK,
    TICK,
    CycleCollection,
    full_pass_due,
    next_interval,
)


class Node:
    """An object that can take part in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cycle() -> tuple[Node, weakref.ref[Node]]:
    first, second = Node(), Node()
    first.other, second.other = second, first
    return first, weakref.ref(first)


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Leave the test process's collector as it was: nothing frozen, automatic passes on."""
    gc.disable()
    yield
    gc.unfreeze()
    gc.enable()


def run_ticks(ticks: int) -> None:
    loop = asyncio.new_event_loop()
    try:
        ticking = CycleCollection(loop)
        ticking.start()
        loop.run_until_complete(asyncio.sleep(TICK * (ticks + 0.5)))
        ticking.stop()
    finally:
        loop.close()


def is_frozen(target: object) -> bool:
    return gc.is_tracked(target) and not any(
        each is target for generation in range(3) for each in gc.get_objects(generation)
    )


def test_a_tick_collects_a_dropped_cycle_and_freezes_what_lives() -> None:
    kept, _ = cycle()
    dropped, dropped_ref = cycle()
    del dropped
    run_ticks(1)
    assert dropped_ref() is None
    assert is_frozen(kept)


def test_a_cycle_dropped_once_frozen_waits_for_the_full_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen, frozen_ref = cycle()
    gc.freeze()
    del frozen
    run_ticks(1)
    assert frozen_ref() is not None, "no full pass before the interval"
    monkeypatch.setattr(collection, "FULL_INTERVAL", 0.0)
    monkeypatch.setattr(collection, "REGROWTH", 0.0)
    run_ticks(1)
    assert frozen_ref() is None


def test_a_full_pass_needs_a_quarter_more_frozen_objects() -> None:
    assert full_pass_due(int(1000 * REGROWTH) + 1, 1000)
    assert not full_pass_due(1000, 1000)


class SteppedLoop:
    """An event loop's clock and timers, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0
        self.delays: list[float] = []

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """The test calls the ticks itself; the delays asked for are noted."""
        self.delays.append(delay)


def test_the_frozen_objects_are_counted_once_an_interval_not_at_every_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted = 0
    count = gc.get_freeze_count

    def counting() -> int:
        nonlocal counted
        counted += 1
        return count()

    monkeypatch.setattr(gc, "get_freeze_count", counting)
    monkeypatch.setattr(collection, "REGROWTH", 1e9)  # counted, never due
    gc.freeze()  # the imports, frozen first as a child freezes them
    loop = SteppedLoop()
    ticking = CycleCollection(loop)  # type: ignore[arg-type]
    counted = 0
    for _ in range(3):
        loop.now += collection.FULL_INTERVAL
        for _ in range(50):  # the ticks of an interval after which no full pass is due
            ticking._tick()
            loop.now += TICK
    assert counted == 3


def test_a_long_pass_brings_the_next_tick_sooner_in_proportion() -> None:
    """A burst's survivors are then collected in several short passes, not one long one."""
    assert next_interval(TICK, PASS_BUDGET * 4) == pytest.approx(TICK / 4)
    assert next_interval(TICK, PASS_BUDGET * 1000) == SHORTEST_TICK


def test_short_passes_bring_the_tick_back_to_its_quiet_period_step_by_step() -> None:
    intervals = [SHORTEST_TICK]
    while intervals[-1] < TICK:
        intervals.append(next_interval(intervals[-1], PASS_BUDGET / 2))
    assert len(intervals) > 2
    assert intervals[-1] == TICK
    assert next_interval(TICK, 0.0) == TICK


def test_the_tick_after_a_long_pass_is_asked_for_sooner(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, PASS_BUDGET * 4, 1.0, 1.0 + PASS_BUDGET / 2])
    monkeypatch.setattr(time, "thread_time", lambda: next(clock))
    loop = SteppedLoop()
    ticking = CycleCollection(loop)  # type: ignore[arg-type]
    ticking.start()
    ticking._tick()  # a pass of four budgets
    ticking._tick()  # a pass of half a budget
    assert loop.delays == [TICK, pytest.approx(TICK / 4), pytest.approx(TICK / 2)]
