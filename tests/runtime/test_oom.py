"""PURE: a container's OOM score adjustment by its pod's quality of service."""

from __future__ import annotations

from typing import Any

import pytest

from fastpod.runtime.oom import allowed, container_oom_score_adj
from tests.support import FILE
from tests.support.pods import decoded, pod_manifest

GIB = 2**30
CAPACITY = 16 * GIB


def pod_of(resources: dict[str, Any] | None, **spec: Any) -> Any:
    container: dict[str, Any] = {"name": "app", "image": "busybox"}
    if resources is not None:
        container["resources"] = resources
    return decoded(pod_manifest("web", extra_spec={"containers": [container], **spec}), FILE)


def adjust(pod: Any, index: int = 0) -> int:
    return container_oom_score_adj(pod, pod.spec.containers[index], CAPACITY)


GUARANTEED = {"limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.mark.parametrize(
    ("resources", "spec", "expected"),
    [
        pytest.param(None, {}, 1000, id="best-effort"),
        pytest.param(GUARANTEED, {}, -997, id="guaranteed"),
        pytest.param(None, {"priorityClassName": "system-node-critical"}, -997, id="node-critical"),
        pytest.param(
            None,
            {"priorityClassName": "system-cluster-critical", "priority": 2_000_000_000},
            1000,
            id="cluster-critical-is-not-node-critical",
        ),
        pytest.param({"requests": {"memory": "4Gi"}}, {}, 750, id="burstable-a-quarter"),
        pytest.param({"requests": {"cpu": "100m"}}, {}, 999, id="burstable-no-memory"),
        pytest.param({"requests": {"memory": "16Gi"}}, {}, 3, id="burstable-all-of-it"),
        pytest.param({"requests": {"memory": "1"}}, {}, 999, id="burstable-a-byte"),
    ],
)
def test_the_adjustment_follows_the_kubelets_policy(
    resources: dict[str, Any] | None, spec: dict[str, Any], expected: int
) -> None:
    assert adjust(pod_of(resources, **spec)) == expected


def test_a_sidecar_gets_no_more_than_the_regular_container_requesting_least() -> None:
    pod = decoded(
        pod_manifest(
            "web",
            extra_spec={
                "initContainers": [{"name": "side", "image": "busybox", "restartPolicy": "Always"}],
                "containers": [
                    {"name": "a", "image": "busybox", "resources": {"requests": {"memory": "8Gi"}}},
                    {"name": "b", "image": "busybox", "resources": {"requests": {"memory": "4Gi"}}},
                ],
            },
        ),
        FILE,
    )
    (side,) = pod.spec.init_containers or []
    assert container_oom_score_adj(pod, side, CAPACITY) == 750
    assert adjust(pod, 0) == 500


def test_a_host_that_cannot_lower_scores_clamps_them_at_its_floor() -> None:
    assert allowed(-997, 0) == 0
    assert allowed(1000, 0) == 1000
    assert allowed(-997, None) == -997
