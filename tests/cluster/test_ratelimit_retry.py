"""The client's rate limit is client-go's token bucket; failures back off and log once."""

from __future__ import annotations

from fastpod.cluster.ratelimit import TokenBucket
from fastpod.cluster.retry import Streak


def test_a_burst_goes_at_once_then_requests_wait_their_turn_at_the_qps() -> None:
    bucket = TokenBucket(qps=50, burst=100, now=0.0)

    waits = [bucket.reserve(0.0) for _ in range(102)]

    assert waits[:100] == [0.0] * 100
    assert waits[100:] == [0.02, 0.04]
    assert bucket.reserve(1.0) == 0.0  # a second later the bucket has refilled by 50


def test_a_qps_of_zero_is_client_gos_default_of_five() -> None:
    bucket = TokenBucket(qps=0, burst=1, now=0.0)

    assert [bucket.reserve(0.0), bucket.reserve(0.0)] == [0.0, 0.2]


def test_failures_double_the_wait_up_to_seven_seconds_and_a_streak_is_first_once() -> None:
    streak = Streak()

    waits = [streak.failed() for _ in range(9)]
    firsts = streak.first

    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 7.0, 7.0]
    assert not firsts
    assert streak.succeeded() == 9
    assert streak.failed() == 0.1
    assert streak.first
