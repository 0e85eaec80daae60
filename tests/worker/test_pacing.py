"""The pacer of pod-loop syncs: a few per turn of the event loop, in order, none while held."""

from __future__ import annotations

import asyncio

from fastpod.worker.pacing import Pacer


async def _take(pacer: Pacer, name: str, log: list[str]) -> None:
    turn = pacer.turn()
    if turn is not None:
        await turn
    log.append(name)


async def _turns_of_the_loop(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


def test_a_burst_is_let_through_a_few_per_turn_of_the_loop_in_order() -> None:
    async def scenario() -> list[list[str]]:
        pacer = Pacer(per_turn=3)
        log: list[str] = []
        names = [f"pod-{index}" for index in range(10)]
        tasks = [asyncio.create_task(_take(pacer, name, log)) for name in names]
        seen = []
        while len(log) < len(names):
            await asyncio.sleep(0)
            seen.append(list(log))
        await asyncio.gather(*tasks)
        assert log == names
        return seen

    seen = asyncio.run(scenario())
    growth = [len(after) - len(before) for before, after in zip([[], *seen], seen, strict=False)]
    assert max(growth) <= 3
    assert len(seen) >= 4


def test_other_callbacks_run_between_the_turns() -> None:
    async def scenario() -> None:
        pacer = Pacer(per_turn=2)
        log: list[str] = []
        tasks = [asyncio.create_task(_take(pacer, f"pod-{index}", log)) for index in range(8)]
        await asyncio.sleep(0)
        asyncio.get_running_loop().call_soon(log.append, "manifest")
        await asyncio.gather(*tasks)
        assert 0 < log.index("manifest") < 6

    asyncio.run(scenario())


def test_a_held_pacer_gives_no_turn_until_opened() -> None:
    async def scenario() -> None:
        pacer = Pacer(per_turn=4, held=True)
        log: list[str] = []
        tasks = [asyncio.create_task(_take(pacer, f"pod-{index}", log)) for index in range(5)]
        await _turns_of_the_loop(10)
        assert log == []
        assert pacer.waiting == 5
        pacer.open()
        await asyncio.gather(*tasks)
        assert log == [f"pod-{index}" for index in range(5)]

    asyncio.run(scenario())


def test_a_loop_cancelled_while_waiting_does_not_use_a_turn() -> None:
    async def scenario() -> None:
        pacer = Pacer(per_turn=1, held=True)
        log: list[str] = []
        first = asyncio.create_task(_take(pacer, "first", log))
        second = asyncio.create_task(_take(pacer, "second", log))
        await asyncio.sleep(0)
        first.cancel()
        pacer.open()
        await second
        assert log == ["second"]
        assert first.cancelled()

    asyncio.run(scenario())


def test_a_few_loops_go_on_without_waiting() -> None:
    async def scenario() -> None:
        pacer = Pacer(per_turn=2)
        assert pacer.turn() is None
        assert pacer.turn() is None
        third = pacer.turn()
        assert third is not None
        await third

    asyncio.run(scenario())
