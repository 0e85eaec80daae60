"""The fault suite's invariants (bench/chaos/invariants.py), on hand-made snapshots: each
rule catches what it is for and nothing else."""

from __future__ import annotations

from bench.chaos.invariants import (
    DUPLICATED,
    LEFT_OVER,
    LOG,
    LOST,
    ORPHANED,
    RESTARTED,
    Container,
    Continuity,
    Periods,
    Sandbox,
    Snapshot,
    Violation,
    Wanted,
    at_any_moment,
    log_violations,
    once_settled,
    tally,
)

WEB = Wanted("default/web-node1", "uid-web", frozenset({"main", "side"}))
DESIRED = {WEB.uid: WEB}


def sandbox(identifier: str, uid: str = WEB.uid, *, ready: bool = True) -> Sandbox:
    return Sandbox(identifier, uid, "web-node1", ready)


def container(
    identifier: str, name: str = "main", uid: str = WEB.uid, *, running: bool = True
) -> Container:
    return Container(identifier, uid, "web-node1", name, running)


RIGHT = Snapshot([sandbox("s1")], [container("c1"), container("c2", "side")])


def kinds(found: list[Violation]) -> list[str]:
    return [violation.kind for violation in found]


def test_exactly_the_desired_sandbox_and_containers_break_nothing() -> None:
    assert once_settled(DESIRED, RIGHT) == []
    assert at_any_moment(RIGHT) == []


def test_a_missing_sandbox_or_container_is_lost() -> None:
    snapshot = Snapshot([sandbox("s1", ready=False)], [container("c1")])

    found = once_settled(DESIRED, snapshot)

    assert kinds(found) == [LOST, LOST, LEFT_OVER]
    assert "1 stopped sandboxes" in found[2].detail
    assert "no ready sandbox" in found[0].detail
    assert "container side: not running" in found[1].detail


def test_a_second_ready_sandbox_or_running_container_is_duplicated_at_any_moment() -> None:
    snapshot = Snapshot(
        [sandbox("s1"), sandbox("s2")], [*RIGHT.containers, container("c3", "side")]
    )

    assert kinds(at_any_moment(snapshot)) == [DUPLICATED, DUPLICATED]
    assert kinds(once_settled(DESIRED, snapshot)) == [DUPLICATED, DUPLICATED]


def test_what_runs_for_a_pod_no_manifest_wants_is_orphaned() -> None:
    """The leak of issue 17: a replaced pod's pause container beside its exited app."""
    snapshot = Snapshot(
        [*RIGHT.sandboxes, sandbox("old", "uid-old")],
        [*RIGHT.containers, container("c0", uid="uid-old", running=False)],
    )

    (found,) = once_settled(DESIRED, snapshot)

    assert found.kind == ORPHANED
    assert "1 ready / 1 sandboxes, 0 running / 1 containers" in found.detail


def test_what_is_left_stopped_of_an_unwanted_pod_is_left_over() -> None:
    snapshot = Snapshot(
        [*RIGHT.sandboxes, sandbox("old", "uid-old", ready=False)], RIGHT.containers
    )

    assert kinds(once_settled(DESIRED, snapshot)) == [LEFT_OVER]


def test_one_dead_container_per_name_may_stay_beside_a_running_one() -> None:
    """As the kubelet's garbage collection keeps one (``MaxPerPodContainer``)."""
    one = Snapshot(RIGHT.sandboxes, [*RIGHT.containers, container("c0", running=False)])
    two = Snapshot(one.sandboxes, [*one.containers, container("c00", running=False)])

    assert once_settled(DESIRED, one) == []
    assert kinds(once_settled(DESIRED, two)) == [LEFT_OVER]


def test_a_container_outside_the_spec_is_orphaned() -> None:
    snapshot = Snapshot(RIGHT.sandboxes, [*RIGHT.containers, container("c9", "extra")])

    assert kinds(once_settled(DESIRED, snapshot)) == [ORPHANED]


def test_a_pod_wanted_throughout_must_keep_its_sandbox_and_containers() -> None:
    periods, continuity = Periods(), Continuity()
    periods.update(DESIRED)
    assert continuity.look(DESIRED, periods, RIGHT) == []

    restarted = Snapshot(RIGHT.sandboxes, [container("c1b"), container("c2", "side")])
    found = continuity.look(DESIRED, periods, restarted)

    assert kinds(found) == [RESTARTED]
    assert "container main: c1 replaced by c1b" in found[0].detail


def test_a_pod_removed_and_added_again_may_come_back_anew() -> None:
    periods, continuity = Periods(), Continuity()
    periods.update(DESIRED)
    continuity.look(DESIRED, periods, RIGHT)
    periods.update(())
    periods.update(DESIRED)

    anew = Snapshot([sandbox("s2")], [container("c3"), container("c4", "side")])

    assert continuity.look(DESIRED, periods, anew) == []


def test_a_log_line_that_is_not_a_record_is_a_violation() -> None:
    found = log_violations([], ["Traceback (most recent call last):", ""])

    assert kinds(found) == [LOG]
    assert "Traceback" in found[0].detail


def test_an_unexplained_warning_is_a_violation_once_with_its_count() -> None:
    records = [{"level": "error", "event": "runtime call failed", "error": "boom"}] * 3
    records.append({"level": "info", "event": "pod added"})

    found = log_violations(records, [])

    assert kinds(found) == [LOG, LOG]
    assert "unexplained error" in found[0].detail
    assert "3 lines in all" in found[1].detail


def test_an_explained_warning_must_name_its_cause() -> None:
    named = {"level": "error", "event": "process died", "child": "worker-0", "exit": "SIGKILL"}
    unnamed = {"level": "error", "event": "process died", "exit": "SIGKILL"}

    (found,) = log_violations([named, unnamed], [])

    assert "does not name its cause (['child'])" in found.detail


def test_the_tally_names_every_kind() -> None:
    assert tally([Violation(LOST, "x"), Violation(LOST, "y")]) == {
        LOST: 2,
        DUPLICATED: 0,
        ORPHANED: 0,
        LEFT_OVER: 0,
        RESTARTED: 0,
        LOG: 0,
    }
