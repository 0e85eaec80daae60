"""The worker's one clock of due times: each sleeping pod loop's alarm rings at its time,
once, and an alarm set sooner or given a later time is not rung by its old one."""

from __future__ import annotations

import asyncio
import functools

from fastpod.worker import wakeup
from fastpod.worker.wakeup import AlarmClock, Wakeup


def _note(rung: list[str], name: str, _: asyncio.Future[None]) -> None:
    rung.append(name)


def test_alarms_ring_in_the_order_of_their_due_times() -> None:
    async def scenario() -> list[str]:
        clock = AlarmClock()
        rung: list[str] = []
        waits = []
        for name, delay in (("late", 0.06), ("early", 0.02), ("middle", 0.04)):
            alarm = Wakeup()
            waiter = alarm.waiter()
            waiter.add_done_callback(functools.partial(_note, rung, name))
            clock.ring_after(alarm, delay)
            waits.append(waiter)
        await asyncio.gather(*waits)
        return rung

    assert asyncio.run(scenario()) == ["early", "middle", "late"]


def test_an_alarm_set_sooner_is_not_rung_again_by_its_due_time() -> None:
    async def scenario() -> bool:
        clock = AlarmClock()
        alarm, witness = Wakeup(), Wakeup()
        first = alarm.waiter()
        clock.ring_after(alarm, 0.02)
        alarm.set()  # a runtime event, before the due time
        await first
        alarm.clear()  # the loop synced; it now waits without a due time
        second = alarm.waiter()
        done = witness.waiter()
        clock.ring_after(witness, 0.05)  # rings well after the old due time
        await done
        return second.done()

    assert asyncio.run(scenario()) is False


def test_a_later_due_time_replaces_the_earlier_one() -> None:
    async def scenario() -> tuple[bool, bool]:
        clock = AlarmClock()
        alarm, witness = Wakeup(), Wakeup()
        waiter = alarm.waiter()
        clock.ring_after(alarm, 0.02)
        clock.ring_after(alarm, 60.0)  # the loop's new time, as after a sync
        done = witness.waiter()
        clock.ring_after(witness, 0.05)
        await done
        early = waiter.done()
        clock.ring_after(alarm, 0.0)
        await waiter
        return early, waiter.done()

    assert asyncio.run(scenario()) == (False, True)


def test_stale_due_times_are_dropped_and_live_ones_still_ring() -> None:
    async def scenario() -> tuple[int, bool]:
        clock = AlarmClock()
        alarms = [Wakeup() for _ in range(10)]
        waiters = [alarm.waiter() for alarm in alarms]
        for _ in range(wakeup.COMPACT_FROM):  # the same loops woken and asleep again
            for alarm in alarms:
                clock.ring_after(alarm, 60.0)
        size = len(clock._heap)
        for alarm in alarms:
            clock.ring_after(alarm, 0.0)
        await asyncio.gather(*waiters)
        clock.stop()
        return size, all(waiter.done() for waiter in waiters)

    size, all_rung = asyncio.run(scenario())
    assert size < 2 * wakeup.COMPACT_FROM
    assert all_rung
