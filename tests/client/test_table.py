"""kubectl's pod columns, from small v1 Pod documents, as ``kubectl get pods`` shows them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fastpod.client import table

PODS = Path(__file__).parent.parent / "data" / "client" / "pods"
NOW = datetime(2026, 12, 1, 14, 10, tzinfo=UTC)
"""Ten minutes after the documents' start time."""


def pod(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PODS / f"{name}.json").read_text())
    return document


@pytest.mark.parametrize(
    ("document", "ready", "status", "restarts"),
    [
        ("running", "1/1", "Running", "0"),
        ("crash-loop", "0/1", "CrashLoopBackOff", "3 (10s ago)"),
        ("container-creating", "0/1", "ContainerCreating", "0"),
        ("init-running", "0/1", "Init:0/1", "0"),
        ("init-crash-loop", "0/1", "Init:CrashLoopBackOff", "2 (2m ago)"),
        ("init-error", "0/1", "Init:Error", "0"),
        ("init-exit-code", "0/1", "Init:ExitCode:3", "0"),
        ("init-signal", "0/1", "Init:Signal:9", "0"),
        ("completed", "0/1", "Completed", "0"),
        ("completed-and-running-ready", "1/2", "Running", "0"),
        ("completed-and-running-not-ready", "1/2", "NotReady", "0"),
        ("oom-killed", "0/1", "OOMKilled", "0"),
        ("signal", "0/1", "Signal:9", "0"),
        ("exit-code", "0/1", "ExitCode:2", "0"),
        ("sidecar", "2/2", "Running", "3 (6m ago)"),
        ("sidecar-starting", "0/2", "Init:0/1", "0"),
        ("terminating", "1/1", "Terminating", "0"),
    ],
)
def test_ready_status_and_restarts_are_kubectls(
    document: str, ready: str, status: str, restarts: str
) -> None:
    row = table.pod_row(pod(document), NOW)

    assert (row.ready, row.status, row.restarts) == (ready, status, restarts)


def test_the_name_is_the_pods_own_with_the_node_suffix() -> None:
    assert table.pod_row(pod("completed"), NOW).name == "job-node1"


def test_a_static_pod_ages_from_its_start_time_having_no_creation_timestamp() -> None:
    assert table.pod_row(pod("running"), NOW).age == "10m"


def test_a_creation_timestamp_when_present_gives_the_age() -> None:
    document = pod("running")
    document["metadata"]["creationTimestamp"] = "2026-11-29T11:00:00Z"

    assert table.pod_row(document, NOW).age == "2d3h"


def test_a_pod_not_started_yet_has_an_unknown_age() -> None:
    assert table.pod_row(pod("container-creating"), NOW).age == "<unknown>"


def test_a_deleted_pod_that_already_finished_keeps_its_final_status() -> None:
    document = pod("completed")
    document["metadata"]["deletionTimestamp"] = "2026-12-01T14:09:00Z"

    assert table.pod_row(document, NOW).status == "Completed"


def test_the_wide_columns_are_ip_node_and_none_for_nomination_and_gates() -> None:
    row = table.pod_row(pod("running"), NOW)

    assert row.cells(wide=True, with_namespace=False)[5:] == (
        "10.88.0.5",
        "node1",
        "<none>",
        "<none>",
    )


def test_readiness_gates_count_their_true_conditions() -> None:
    document = pod("running")
    document["spec"]["readinessGates"] = [{"conditionType": "Ready"}, {"conditionType": "Custom"}]

    assert table.pod_row(document, NOW).readiness_gates == "1/2"


def test_a_pod_without_an_ip_shows_none() -> None:
    document = pod("container-creating")
    del document["status"]["podIP"], document["status"]["podIPs"]

    assert table.pod_row(document, NOW).ip == "<none>"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (200, "3m20s"),
        (599, "9m59s"),
        (600, "10m"),
        (3 * 3600 - 1, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 30 * 60, "3h30m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (51 * 3600, "2d3h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (730 * 86400, "2y"),
        (740 * 86400, "2y10d"),
        (8 * 365 * 86400, "8y"),
    ],
)
def test_ages_read_as_kubectls_human_duration(seconds: float, text: str) -> None:
    assert table.human_duration(seconds) == text


def test_columns_are_left_aligned_three_spaces_apart_and_at_least_six_wide() -> None:
    lines = [
        table.header(wide=False, with_namespace=True),
        table.pod_row(pod("running"), NOW).cells(wide=False, with_namespace=True),
        table.pod_row(pod("crash-loop"), NOW).cells(wide=False, with_namespace=True),
    ]

    assert list(table.render(lines)) == [
        "NAMESPACE   NAME        READY   STATUS             RESTARTS      AGE",
        "default     web-node1   1/1     Running            0             10m",
        "default     web-node1   0/1     CrashLoopBackOff   3 (10s ago)   10m",
    ]


def test_a_narrow_column_is_still_six_wide() -> None:
    assert list(table.render([("A", "B"), ("x", "y")])) == ["A     B", "x     y"]
