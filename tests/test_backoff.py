"""The crash-loop back-off: the kubelet's client-go ``flowcontrol.Backoff`` without jitter."""

from __future__ import annotations

import pytest

from fastpod.backoff import BackOff
from fastpod.config.settings import Config

KEY = "uid_app_1a2b3c"


def default_backoff() -> BackOff:
    """The crash-loop back-off of a run with Config's defaults (the kubelet's timings)."""
    config = Config(node_name="node1")
    return BackOff(config.backoff_initial, config.backoff_max, config.backoff_reset)


def crash_loop(
    backoff: BackOff, crashes: int, *, runs_for: float = 1.0, start: float = 1000.0
) -> list[float]:
    """Let ``KEY`` crash ``crashes`` times, each after running ``runs_for`` seconds and each
    retried as soon as allowed; the delays seen."""
    delays = []
    now = start
    for _ in range(crashes):
        failed_at = now
        retry_at = backoff.waiting_until(KEY, failed_at, now)
        if retry_at is None:
            delays.append(0.0)
        else:
            assert backoff.waiting_until(KEY, failed_at, retry_at - 0.001) == retry_at
            assert backoff.waiting_until(KEY, failed_at, retry_at) is None
            delays.append(retry_at - failed_at)
            now = retry_at
        backoff.retried(KEY, failed_at, now)
        now += runs_for
    return delays


def test_repeated_failures_follow_the_kubelet_sequence() -> None:
    assert crash_loop(default_backoff(), 9) == [0, 10, 20, 40, 80, 160, 300, 300, 300]


def test_a_key_that_never_failed_is_not_waiting_and_has_no_delay() -> None:
    backoff = default_backoff()

    assert backoff.waiting_until(KEY, 100.0, 100.0) is None
    assert backoff.delay(KEY) is None


def test_retried_records_the_delay_the_next_failure_will_get() -> None:
    backoff = default_backoff()

    backoff.retried(KEY, 100.0, 100.0)
    assert backoff.delay(KEY) == 10
    backoff.retried(KEY, 120.0, 130.0)
    assert backoff.delay(KEY) == 20


def test_waiting_until_is_measured_from_the_failure_not_from_now() -> None:
    backoff = default_backoff()
    backoff.retried(KEY, 100.0, 100.0)

    assert backoff.waiting_until(KEY, 200.0, 205.0) == 210.0
    assert backoff.waiting_until(KEY, 200.0, 210.0) is None
    assert backoff.waiting_until(KEY, 200.0, 500.0) is None


@pytest.mark.parametrize(
    ("ran_for", "wait", "next_delay"),
    [
        pytest.param(599.0, 20, 40, id="shorter-than-reset-keeps-doubling"),
        pytest.param(600.0, 20, 40, id="exactly-reset-after-keeps-doubling"),
        pytest.param(601.0, None, 10, id="longer-than-reset-starts-over"),
        pytest.param(3600.0, None, 10, id="much-longer-starts-over"),
    ],
)
def test_a_failure_long_after_the_last_retry_starts_the_back_off_over(
    ran_for: float, wait: float | None, next_delay: float
) -> None:
    backoff = default_backoff()
    backoff.retried(KEY, 0.0, 0.0)  # first crash, restarted at once
    backoff.retried(KEY, 5.0, 15.0)  # second crash, restarted after 10 s: next waits 20 s
    failed_at = 15.0 + ran_for

    retry_at = backoff.waiting_until(KEY, failed_at, failed_at)

    assert retry_at == (None if wait is None else failed_at + wait)
    backoff.retried(KEY, failed_at, retry_at or failed_at)
    assert backoff.delay(KEY) == next_delay


def test_after_a_reset_the_sequence_starts_again_from_the_initial_delay() -> None:
    backoff = default_backoff()
    assert crash_loop(backoff, 5) == [0, 10, 20, 40, 80]

    assert crash_loop(backoff, 3, runs_for=700.0, start=10_000.0) == [0, 0, 0]
    assert backoff.delay(KEY) == 10


def test_keys_back_off_independently() -> None:
    backoff = default_backoff()
    other = "uid_app_ffffff"
    backoff.retried(KEY, 0.0, 0.0)
    backoff.retried(KEY, 5.0, 15.0)

    assert backoff.waiting_until(other, 20.0, 20.0) is None
    assert backoff.delay(other) is None
    backoff.retried(other, 20.0, 20.0)
    assert backoff.delay(other) == 10
    assert backoff.delay(KEY) == 20


def test_forget_drops_every_key_with_the_prefix_and_only_those() -> None:
    backoff = default_backoff()
    for key in ("uid1_app_aa", "uid1_side_bb", "uid2_app_aa"):
        backoff.retried(key, 0.0, 0.0)
        backoff.retried(key, 1.0, 11.0)

    backoff.forget("uid1_")

    assert backoff.delay("uid1_app_aa") is None
    assert backoff.delay("uid1_side_bb") is None
    assert backoff.waiting_until("uid1_app_aa", 12.0, 12.0) is None
    assert backoff.delay("uid2_app_aa") == 20


def test_forget_of_an_unknown_prefix_does_nothing() -> None:
    backoff = default_backoff()
    backoff.retried(KEY, 0.0, 0.0)

    backoff.forget("nobody_")

    assert backoff.delay(KEY) == 10


@pytest.mark.parametrize(
    ("initial", "maximum", "expected"),
    [
        pytest.param(10.0, 300.0, [0, 10, 20, 40, 80, 160, 300], id="defaults"),
        pytest.param(1.0, 4.0, [0, 1, 2, 4, 4, 4, 4], id="small"),
        pytest.param(10.0, 5.0, [0, 5, 5, 5, 5, 5, 5], id="maximum-below-initial"),
        pytest.param(10.0, 10.0, [0, 10, 10, 10, 10, 10, 10], id="maximum-equals-initial"),
    ],
)
def test_delays_double_from_initial_and_are_capped_at_maximum(
    initial: float, maximum: float, expected: list[float]
) -> None:
    backoff = BackOff(initial=initial, maximum=maximum, reset_after=600.0)
    assert crash_loop(backoff, len(expected)) == expected
