"""``/healthz``'s answer, as k8s.io/apiserver's healthz handler words it (its own tests'
expected bodies: ``[+]ping ok``, ``[-]bad failed: ...``, ``healthz check failed``)."""

from __future__ import annotations

from fastpod.health import (
    POD_LOOPS,
    RUNTIME,
    SYNC_LOOP,
    HealthProblem,
    check_answer,
    healthz_answer,
)

DOWN = HealthProblem(RUNTIME, "worker-0: GET /_ping: Docker unreachable")


def test_healthy_is_ok_alone() -> None:
    assert healthz_answer([]) == (200, "ok")


def test_verbose_lists_every_check_when_healthy() -> None:
    status, body = healthz_answer([], verbose=True)
    assert status == 200
    assert body == (
        "[+]ping ok\n[+]syncloop ok\n[+]runtime ok\n[+]podloops ok\nhealthz check passed\n"
    )


def test_a_failed_check_is_500_with_every_line_and_the_reason() -> None:
    """The kubelet's body withholds the reason; fastpod's (on loopback) gives it."""
    status, body = healthz_answer([DOWN])
    assert status == 500
    assert body == (
        "[+]ping ok\n[+]syncloop ok\n"
        "[-]runtime failed: worker-0: GET /_ping: Docker unreachable\n"
        "[+]podloops ok\nhealthz check failed\n"
    )


def test_reasons_of_one_check_are_joined_on_its_line() -> None:
    problems = [
        HealthProblem(SYNC_LOOP, "worker-1: no answer within 2s"),
        HealthProblem(SYNC_LOOP, "watcher: not running"),
    ]
    _, body = healthz_answer(problems)
    assert "[-]syncloop failed: worker-1: no answer within 2s; watcher: not running\n" in body


def test_an_excluded_check_does_not_fail_and_says_so_when_verbose() -> None:
    """``?exclude=runtime``, as the apiserver's handler takes it."""
    status, body = healthz_answer([DOWN], excluded=frozenset({RUNTIME}))
    assert (status, body) == (200, "ok")
    _, verbose = healthz_answer([DOWN], verbose=True, excluded=frozenset({RUNTIME, "nope"}))
    assert "[+]runtime excluded: ok\n" in verbose
    assert 'warn: some health checks cannot be excluded: no matches for "nope"\n' in verbose


def test_one_check_alone_is_ok_or_an_internal_server_error() -> None:
    """``/healthz/<name>``: the apiserver's ``adaptCheckToHandler``."""
    assert check_answer(POD_LOOPS, [DOWN]) == (200, "ok")
    assert check_answer(RUNTIME, [DOWN]) == (
        500,
        "internal server error: worker-0: GET /_ping: Docker unreachable\n",
    )
