"""Which floor and peers a run measures: every one that can run, or those ``--compare``
names, one that cannot run here kept with its reason."""

from __future__ import annotations

from fastpod.bench.scenarios import chosen


def _named(
    scenario: str, runtime: str, keys: tuple[str, ...] | None
) -> list[tuple[str, str | None]]:
    return [(peer.key, reason) for peer, reason in chosen(scenario, runtime, keys)]


def test_by_default_every_peer_that_runs_the_scenario_on_the_runtime_is_measured() -> None:
    assert _named("startup", "docker", None) == [("floor", None), ("podman", None)]
    assert _named("restart", "docker", None) == [
        ("floor", None),
        ("docker-restart-policy", None),
    ]
    assert _named("restart", "cri", None) == [("floor", None)]
    assert _named("churn", "cri", None) == [("floor", None)]
    assert _named("startup", "fake", None) == []


def test_compare_measures_only_the_peers_it_names() -> None:
    assert _named("startup", "docker", ("podman",)) == [("podman", None)]
    assert _named("startup", "docker", ()) == []


def test_a_named_peer_that_cannot_run_here_is_kept_with_its_reason() -> None:
    assert _named("restart", "cri", ("docker-restart-policy", "floor")) == [
        ("floor", None),
        ("docker-restart-policy", "it does not run on the cri runtime"),
    ]
    assert _named("density", "docker", ("podman",)) == [
        ("podman", "it measures startup, not density")
    ]
    assert _named("startup", "fake", ("floor",)) == [
        ("floor", "it does not run on the fake runtime")
    ]
