"""The kubelet's probe decisions: due times, thresholds, the startup gate, events, grace."""

from __future__ import annotations

import pytest

from fastpod.model import Container, ExecAction, Probe
from fastpod.probes.decisions import (
    ContainerProbes,
    HandlerResult,
    ProbeKind,
    ProbeTiming,
    ProbeVerdict,
    counted,
    due,
    errored_message,
    for_container,
    kill_grace,
    killing_message,
    new_instance,
    next_due,
    probe_of,
    probe_timing,
    ready,
    record,
    remaining_grace,
    started,
    unhealthy_message,
    warning_message,
)

START = 1_000.0


def probe(
    *,
    initial_delay: int | None = None,
    period: int = 10,
    success: int = 1,
    failure: int = 3,
    grace: int | None = None,
) -> Probe:
    """A probe as decoding leaves it: every timing defaulted."""
    return Probe(
        exec=ExecAction(command=["true"]),
        initial_delay_seconds=initial_delay,
        timeout_seconds=1,
        period_seconds=period,
        success_threshold=success,
        failure_threshold=failure,
        termination_grace_period_seconds=grace,
    )


def container(
    liveness: Probe | None = None,
    readiness: Probe | None = None,
    startup: Probe | None = None,
) -> Container:
    return Container(
        name="etcd",
        image="busybox",
        liveness_probe=liveness,
        readiness_probe=readiness,
        startup_probe=startup,
    )


def run(
    probes: ContainerProbes, spec: Container, kind: ProbeKind, results: list[HandlerResult]
) -> tuple[ContainerProbes, list[ProbeVerdict]]:
    """Feed ``results`` to the probe of ``kind``, each at the time it is due."""
    kind_probe = probe_of(spec, kind)
    assert kind_probe is not None
    timing = probe_timing(kind_probe)
    verdicts = []
    for result in results:
        state = probes.state(kind)
        assert state is not None
        probes, verdict = record(probes, kind, timing, result, state.next_due)
        verdicts.append(verdict)
    return probes, verdicts


def test_timing_reads_the_defaulted_fields_and_an_absent_initial_delay_is_zero() -> None:
    assert probe_timing(probe(period=5, success=2, failure=4)) == ProbeTiming(0, 5, 1, 2, 4)


def test_timing_of_a_probe_that_was_never_defaulted_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="periodSeconds is not set"):
        probe_timing(Probe(exec=ExecAction(command=["true"])))


def test_the_first_probe_is_due_after_the_initial_delay_plus_the_jitter_of_the_period() -> None:
    spec = container(liveness=probe(initial_delay=15, period=10))

    probes = new_instance(spec, "c1", START, jitter=0.25)

    assert probes.liveness is not None
    assert probes.liveness.next_due == START + 15 + 2.5
    assert not due(probes, "liveness", START + 17)
    assert due(probes, "liveness", START + 17.5)


def test_readiness_is_due_at_once_after_its_initial_delay_without_jitter() -> None:
    spec = container(readiness=probe(initial_delay=3))

    probes = new_instance(spec, "c1", START, jitter=0.9)

    assert probes.readiness is not None
    assert probes.readiness.next_due == START + 3


@pytest.mark.parametrize("jitter", [-0.1, 1.0])
def test_a_jitter_outside_zero_to_one_is_refused(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        new_instance(container(liveness=probe()), "c1", START, jitter)


def test_a_new_instance_holds_the_kubelets_initial_values() -> None:
    spec = container(liveness=probe(), readiness=probe(), startup=probe())

    probes = new_instance(spec, "c1", START, 0.0)

    assert probes.liveness is not None
    assert probes.liveness.result == "success"
    assert probes.readiness is not None
    assert probes.readiness.result == "failure"
    assert probes.startup is not None
    assert probes.startup.result == "unknown"
    assert not probes.started


def test_a_container_without_a_startup_probe_counts_as_started() -> None:
    assert new_instance(container(liveness=probe()), "c1", START, 0.0).started


def test_liveness_and_readiness_wait_for_the_startup_probe() -> None:
    spec = container(liveness=probe(), readiness=probe(), startup=probe())
    probes = new_instance(spec, "c1", START, 0.0)

    assert due(probes, "startup", START)
    assert not due(probes, "liveness", START + 100)
    assert not due(probes, "readiness", START + 100)
    assert next_due(probes) == START


def test_once_startup_succeeds_liveness_and_readiness_run_and_startup_never_again() -> None:
    spec = container(liveness=probe(), readiness=probe(), startup=probe())
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "startup", ["success"])

    assert verdicts == [ProbeVerdict("success", changed=True, kill=False)]
    assert probes.started
    assert not due(probes, "startup", START + 100)
    assert due(probes, "liveness", START + 100)
    assert due(probes, "readiness", START + 100)


def test_liveness_kills_at_the_failure_threshold_and_not_before() -> None:
    spec = container(liveness=probe(failure=3))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "liveness", ["failure", "failure", "failure"])

    assert [verdict.kill for verdict in verdicts] == [False, False, True]
    assert verdicts[-1] == ProbeVerdict("failure", changed=True, kill=True)


def test_a_success_between_failures_starts_the_failure_count_over() -> None:
    spec = container(liveness=probe(failure=2))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "liveness", ["failure", "success", "failure"])

    assert not any(verdict.kill for verdict in verdicts)
    assert probes.liveness is not None
    assert probes.liveness.failures == 1


def test_after_a_liveness_kill_the_probe_is_on_hold_until_a_new_instance() -> None:
    spec = container(liveness=probe(failure=1))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, _ = run(probes, spec, "liveness", ["failure"])

    assert not due(probes, "liveness", START + 1_000)
    assert next_due(probes) is None
    restarted = for_container(probes, spec, "c2", START + 50, 0.0)
    assert restarted.liveness is not None
    assert restarted.liveness.result == "success"
    assert due(restarted, "liveness", START + 50)


def test_startup_failing_its_threshold_kills_the_container() -> None:
    spec = container(startup=probe(failure=2))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "startup", ["failure", "failure"])

    assert verdicts[-1] == ProbeVerdict("failure", changed=True, kill=True)
    assert not probes.started


def test_readiness_failure_never_kills_and_clears_ready_at_its_threshold() -> None:
    spec = container(readiness=probe(failure=2))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "readiness", ["success", "failure", "failure"])

    assert verdicts == [
        ProbeVerdict("success", changed=True, kill=False),
        ProbeVerdict("success", changed=False, kill=False),
        ProbeVerdict("failure", changed=True, kill=False),
    ]
    assert due(probes, "readiness", START + 1_000)


def test_readiness_needs_success_threshold_successes_in_a_row() -> None:
    spec = container(readiness=probe(success=3))
    probes = new_instance(spec, "c1", START, 0.0)

    probes, verdicts = run(probes, spec, "readiness", ["success", "success", "success"])

    assert [verdict.changed for verdict in verdicts] == [False, False, True]
    assert ready(spec, probes, running=True)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ("success", "success"),
        ("warning", "success"),
        ("failure", "failure"),
        ("unknown", "failure"),
        ("error", None),
    ],
)
def test_handler_results_count_as_the_kubelet_counts_them(
    result: HandlerResult, expected: str | None
) -> None:
    assert counted(result) == expected


def test_an_errored_probe_changes_nothing_but_the_next_due_time() -> None:
    spec = container(liveness=probe(failure=1))
    probes = new_instance(spec, "c1", START, 0.0)

    after, verdicts = run(probes, spec, "liveness", ["error", "error"])

    assert verdicts == [ProbeVerdict("success", changed=False, kill=False)] * 2
    assert after.liveness is not None
    assert probes.liveness is not None
    assert after.liveness.failures == 0
    assert after.liveness.next_due == probes.liveness.next_due + 20


def test_the_next_probe_keeps_the_periods_phase_and_drops_missed_ticks() -> None:
    spec = container(liveness=probe(period=10))
    probes = new_instance(spec, "c1", START, 0.5)
    timing = probe_timing(probe(period=10))

    late, _ = record(probes, "liveness", timing, "success", START + 5 + 23)

    assert late.liveness is not None
    assert late.liveness.next_due == START + 5 + 30


def test_the_same_instance_keeps_its_probes_and_a_restart_resets_them() -> None:
    spec = container(readiness=probe(), startup=probe())
    probes = new_instance(spec, "c1", START, 0.0)
    probes, _ = run(probes, spec, "startup", ["success"])
    probes, _ = run(probes, spec, "readiness", ["success"])

    assert for_container(probes, spec, "c1", START, 0.0) is probes
    restarted = for_container(probes, spec, "c2", START + 60, 0.0)
    assert not restarted.started
    assert not ready(spec, restarted, running=True)


def test_recording_a_probe_the_container_does_not_have_is_an_error() -> None:
    probes = new_instance(container(), "c1", START, 0.0)
    with pytest.raises(ValueError, match="no liveness probe"):
        record(probes, "liveness", probe_timing(probe()), "success", START)


def test_a_container_without_probes_is_started_and_ready_when_running() -> None:
    spec = container()
    assert started(spec, None, running=True)
    assert ready(spec, None, running=True)
    assert not started(spec, None, running=False)
    assert not ready(spec, None, running=False)


def test_a_container_is_not_ready_before_its_startup_probe_succeeded() -> None:
    spec = container(startup=probe())
    probes = new_instance(spec, "c1", START, 0.0)

    assert not started(spec, probes, running=True)
    assert not ready(spec, probes, running=True)
    assert not ready(spec, None, running=True)
    probes, _ = run(probes, spec, "startup", ["success"])
    assert started(spec, probes, running=True)
    assert ready(spec, probes, running=True)


def test_a_readiness_probe_that_has_not_run_keeps_the_container_unready() -> None:
    spec = container(readiness=probe())
    assert not ready(spec, new_instance(spec, "c1", START, 0.0), running=True)
    assert not ready(spec, None, running=True)


def test_a_ready_container_that_stops_running_is_not_ready() -> None:
    spec = container(readiness=probe())
    probes, _ = run(new_instance(spec, "c1", START, 0.0), spec, "readiness", ["success"])
    assert ready(spec, probes, running=True)
    assert not ready(spec, probes, running=False)


def test_a_sidecar_lets_the_next_init_container_run_once_its_startup_probe_succeeded() -> None:
    sidecar = container(startup=probe())
    probes = new_instance(sidecar, "c1", START, 0.0)

    assert not started(sidecar, probes, running=True)
    probes, _ = run(probes, sidecar, "startup", ["success"])
    assert started(sidecar, probes, running=True)
    assert started(container(), None, running=True)


def test_a_kill_takes_the_probes_grace_if_set_else_the_pods() -> None:
    assert kill_grace(30, probe(grace=5)) == 5
    assert kill_grace(30, probe()) == 30
    assert kill_grace(30, None) == 30


def test_without_a_pod_grace_a_kill_takes_the_kubelets_minimum() -> None:
    assert kill_grace(None, probe(grace=5)) == 2


@pytest.mark.parametrize(
    ("grace", "pre_stop", "left"),
    [(30, None, 30), (30, 10.9, 20), (30, 29.0, 2), (30, 45.0, 2), (0, None, 2), (1, None, 2)],
)
def test_the_stop_gets_what_the_pre_stop_hook_left_and_at_least_two_seconds(
    grace: int, pre_stop: float | None, left: int
) -> None:
    assert remaining_grace(grace, pre_stop) == left


def test_unhealthy_events_use_the_kubelets_wording() -> None:
    output = "HTTP probe failed with statuscode: 500"
    assert unhealthy_message("liveness", output) == f"Liveness probe failed: {output}"
    assert unhealthy_message("readiness", "x") == "Readiness probe failed: x"
    assert unhealthy_message("startup", "x") == "Startup probe failed: x"
    assert errored_message("liveness", "boom") == (
        "Liveness probe errored and resulted in unknown state: boom"
    )
    assert warning_message("readiness", "w") == "Readiness probe warning: w"


def test_killing_events_use_the_kubelets_wording() -> None:
    assert killing_message("etcd", "liveness", "Always", sidecar=False) == (
        "Container etcd failed liveness probe, will be restarted"
    )
    assert killing_message("etcd", "startup", "OnFailure", sidecar=False) == (
        "Container etcd failed startup probe, will be restarted"
    )
    assert killing_message("etcd", "liveness", "Never", sidecar=False) == (
        "Container etcd failed liveness probe"
    )
    assert killing_message("proxy", "startup", "Never", sidecar=True) == (
        "Init container proxy failed startup probe"
    )
